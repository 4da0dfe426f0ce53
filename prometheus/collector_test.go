package prometheus

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/shrinkmap/shrinkmap"
)

// help is the HELP and TYPE lines of each metric, by name.
var help = map[string]string{
	"shrinkmap_compactions_total": "# HELP shrinkmap_compactions_total Compactions completed by every shrinkmap map of the process, named or not.\n" +
		"# TYPE shrinkmap_compactions_total counter\n",
	"shrinkmap_released_bytes_total": "# HELP shrinkmap_released_bytes_total Estimated table bytes the compactions of the process gave back.\n" +
		"# TYPE shrinkmap_released_bytes_total counter\n",
	"shrinkmap_map_entries": "# HELP shrinkmap_map_entries Live entries of the named map (Stats.Len).\n" +
		"# TYPE shrinkmap_map_entries gauge\n",
	"shrinkmap_map_peak_entries": "# HELP shrinkmap_map_peak_entries Largest Len of the named map since its last compaction (Stats.Peak).\n" +
		"# TYPE shrinkmap_map_peak_entries gauge\n",
	"shrinkmap_map_table_bytes": "# HELP shrinkmap_map_table_bytes Estimated bytes of the named map's tables (Stats.TableBytes).\n" +
		"# TYPE shrinkmap_map_table_bytes gauge\n",
	"shrinkmap_map_wasted_bytes": "# HELP shrinkmap_map_wasted_bytes Estimated bytes a compaction of the named map would give back (Stats.WastedBytes).\n" +
		"# TYPE shrinkmap_map_wasted_bytes gauge\n",
	"shrinkmap_map_compactions_total": "# HELP shrinkmap_map_compactions_total Compactions of the named map completed, by reason.\n" +
		"# TYPE shrinkmap_map_compactions_total counter\n",
}

// exposition returns the text exposition of metric name with the samples
// given, one a line.
func exposition(name string, samples ...string) string {
	return help[name] + strings.Join(samples, "\n") + "\n"
}

// TestCollectorExposition checks the metrics a fixed Metrics makes,
// including two maps of one name, which are summed.
func TestCollectorExposition(t *testing.T) {
	m := shrinkmap.Metrics{
		Compactions:   7,
		ReleasedBytes: 1 << 20,
		Maps: []shrinkmap.MapMetrics{
			{Name: "cache", Stats: shrinkmap.Stats{Len: 10, Peak: 40, TableBytes: 4096, WastedBytes: 3000},
				Compactions: map[string]int64{"ratio": 2, "manual": 1}},
			{Name: "sessions", Stats: shrinkmap.Stats{Len: 3, Peak: 3, TableBytes: 136}},
			{Name: "sessions", Stats: shrinkmap.Stats{Len: 5, Peak: 9, TableBytes: 272, WastedBytes: 136},
				Compactions: map[string]int64{"drained": 4}},
		},
	}
	c := newCollector(func() shrinkmap.Metrics { return m })
	want := exposition("shrinkmap_compactions_total", "shrinkmap_compactions_total 7") +
		exposition("shrinkmap_released_bytes_total", "shrinkmap_released_bytes_total 1.048576e+06") +
		exposition("shrinkmap_map_entries", `shrinkmap_map_entries{map="cache"} 10`, `shrinkmap_map_entries{map="sessions"} 8`) +
		exposition("shrinkmap_map_peak_entries", `shrinkmap_map_peak_entries{map="cache"} 40`, `shrinkmap_map_peak_entries{map="sessions"} 12`) +
		exposition("shrinkmap_map_table_bytes", `shrinkmap_map_table_bytes{map="cache"} 4096`, `shrinkmap_map_table_bytes{map="sessions"} 408`) +
		exposition("shrinkmap_map_wasted_bytes", `shrinkmap_map_wasted_bytes{map="cache"} 3000`, `shrinkmap_map_wasted_bytes{map="sessions"} 136`) +
		exposition("shrinkmap_map_compactions_total",
			`shrinkmap_map_compactions_total{map="cache",reason="drained"} 0`,
			`shrinkmap_map_compactions_total{map="cache",reason="manual"} 1`,
			`shrinkmap_map_compactions_total{map="cache",reason="memory-pressure"} 0`,
			`shrinkmap_map_compactions_total{map="cache",reason="policy"} 0`,
			`shrinkmap_map_compactions_total{map="cache",reason="ratio"} 2`,
			`shrinkmap_map_compactions_total{map="sessions",reason="drained"} 4`,
			`shrinkmap_map_compactions_total{map="sessions",reason="manual"} 0`,
			`shrinkmap_map_compactions_total{map="sessions",reason="memory-pressure"} 0`,
			`shrinkmap_map_compactions_total{map="sessions",reason="policy"} 0`,
			`shrinkmap_map_compactions_total{map="sessions",reason="ratio"} 0`)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Errorf("CollectAndCompare: %v", err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil || len(problems) > 0 {
		t.Errorf("CollectAndLint = %v, %v; want no problems", problems, err)
	}
}

// dropNamedMaps collects the named maps that earlier tests (or earlier
// runs of this one, with -count) left unreachable, so that they leave the
// report, and fails the test if some stay.
func dropNamedMaps(t *testing.T) {
	t.Helper()
	for i := 0; i < 100 && len(shrinkmap.ReadMetrics().Maps) > 0; i++ {
		runtime.GC()
	}
	if maps := shrinkmap.ReadMetrics().Maps; len(maps) > 0 {
		t.Fatalf("ReadMetrics().Maps = %v after 100 collections; want none", maps)
	}
}

// drainedPair returns a named ShrinkMap and a named Concurrent, each filled
// with 1000 entries, drained to 100 and compacted by Shrink.
func drainedPair(prefix string) (*shrinkmap.ShrinkMap[int, int], *shrinkmap.Concurrent[int, int]) {
	m := shrinkmap.New[int, int](shrinkmap.WithName(prefix+"-shrinkmap"), shrinkmap.WithPolicy(shrinkmap.Never()))
	c := shrinkmap.NewConcurrent[int, int](shrinkmap.WithName(prefix+"-concurrent"), shrinkmap.WithPolicy(shrinkmap.Never()))
	for i := range 1000 {
		m.Set(i, i)
		c.Set(i, i)
	}
	for i := range 900 {
		m.Delete(i)
		c.Delete(i)
	}
	m.Shrink()
	c.Shrink()
	return m, c
}

// TestCollectorRegistry registers a Collector with a registry and gathers
// the figures of live maps through it.
func TestCollectorRegistry(t *testing.T) {
	dropNamedMaps(t)
	m, c := drainedPair("registry")
	reg := prom.NewPedanticRegistry()
	reg.MustRegister(NewCollector())
	totals := shrinkmap.ReadMetrics()

	ms, cs := m.Stats(), c.Stats()
	sample := func(metric, name string, v any) string {
		return fmt.Sprintf(`%s{map="registry-%s"} %v`, metric, name, v)
	}
	var compactions []string
	for _, name := range []string{"concurrent", "shrinkmap"} {
		for _, r := range []string{"drained", "manual", "memory-pressure", "policy", "ratio"} {
			n := 0
			if r == "manual" {
				n = 1
			}
			compactions = append(compactions, fmt.Sprintf(`shrinkmap_map_compactions_total{map="registry-%s",reason="%s"} %d`, name, r, n))
		}
	}
	want := exposition("shrinkmap_compactions_total", fmt.Sprintf("shrinkmap_compactions_total %d", totals.Compactions)) +
		exposition("shrinkmap_released_bytes_total", fmt.Sprintf("shrinkmap_released_bytes_total %d", totals.ReleasedBytes)) +
		exposition("shrinkmap_map_entries", sample("shrinkmap_map_entries", "concurrent", 100), sample("shrinkmap_map_entries", "shrinkmap", 100)) +
		exposition("shrinkmap_map_peak_entries", sample("shrinkmap_map_peak_entries", "concurrent", cs.Peak), sample("shrinkmap_map_peak_entries", "shrinkmap", ms.Peak)) +
		exposition("shrinkmap_map_table_bytes", sample("shrinkmap_map_table_bytes", "concurrent", cs.TableBytes), sample("shrinkmap_map_table_bytes", "shrinkmap", ms.TableBytes)) +
		exposition("shrinkmap_map_wasted_bytes", sample("shrinkmap_map_wasted_bytes", "concurrent", cs.WastedBytes), sample("shrinkmap_map_wasted_bytes", "shrinkmap", ms.WastedBytes)) +
		exposition("shrinkmap_map_compactions_total", compactions...)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Errorf("GatherAndCompare: %v", err)
	}
	if totals.Compactions < 2 || totals.ReleasedBytes <= 0 {
		t.Errorf("ReadMetrics() totals = %d compactions, %d bytes released; want >= 2 and > 0", totals.Compactions, totals.ReleasedBytes)
	}
	runtime.KeepAlive(m)
	runtime.KeepAlive(c)
}

// TestScrapeEndToEnd serves promhttp.Handler() with a Collector in the
// default registry, scrapes it over HTTP and checks the parsed text.
func TestScrapeEndToEnd(t *testing.T) {
	dropNamedMaps(t)
	m, c := drainedPair("scrape")
	collector := NewCollector()
	prom.MustRegister(collector)
	defer prom.Unregister(collector)
	srv := httptest.NewServer(promhttp.Handler())
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET %s: %v", srv.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %s; want 200 OK", srv.URL, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}

	for name, typ := range map[string]dto.MetricType{
		"shrinkmap_compactions_total":     dto.MetricType_COUNTER,
		"shrinkmap_released_bytes_total":  dto.MetricType_COUNTER,
		"shrinkmap_map_entries":           dto.MetricType_GAUGE,
		"shrinkmap_map_table_bytes":       dto.MetricType_GAUGE,
		"shrinkmap_map_wasted_bytes":      dto.MetricType_GAUGE,
		"shrinkmap_map_compactions_total": dto.MetricType_COUNTER,
	} {
		f := families[name]
		if f == nil {
			t.Errorf("scrape has no %s", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s has type %v; want %v", name, f.GetType(), typ)
		}
	}
	if got := value(families, "shrinkmap_compactions_total"); got < 2 {
		t.Errorf("shrinkmap_compactions_total = %v; want >= 2", got)
	}
	for _, name := range []string{"scrape-shrinkmap", "scrape-concurrent"} {
		if got := value(families, "shrinkmap_map_entries", "map", name); got != 100 {
			t.Errorf("shrinkmap_map_entries{map=%q} = %v; want 100", name, got)
		}
		if got := value(families, "shrinkmap_map_compactions_total", "map", name, "reason", "manual"); got != 1 {
			t.Errorf(`shrinkmap_map_compactions_total{map=%q,reason="manual"} = %v; want 1`, name, got)
		}
	}
	if got, want := value(families, "shrinkmap_map_table_bytes", "map", "scrape-shrinkmap"), float64(m.Stats().TableBytes); got != want {
		t.Errorf(`shrinkmap_map_table_bytes{map="scrape-shrinkmap"} = %v; want %v`, got, want)
	}
	runtime.KeepAlive(c)
}

// value returns the value of the sample of family name whose labels
// include labels (name, value pairs), or -1 if there is none.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
	for _, m := range f.GetMetric() {
		if hasLabels(m, labels) {
			if f.GetType() == dto.MetricType_COUNTER {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i < len(labels); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
		}
		if !found {
			return false
		}
	}
	return true
}
