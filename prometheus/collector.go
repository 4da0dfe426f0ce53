package prometheus

import (
	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/shrinkmap/shrinkmap"
)

// reasons are the ShrinkReasons, each exported as a reason label value
// even at 0, so that rate() sees a counter from its first scrape.
var reasons = []shrinkmap.ShrinkReason{
	shrinkmap.ReasonManual,
	shrinkmap.ReasonRatio,
	shrinkmap.ReasonDrained,
	shrinkmap.ReasonMemoryPressure,
	shrinkmap.ReasonPolicy,
}

// Collector is a prometheus.Collector of shrinkmap.ReadMetrics: see the
// package documentation for its metrics. It is safe for concurrent use,
// and each Collect costs one ReadMetrics call plus O(named maps).
type Collector struct {
	read func() shrinkmap.Metrics

	entries, peak, table, wasted, mapCompactions *prom.Desc
	compactions, released                        *prom.Desc
}

// NewCollector returns a Collector of the process's maps. Register one per
// registry: two would report the same series twice.
func NewCollector() *Collector {
	return newCollector(shrinkmap.ReadMetrics)
}

// newCollector returns a Collector of the figures read returns.
func newCollector(read func() shrinkmap.Metrics) *Collector {
	perMap := func(name, help string, labels ...string) *prom.Desc {
		return prom.NewDesc("shrinkmap_map_"+name, help, append([]string{"map"}, labels...), nil)
	}
	return &Collector{
		read:    read,
		entries: perMap("entries", "Live entries of the named map (Stats.Len)."),
		peak:    perMap("peak_entries", "Largest Len of the named map since its last compaction (Stats.Peak)."),
		table:   perMap("table_bytes", "Estimated bytes of the named map's tables (Stats.TableBytes)."),
		wasted: perMap("wasted_bytes",
			"Estimated bytes a compaction of the named map would give back (Stats.WastedBytes)."),
		mapCompactions: perMap("compactions_total", "Compactions of the named map completed, by reason.", "reason"),
		compactions: prom.NewDesc("shrinkmap_compactions_total",
			"Compactions completed by every shrinkmap map of the process, named or not.", nil, nil),
		released: prom.NewDesc("shrinkmap_released_bytes_total",
			"Estimated table bytes the compactions of the process gave back.", nil, nil),
	}
}

// Describe sends the descriptors of every metric the Collector reports.
func (c *Collector) Describe(ch chan<- *prom.Desc) {
	for _, d := range []*prom.Desc{c.entries, c.peak, c.table, c.wasted, c.mapCompactions, c.compactions, c.released} {
		ch <- d
	}
}

// Collect reads the maps' figures once and sends them as metrics.
func (c *Collector) Collect(ch chan<- prom.Metric) {
	m := c.read()
	ch <- prom.MustNewConstMetric(c.compactions, prom.CounterValue, float64(m.Compactions))
	ch <- prom.MustNewConstMetric(c.released, prom.CounterValue, float64(m.ReleasedBytes))
	for _, s := range sumByName(m.Maps) {
		c.collectMap(ch, s)
	}
}

// collectMap sends the metrics of the maps named s.name.
func (c *Collector) collectMap(ch chan<- prom.Metric, s mapSum) {
	gauge := func(d *prom.Desc, v float64) {
		ch <- prom.MustNewConstMetric(d, prom.GaugeValue, v, s.name)
	}
	gauge(c.entries, s.entries)
	gauge(c.peak, s.peak)
	gauge(c.table, s.table)
	gauge(c.wasted, s.wasted)
	for _, r := range reasons {
		ch <- prom.MustNewConstMetric(c.mapCompactions, prom.CounterValue, s.compactions[r.String()], s.name, r.String())
	}
}

// mapSum is the figures of the maps of one name, summed.
type mapSum struct {
	name                         string
	entries, peak, table, wasted float64
	compactions                  map[string]float64
}

// sumByName sums the figures of maps, sorted by name, by name.
func sumByName(maps []shrinkmap.MapMetrics) []mapSum {
	var sums []mapSum
	for _, mm := range maps {
		if len(sums) == 0 || sums[len(sums)-1].name != mm.Name {
			sums = append(sums, mapSum{name: mm.Name, compactions: make(map[string]float64, len(reasons))})
		}
		s := &sums[len(sums)-1]
		s.entries += float64(mm.Stats.Len)
		s.peak += float64(mm.Stats.Peak)
		s.table += float64(mm.Stats.TableBytes)
		s.wasted += float64(mm.Stats.WastedBytes)
		for r, n := range mm.Compactions {
			s.compactions[r] += float64(n)
		}
	}
	return sums
}
