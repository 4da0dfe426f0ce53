package shrinkmap_test

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Sizes the tests below rely on, for int64 keys and values (a 136-byte
// group on every architecture):
//   - migrationFill entries make a table of 524288 slots (8,912,896
//     estimated bytes), and draining them below a quarter leaves 65535 >=
//     DefaultMinIncremental live entries, so the default policy starts an
//     incremental compaction;
//   - migrationLive is the live count when it starts; the map is then
//     drained from migrationFill (Stats.DrainedFrom).
const (
	migrationFill = 1 << 18
	migrationLive = migrationFill/4 - 1
)

// always is a policy that always asks for a compaction, so that only the
// map's own rules (table must shrink, Len/8 deletes apart) hold it back.
var always = shrinkmap.PolicyFunc(func(shrinkmap.Stats) bool { return true })

// requireSame checks that m holds exactly want: Len, All (each key once,
// with its value), Keys, Values, then Get and Has of every key. The Gets
// may advance an incremental compaction; use requireIterates to leave it
// where it is.
func requireSame[K, V comparable](t testing.TB, m *shrinkmap.ShrinkMap[K, V], want map[K]V) {
	t.Helper()
	requireIterates(t, m, want)
	for k, v := range want {
		if got, ok := m.Get(k); !ok || got != v || !m.Has(k) {
			require.True(t, ok, "Get(%v) ok = false; want true", k)
			require.Equal(t, v, got, "Get(%v) value", k)
			require.True(t, m.Has(k), "Has(%v) = false; want true", k)
		}
	}
}

// requireIterates checks m against want through Len, All, Keys and Values
// only, none of which moves entries.
func requireIterates[K, V comparable](t testing.TB, m *shrinkmap.ShrinkMap[K, V], want map[K]V) {
	t.Helper()
	require.Equal(t, len(want), m.Len(), "Len()")
	seen := make(map[K]bool, len(want))
	for k, v := range m.All() {
		// Plain comparisons first: testify's reflection would make the
		// loop slow on large maps.
		if w, ok := want[k]; seen[k] || !ok || w != v {
			require.False(t, seen[k], "All() yielded key %v twice", k)
			require.True(t, ok, "All() yielded key %v, which is not in the map", k)
			require.Equal(t, w, v, "All() value of key %v", k)
		}
		seen[k] = true
	}
	require.Len(t, seen, len(want), "All() yielded %d keys; want %d", len(seen), len(want))
	keys := slices.Collect(m.Keys())
	require.Len(t, keys, len(want), "Keys() yielded %d keys; want %d", len(keys), len(want))
	for _, k := range keys {
		if _, ok := want[k]; !ok {
			require.Failf(t, "Keys() yielded a key not in the map", "key %v", k)
		}
	}
	vals := slices.Collect(m.Values())
	require.Len(t, vals, len(want), "Values() yielded %d values; want %d", len(vals), len(want))
}

// fill sets keys 0..n-1 of m to 10 times the key and returns the model.
func fill(m *shrinkmap.ShrinkMap[int64, int64], n int) map[int64]int64 {
	want := make(map[int64]int64, n)
	for i := range int64(n) {
		m.Set(i, i*10)
		want[i] = i * 10
	}
	return want
}

// startMigration fills a map made with opts with migrationFill entries and
// deletes keys from 0 up until an incremental compaction starts; it returns
// the map, mid-migration, and the model.
func startMigration(t testing.TB, opts ...shrinkmap.Option) (*shrinkmap.ShrinkMap[int64, int64], map[int64]int64) {
	t.Helper()
	return startMigrationOf(t, migrationFill, opts...)
}

// startMigrationOf is startMigration for a fill of n entries.
func startMigrationOf(t testing.TB, n int, opts ...shrinkmap.Option) (*shrinkmap.ShrinkMap[int64, int64], map[int64]int64) {
	t.Helper()
	m := shrinkmap.New[int64, int64](opts...)
	want := fill(m, n)
	for i := int64(0); !m.Stats().Migrating; i++ {
		require.Less(t, i, int64(n), "no incremental compaction started after deleting every key")
		m.Delete(i)
		delete(want, i)
	}
	return m, want
}

// finishMigration calls Get until m's incremental compaction completes and
// returns the number of calls.
func finishMigration[K comparable, V any](t testing.TB, m *shrinkmap.ShrinkMap[K, V], probe K) int {
	t.Helper()
	n := 0
	for ; m.Stats().Migrating; n++ {
		require.Less(t, n, 1<<22, "migration still running after %d operations on %v", n, probe)
		// Get moves no entries; a Set of probe's own value, or a Delete
		// of an absent probe, changes nothing and takes one step.
		if v, ok := m.Get(probe); ok {
			m.Set(probe, v)
		} else {
			m.Delete(probe)
		}
	}
	return n
}

// tableFor returns the estimated table bytes of a fresh map[int64]int64
// that has been given n entries.
func tableFor(n int) int64 {
	m := shrinkmap.New[int64, int64](shrinkmap.WithPolicy(shrinkmap.Never()))
	fill(m, n)
	return m.Stats().TableBytes
}

// panicMessage runs f and returns the string it panicked with.
func panicMessage(t testing.TB, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		require.NotNil(t, r, "call did not panic; want a shrinkmap: panic")
		s, ok := r.(string)
		require.True(t, ok, "panic value %#v (%T); want a string", r, r)
		msg = s
	}()
	f()
	return ""
}

func TestNewOptions(t *testing.T) {
	var events []shrinkmap.ShrinkEvent
	tests := []struct {
		name      string
		opts      []shrinkmap.Option
		wantTable int64
	}{
		{"none", nil, 0},
		{"WithCapacity(0)", []shrinkmap.Option{shrinkmap.WithCapacity(0)}, 0},
		{"WithCapacity(1)", []shrinkmap.Option{shrinkmap.WithCapacity(1)}, 136},
		{"WithCapacity(8)", []shrinkmap.Option{shrinkmap.WithCapacity(8)}, 136},
		{"WithCapacity(9)", []shrinkmap.Option{shrinkmap.WithCapacity(9)}, 2 * 136},
		{"WithCapacity(1000)", []shrinkmap.Option{shrinkmap.WithCapacity(1000)}, 256 * 136},
		{"WithPolicy(Never())", []shrinkmap.Option{shrinkmap.WithPolicy(shrinkmap.Never())}, 0},
		{"WithPolicy(RatioPolicy)", []shrinkmap.Option{shrinkmap.WithPolicy(shrinkmap.RatioPolicy{Threshold: 0.5})}, 0},
		{"WithPolicy(WastedBytesPolicy)", []shrinkmap.Option{shrinkmap.WithPolicy(shrinkmap.WastedBytesPolicy{})}, 0},
		{"WithPolicy(PolicyFunc)", []shrinkmap.Option{shrinkmap.WithPolicy(always)}, 0},
		{"WithIncremental(0)", []shrinkmap.Option{shrinkmap.WithIncremental(0)}, 0},
		{"WithIncremental(1)", []shrinkmap.Option{shrinkmap.WithIncremental(1)}, 0},
		{"WithShrinkHook", []shrinkmap.Option{shrinkmap.WithShrinkHook(func(e shrinkmap.ShrinkEvent) { events = append(events, e) })}, 0},
		{"WithShrinkHook(nil)", []shrinkmap.Option{shrinkmap.WithShrinkHook(nil)}, 0},
		{"all", []shrinkmap.Option{
			shrinkmap.WithCapacity(1000), shrinkmap.WithPolicy(shrinkmap.Never()),
			shrinkmap.WithIncremental(3), shrinkmap.WithShrinkHook(func(shrinkmap.ShrinkEvent) {}),
		}, 256 * 136},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := shrinkmap.New[int64, int64](tt.opts...)
			want := shrinkmap.Stats{TableBytes: tt.wantTable, WastedBytes: tt.wantTable}
			require.Equal(t, want, m.Stats(), "New(%s).Stats()", tt.name)
			requireSame(t, m, map[int64]int64{})
			model := fill(m, 100)
			requireSame(t, m, model)
			assert.Equal(t, 100, m.Stats().Peak, "Stats().Peak after 100 Sets")
		})
	}
	assert.Empty(t, events, "the hook ran without a compaction")
}

func TestNewInvalidPanics(t *testing.T) {
	tests := []struct {
		name string
		opt  shrinkmap.Option
		want []string // fragments of the message: field, value, allowed range
	}{
		{"nil policy", shrinkmap.WithPolicy(nil), []string{"Policy", "nil", "non-nil"}},
		{"nil PolicyFunc", shrinkmap.WithPolicy(shrinkmap.PolicyFunc(nil)), []string{"PolicyFunc", "nil", "non-nil"}},
		{"threshold 0", shrinkmap.WithPolicy(shrinkmap.RatioPolicy{Threshold: 0}), []string{"RatioPolicy.Threshold = 0;", "(0, 1)"}},
		{"threshold 1", shrinkmap.WithPolicy(shrinkmap.RatioPolicy{Threshold: 1}), []string{"RatioPolicy.Threshold = 1;", "(0, 1)"}},
		{"threshold -0.5", shrinkmap.WithPolicy(shrinkmap.RatioPolicy{Threshold: -0.5}), []string{"RatioPolicy.Threshold = -0.5;", "(0, 1)"}},
		{"threshold 1.5", shrinkmap.WithPolicy(shrinkmap.RatioPolicy{Threshold: 1.5}), []string{"RatioPolicy.Threshold = 1.5;", "(0, 1)"}},
		{"threshold NaN", shrinkmap.WithPolicy(shrinkmap.RatioPolicy{Threshold: math.NaN()}), []string{"RatioPolicy.Threshold = NaN;", "(0, 1)"}},
		{"threshold +Inf", shrinkmap.WithPolicy(shrinkmap.RatioPolicy{Threshold: math.Inf(1)}), []string{"RatioPolicy.Threshold = +Inf;", "(0, 1)"}},
		{"negative MinTableBytes", shrinkmap.WithPolicy(shrinkmap.RatioPolicy{Threshold: 0.5, MinTableBytes: -1}), []string{"RatioPolicy.MinTableBytes = -1;", ">= 0"}},
		{"negative MaxWastedBytes", shrinkmap.WithPolicy(shrinkmap.WastedBytesPolicy{MaxWastedBytes: -5}), []string{"WastedBytesPolicy.MaxWastedBytes = -5;", ">= 0"}},
		{"negative capacity", shrinkmap.WithCapacity(-1), []string{"Capacity = -1;", ">= 0"}},
		{"negative step", shrinkmap.WithIncremental(-3), []string{"step = -3;", ">= 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := map[string]func(){
				"New":     func() { shrinkmap.New[int, int](tt.opt) },
				"Collect": func() { shrinkmap.Collect(maps.All(map[int]int{1: 1}), tt.opt) },
				"New after a valid option": func() {
					shrinkmap.New[string, int](shrinkmap.WithCapacity(10), tt.opt)
				},
			}
			for call, f := range calls {
				msg := panicMessage(t, f)
				require.True(t, strings.HasPrefix(msg, "shrinkmap: "), "%s panicked with %q; want the prefix \"shrinkmap: \"", call, msg)
				for _, frag := range tt.want {
					require.Contains(t, msg, frag, "%s panicked with %q; want it to contain %q", call, msg, frag)
				}
			}
		})
	}
}

func TestNewIgnoresConcurrentOptions(t *testing.T) {
	// WithCounterStripes and WithCompactEvery configure Concurrent maps
	// only: New and Collect ignore them, valid or not, and start no
	// goroutine.
	opts := map[string]shrinkmap.Option{
		"WithCounterStripes(4)":              shrinkmap.WithCounterStripes(4),
		"WithCounterStripes(0)":              shrinkmap.WithCounterStripes(0),
		"WithCounterStripes(3)":              shrinkmap.WithCounterStripes(3),
		"WithCounterStripes(-1)":             shrinkmap.WithCounterStripes(-1),
		"WithCompactEvery(time.Millisecond)": shrinkmap.WithCompactEvery(time.Millisecond),
		"WithCompactEvery(-time.Second)":     shrinkmap.WithCompactEvery(-time.Second),
	}
	for name, opt := range opts {
		t.Run(name, func(t *testing.T) {
			goroutines := runtime.NumGoroutine()
			var m, c *shrinkmap.ShrinkMap[int, int]
			require.NotPanics(t, func() { m = shrinkmap.New[int, int](opt) }, "New(%s); want the option ignored", name)
			require.NotPanics(t, func() { c = shrinkmap.Collect(maps.All(map[int]int{1: 1}), opt) }, "Collect(seq, %s); want the option ignored", name)
			m.Set(1, 1)
			requireSame(t, m, map[int]int{1: 1})
			requireSame(t, c, map[int]int{1: 1})
			// Goroutines of earlier tests may end meanwhile: none may start.
			require.LessOrEqual(t, runtime.NumGoroutine(), goroutines, "goroutines after New(%s) and Collect; want none started", name)
		})
	}
}

func TestZeroValue(t *testing.T) {
	// Each method must work as the first call on a zero ShrinkMap, and leave
	// it usable.
	tests := []struct {
		name string
		call func(t *testing.T, m *shrinkmap.ShrinkMap[string, int])
	}{
		{"Get", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) {
			v, ok := m.Get("a")
			assert.False(t, ok, "Get(a) ok on a zero map")
			assert.Zero(t, v, "Get(a) value on a zero map")
		}},
		{"Has", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) {
			assert.False(t, m.Has("a"), "Has(a) on a zero map")
		}},
		{"Len", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) {
			assert.Zero(t, m.Len(), "Len() of a zero map")
		}},
		{"Set", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) {
			m.Set("z", 26)
			v, ok := m.Get("z")
			assert.True(t, ok && v == 26, "Get(z) after Set(z, 26) = %d, %v; want 26, true", v, ok)
			m.Delete("z")
		}},
		{"Delete", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) { m.Delete("a") }},
		{"Clear", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) { m.Clear() }},
		{"Shrink", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) {
			m.Shrink()
			assert.Equal(t, shrinkmap.Stats{Shrinks: 1}, m.Stats(), "Stats() after Shrink of a zero map")
		}},
		{"Stats", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) {
			assert.Equal(t, shrinkmap.Stats{}, m.Stats(), "Stats() of a zero map")
		}},
		{"All", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) {
			for k, v := range m.All() {
				t.Errorf("All() of a zero map yielded %q: %d", k, v)
			}
		}},
		{"Keys", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) {
			assert.Empty(t, slices.Collect(m.Keys()), "Keys() of a zero map")
		}},
		{"Values", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) {
			assert.Empty(t, slices.Collect(m.Values()), "Values() of a zero map")
		}},
		{"Insert", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) {
			m.Insert(maps.All(map[string]int{"i": 9}))
			assert.True(t, m.Has("i"), "Has(i) after Insert")
			m.Delete("i")
		}},
		{"Clone", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) {
			c := m.Clone()
			assert.Zero(t, c.Len(), "Clone() of a zero map: Len()")
			c.Set("c", 3)
			assert.Zero(t, m.Len(), "Len() of a zero map after Set on its clone")
		}},
		{"MarshalJSON", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) {
			b, err := m.MarshalJSON()
			require.NoError(t, err, "MarshalJSON() of a zero map")
			assert.JSONEq(t, `{}`, string(b), "MarshalJSON() of a zero map")
		}},
		{"UnmarshalJSON", func(t *testing.T, m *shrinkmap.ShrinkMap[string, int]) {
			require.NoError(t, m.UnmarshalJSON([]byte(`{"j":10}`)), "UnmarshalJSON into a zero map")
			assert.True(t, m.Has("j"), "Has(j) after UnmarshalJSON")
			m.Delete("j")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m shrinkmap.ShrinkMap[string, int]
			tt.call(t, &m)
			m.Set("a", 1)
			m.Set("b", 2)
			m.Delete("b")
			requireSame(t, &m, map[string]int{"a": 1})
		})
	}

	t.Run("default policy", func(t *testing.T) {
		// A zero map compacts like New(): the same drain starts the same
		// incremental compaction.
		var m shrinkmap.ShrinkMap[int64, int64]
		want := fill(&m, migrationFill)
		for i := int64(0); i < migrationFill-migrationLive; i++ {
			m.Delete(i)
			delete(want, i)
		}
		s := m.Stats()
		require.True(t, s.Migrating, "Stats() of a zero map drained from %d to %d entries = %+v; want Migrating", migrationFill, migrationLive, s)
		finishMigration(t, &m, 0)
		require.Equal(t, 1, m.Stats().Shrinks, "Stats().Shrinks after the migration")
		requireSame(t, &m, want)
	})
}

func TestGetSetDeleteLen(t *testing.T) {
	type op struct {
		do      string // "set", "delete" or "get"
		key     string
		val     int
		wantOK  bool // for get
		wantVal int  // for get
		wantLen int
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"set then get", []op{
			{do: "set", key: "a", val: 1, wantLen: 1},
			{do: "get", key: "a", wantOK: true, wantVal: 1, wantLen: 1},
			{do: "get", key: "b", wantLen: 1},
		}},
		{"overwrite keeps one entry", []op{
			{do: "set", key: "a", val: 1, wantLen: 1},
			{do: "set", key: "a", val: 2, wantLen: 1},
			{do: "get", key: "a", wantOK: true, wantVal: 2, wantLen: 1},
		}},
		{"delete present and absent", []op{
			{do: "set", key: "a", val: 1, wantLen: 1},
			{do: "set", key: "b", val: 2, wantLen: 2},
			{do: "delete", key: "a", wantLen: 1},
			{do: "delete", key: "a", wantLen: 1},
			{do: "delete", key: "zz", wantLen: 1},
			{do: "get", key: "a", wantLen: 1},
			{do: "get", key: "b", wantOK: true, wantVal: 2, wantLen: 1},
		}},
		{"re-set after delete", []op{
			{do: "set", key: "a", val: 1, wantLen: 1},
			{do: "delete", key: "a", wantLen: 0},
			{do: "set", key: "a", val: 3, wantLen: 1},
			{do: "get", key: "a", wantOK: true, wantVal: 3, wantLen: 1},
		}},
		{"zero key and value", []op{
			{do: "set", key: "", val: 0, wantLen: 1},
			{do: "get", key: "", wantOK: true, wantVal: 0, wantLen: 1},
			{do: "delete", key: "", wantLen: 0},
			{do: "get", key: "", wantLen: 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := shrinkmap.New[string, int]()
			for i, o := range tt.ops {
				switch o.do {
				case "set":
					m.Set(o.key, o.val)
				case "delete":
					m.Delete(o.key)
				case "get":
					v, ok := m.Get(o.key)
					require.Equal(t, o.wantOK, ok, "op %d: Get(%q) ok", i, o.key)
					require.Equal(t, o.wantVal, v, "op %d: Get(%q) value", i, o.key)
					require.Equal(t, o.wantOK, m.Has(o.key), "op %d: Has(%q)", i, o.key)
				}
				require.Equal(t, o.wantLen, m.Len(), "op %d (%s %q): Len()", i, o.do, o.key)
			}
		})
	}
}

func TestPeakAndShrinksAcrossOperations(t *testing.T) {
	m := shrinkmap.New[int64, int64](shrinkmap.WithPolicy(shrinkmap.Never()))
	fill(m, 50)
	for i := range int64(40) {
		m.Delete(i)
	}
	s := m.Stats()
	// The deletes that left 12, 11 and 10 entries, under a quarter of 50,
	// count as made while drained.
	require.Equal(t, shrinkmap.Stats{Len: 10, Peak: 50, TableBytes: tableFor(50), WastedBytes: tableFor(50) - tableFor(10), LowDeletes: 3}, s,
		"Stats() after 50 Sets and 40 Deletes with Never()")
	m.Shrink()
	// Still under a quarter of 50: the drain from 50 goes on.
	require.Equal(t, shrinkmap.Stats{Len: 10, Peak: 10, Shrinks: 1, TableBytes: tableFor(10), DrainedFrom: 50}, m.Stats(), "Stats() after Shrink")
	m.Set(100, 1)
	m.Set(101, 1)
	require.Equal(t, 12, m.Stats().Peak, "Stats().Peak after two more Sets")
	m.Clear()
	require.Equal(t, shrinkmap.Stats{Shrinks: 1}, m.Stats(), "Stats() after Clear")
}

func TestClear(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) *shrinkmap.ShrinkMap[int64, int64]
	}{
		{"empty", func(*testing.T) *shrinkmap.ShrinkMap[int64, int64] { return shrinkmap.New[int64, int64]() }},
		{"small", func(*testing.T) *shrinkmap.ShrinkMap[int64, int64] {
			m := shrinkmap.New[int64, int64]()
			fill(m, 100)
			return m
		}},
		{"with capacity", func(*testing.T) *shrinkmap.ShrinkMap[int64, int64] {
			m := shrinkmap.New[int64, int64](shrinkmap.WithCapacity(5000))
			fill(m, 10)
			return m
		}},
		{"drained with Never", func(*testing.T) *shrinkmap.ShrinkMap[int64, int64] {
			m := shrinkmap.New[int64, int64](shrinkmap.WithPolicy(shrinkmap.Never()))
			fill(m, 5000)
			for i := range int64(4990) {
				m.Delete(i)
			}
			return m
		}},
		{"mid-migration", func(t *testing.T) *shrinkmap.ShrinkMap[int64, int64] {
			m, _ := startMigration(t)
			return m
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.setup(t)
			shrinks := m.Stats().Shrinks
			m.Clear()
			want := shrinkmap.Stats{Shrinks: shrinks}
			require.Equal(t, want, m.Stats(), "Stats() after Clear: want no entries, no table, Peak 0 and Shrinks unchanged")
			requireSame(t, m, map[int64]int64{})
			_, ok := m.Get(5)
			require.False(t, ok, "Get(5) after Clear ok = true")
			model := fill(m, 20)
			requireSame(t, m, model)
			require.Equal(t, 20, m.Stats().Peak, "Stats().Peak after Clear and 20 Sets")
		})
	}
}

func TestShrink(t *testing.T) {
	tests := []struct {
		name       string
		opts       []shrinkmap.Option
		fill, keep int
	}{
		{"drained to 10", nil, 1000, 10},
		{"drained to 0 releases the table", nil, 1000, 0},
		{"never filled", nil, 0, 0},
		{"not drained", nil, 1000, 1000},
		{"small", nil, 5, 3},
		{"ignores WithCapacity", []shrinkmap.Option{shrinkmap.WithCapacity(5000)}, 1000, 10},
		{"ignores WithCapacity when empty", []shrinkmap.Option{shrinkmap.WithCapacity(5000)}, 1000, 0},
		{"Never policy", []shrinkmap.Option{shrinkmap.WithPolicy(shrinkmap.Never())}, 100_000, 77},
		{"stop-the-world", []shrinkmap.Option{shrinkmap.WithIncremental(0)}, 100_000, 20_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := shrinkmap.New[int64, int64](tt.opts...)
			want := fill(m, tt.fill)
			for i := range int64(tt.fill - tt.keep) {
				m.Delete(i)
				delete(want, i)
			}
			finishMigration(t, m, 0)
			shrinks := m.Stats().Shrinks
			m.Shrink()
			got := m.Stats()
			// A Shrink that leaves the map under a quarter of the peak
			// of its drain keeps that peak and the drained deletes.
			wantStats := shrinkmap.Stats{Len: tt.keep, Peak: tt.keep, Shrinks: shrinks + 1, TableBytes: tableFor(tt.keep)}
			if 4*tt.keep < tt.fill {
				wantStats.DrainedFrom = got.DrainedFrom
				require.Greater(t, got.DrainedFrom, 4*tt.keep, "Stats().DrainedFrom after Shrink of a drained map")
			}
			require.Equal(t, wantStats, got, "Stats() after Shrink of %d entries (filled to %d)", tt.keep, tt.fill)
			requireSame(t, m, want)
			if tt.keep == 0 {
				require.Zero(t, got.TableBytes, "Stats().TableBytes after Shrink of an empty map")
			}
		})
	}

	t.Run("mid-migration", func(t *testing.T) {
		m, want := startMigration(t)
		before := m.Stats()
		m.Shrink()
		got := m.Stats()
		require.Equal(t, shrinkmap.Stats{Len: migrationLive, Peak: migrationLive, Shrinks: before.Shrinks + 1, TableBytes: tableFor(migrationLive),
			DrainedFrom: migrationFill}, got,
			"Stats() after Shrink mid-migration (before: %+v)", before)
		requireSame(t, m, want)
	})
}

func TestIncrementalOption(t *testing.T) {
	for _, step := range []int{1, 7, shrinkmap.DefaultStep, 1000} {
		t.Run(fmt.Sprintf("step=%d", step), func(t *testing.T) {
			m, want := startMigration(t, shrinkmap.WithIncremental(step))
			left := m.Stats().MigrationLeft
			require.Equal(t, migrationLive, left, "Stats().MigrationLeft when the compaction starts")
			m.Get(-1)
			require.Equal(t, left, m.Stats().MigrationLeft, "Stats().MigrationLeft after a Get; want no entry moved")
			for left > 0 {
				m.Delete(-1) // absent: the Delete only takes a step
				if s := m.Stats(); s.MigrationLeft != max(0, left-step) || s.Migrating != (left > step) {
					require.Equal(t, max(0, left-step), s.MigrationLeft, "Stats().MigrationLeft after one Delete with %d left", left)
					require.Equal(t, left > step, s.Migrating, "Stats().Migrating after one Delete with %d left", left)
				}
				left = m.Stats().MigrationLeft
			}
			require.Equal(t, 1, m.Stats().Shrinks, "Stats().Shrinks after the migration")
			requireSame(t, m, want)
		})
	}

	t.Run("step=0 copies at once", func(t *testing.T) {
		m := shrinkmap.New[int64, int64](shrinkmap.WithIncremental(0))
		want := fill(m, migrationFill)
		for i := range int64(migrationFill - migrationLive) {
			m.Delete(i)
			delete(want, i)
			require.False(t, m.Stats().Migrating, "Stats().Migrating with WithIncremental(0) after Delete(%d)", i)
		}
		require.Equal(t, 1, m.Stats().Shrinks, "Stats().Shrinks after draining past the threshold")
		require.Equal(t, tableFor(migrationLive), m.Stats().TableBytes, "Stats().TableBytes after the compaction")
		requireSame(t, m, want)
	})

	t.Run("below DefaultMinIncremental copies at once", func(t *testing.T) {
		// 30000 entries make a 1.1 MB table; a quarter ratio policy with a
		// 1 MiB floor compacts at 7499 live entries, fewer than
		// DefaultMinIncremental.
		m := shrinkmap.New[int64, int64](shrinkmap.WithPolicy(shrinkmap.RatioPolicy{Threshold: 0.25, MinTableBytes: 1 << 20}))
		want := fill(m, 30_000)
		for i := range int64(30_000 - 7_499) {
			m.Delete(i)
			delete(want, i)
			require.False(t, m.Stats().Migrating, "Stats().Migrating after Delete(%d)", i)
		}
		require.Less(t, 7_499, shrinkmap.DefaultMinIncremental, "the test assumes a live size under DefaultMinIncremental")
		require.Equal(t, 1, m.Stats().Shrinks, "Stats().Shrinks after draining 30000 entries to 7499")
		requireSame(t, m, want)
	})

	t.Run("large entries below DefaultMinIncremental move in steps", func(t *testing.T) {
		// 20000 [128]byte entries drained below a quarter compact at 4999
		// live: fewer than DefaultMinIncremental, but their fresh table of
		// 8192 slots is estimated at 1,122,304 bytes, over
		// DefaultMinIncrementalBytes. A table of half the slots is under it.
		type big = [128]byte
		bigTable := func(n int) int64 {
			return shrinkmap.New[int64, big](shrinkmap.WithCapacity(n)).Stats().TableBytes
		}
		require.GreaterOrEqual(t, bigTable(4999), int64(shrinkmap.DefaultMinIncrementalBytes), "the fresh table of 4999 entries")
		require.Less(t, bigTable(3584), int64(shrinkmap.DefaultMinIncrementalBytes), "the fresh table of 3584 entries")
		for _, c := range []struct {
			fill, live  int64
			incremental bool
		}{{20_000, 4_999, true}, {14_000, 3_499, false}} {
			m := shrinkmap.New[int64, big](shrinkmap.WithPolicy(shrinkmap.RatioPolicy{Threshold: 0.25}))
			want := make(map[int64]big, c.fill)
			for i := range c.fill {
				m.Set(i, big{byte(i)})
				want[i] = big{byte(i)}
			}
			for i := range c.fill - c.live {
				require.Zero(t, m.Stats().Shrinks, "Stats().Shrinks before Delete(%d) of %d", i, c.fill)
				m.Delete(i)
				delete(want, i)
			}
			s := m.Stats()
			require.Equal(t, c.incremental, s.Migrating, "Stats().Migrating when %d entries of 128 bytes compact: %+v", c.live, s)
			wantShrinks := 1 // a copy at once has completed
			if c.incremental {
				wantShrinks = 0 // a migration has just started
			}
			require.Equal(t, wantShrinks, s.Shrinks, "Stats().Shrinks when %d entries of 128 bytes compact: %+v", c.live, s)
			requireSame(t, m, want)
		}
	})
}

func TestOperationsMidMigration(t *testing.T) {
	// Step 1 keeps the old table around for the whole run, so every
	// operation meets a key in the old table, the new one, or neither.
	m, want := startMigration(t, shrinkmap.WithIncremental(1))
	rng := rand.New(rand.NewPCG(1, 2))
	var ran [4]int // operations by rng.IntN(4): Set (0-1), Delete, Get
	for i := range 6000 {
		k := int64(rng.IntN(2 * migrationFill))
		op := rng.IntN(4)
		ran[op]++
		switch op {
		case 0, 1:
			m.Set(k, int64(i))
			want[k] = int64(i)
		case 2:
			m.Delete(k)
			delete(want, k)
		case 3:
			v, ok := m.Get(k)
			w, wok := want[k]
			require.Equal(t, wok, ok, "step %d: Get(%d) ok", i, k)
			require.Equal(t, w, v, "step %d: Get(%d) value", i, k)
		}
		require.Equal(t, len(want), m.Len(), "step %d: Len()", i)
		if i%1000 == 0 {
			requireIterates(t, m, want)
			require.True(t, m.Stats().Migrating, "step %d: the migration ended early; the test wants long mid-migration stretches", i)
		}
	}
	require.Positive(t, ran[0]+ran[1], "Sets mid-migration")
	require.Positive(t, ran[2], "Deletes mid-migration")
	require.Positive(t, ran[3], "Gets mid-migration")
	finishMigration(t, m, 0)
	requireSame(t, m, want)
}

func TestWithCapacityFloor(t *testing.T) {
	capacity, n := 20_000, 100_000
	if shrinkmap.RaceEnabled {
		capacity, n = 5_000, 25_000
	}
	floor := shrinkmap.New[int64, int64](shrinkmap.WithCapacity(capacity)).Stats().TableBytes
	for _, step := range []int{0, shrinkmap.DefaultStep} {
		t.Run(fmt.Sprintf("step=%d", step), func(t *testing.T) {
			m := shrinkmap.New[int64, int64](shrinkmap.WithCapacity(capacity), shrinkmap.WithPolicy(always), shrinkmap.WithIncremental(step))
			want := fill(m, n)
			for i := range int64(n - 100) {
				m.Delete(i)
				delete(want, i)
				if s := m.Stats(); !s.Migrating {
					require.GreaterOrEqual(t, s.TableBytes, floor, "Stats().TableBytes after Delete(%d) (%+v); want at least the WithCapacity(%d) table", i, s, capacity)
				}
			}
			finishMigration(t, m, 0)
			s := m.Stats()
			require.Positive(t, s.Shrinks, "Stats().Shrinks after draining %d entries to 100 with a policy that always agrees", n)
			require.Equal(t, floor, s.TableBytes, "Stats().TableBytes after the drain; want the WithCapacity(%d) table", capacity)
			requireSame(t, m, want)
			m.Shrink()
			require.Equal(t, tableFor(100), m.Stats().TableBytes, "Stats().TableBytes after Shrink; want a table for the 100 live entries, below the floor")
		})
	}
}

func TestShrinkHookEvents(t *testing.T) {
	tests := []struct {
		name        string
		opts        []shrinkmap.Option
		fill        int
		run         func(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], events *[]shrinkmap.ShrinkEvent)
		wantEntries int
		manual      bool
		incremental bool
	}{
		{"manual", []shrinkmap.Option{shrinkmap.WithPolicy(shrinkmap.Never())}, 1000, func(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], _ *[]shrinkmap.ShrinkEvent) {
			for i := range int64(990) {
				m.Delete(i)
			}
			m.Shrink()
		}, 10, true, false},
		{"automatic stop-the-world", []shrinkmap.Option{shrinkmap.WithIncremental(0)}, migrationFill,
			func(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], _ *[]shrinkmap.ShrinkEvent) {
				for i := range int64(migrationFill - migrationLive) {
					m.Delete(i)
				}
			}, migrationLive, false, false},
		{"incremental", nil, migrationFill, func(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], events *[]shrinkmap.ShrinkEvent) {
			for i := int64(0); !m.Stats().Migrating; i++ {
				require.Less(t, i, int64(migrationFill), "no incremental compaction started after deleting every key")
				m.Delete(i)
			}
			require.Empty(t, *events, "hook calls when the migration starts; want none until it completes")
			finishMigration(t, m, 0)
		}, migrationLive, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []shrinkmap.ShrinkEvent
			opts := append([]shrinkmap.Option{shrinkmap.WithShrinkHook(func(e shrinkmap.ShrinkEvent) { events = append(events, e) })}, tt.opts...)
			m := shrinkmap.New[int64, int64](opts...)
			fill(m, tt.fill)
			before := m.Stats().TableBytes
			tt.run(t, m, &events)
			require.Len(t, events, 1, "hook calls after one compaction")
			e := events[0]
			assert.Equal(t, tt.wantEntries, e.Entries, "ShrinkEvent.Entries")
			assert.Equal(t, before, e.BytesBefore, "ShrinkEvent.BytesBefore; want Stats().TableBytes before the compaction")
			assert.Equal(t, m.Stats().TableBytes, e.BytesAfter, "ShrinkEvent.BytesAfter; want Stats().TableBytes after it")
			assert.Greater(t, e.BytesBefore, e.BytesAfter, "ShrinkEvent bytes before vs after")
			assert.Equal(t, tt.manual, e.Manual, "ShrinkEvent.Manual")
			assert.Equal(t, tt.incremental, e.Incremental, "ShrinkEvent.Incremental")
			assert.GreaterOrEqual(t, e.Duration, time.Duration(0), "ShrinkEvent.Duration")
			m.Clear()
			require.Len(t, events, 1, "hook calls after Clear; want none: Clear is not a compaction")
		})
	}
}

func TestPanickingHookLosesNothing(t *testing.T) {
	for _, step := range []int{0, 1, shrinkmap.DefaultStep} {
		t.Run(fmt.Sprintf("step=%d", step), func(t *testing.T) {
			hookCalls := 0
			m := shrinkmap.New[int64, int64](shrinkmap.WithIncremental(step), shrinkmap.WithPolicy(always),
				shrinkmap.WithShrinkHook(func(shrinkmap.ShrinkEvent) { hookCalls++; panic("hook failed") }))
			want := fill(m, migrationFill)
			panics := 0
			guard := func(f func()) {
				defer func() {
					if r := recover(); r != nil {
						require.Equal(t, "hook failed", r, "recovered panic")
						panics++
					}
				}()
				f()
			}
			// Drain with a Get and a Set between Deletes, so that every
			// kind of operation may complete a compaction.
			for i := range int64(migrationFill - 50) {
				guard(func() { m.Delete(i) })
				delete(want, i)
				guard(func() { m.Get(i + 1) })
				guard(func() { m.Set(i+1, -(i + 1)) })
				want[i+1] = -(i + 1)
				require.Equal(t, len(want), m.Len(), "Len() after Delete(%d)", i)
			}
			require.Positive(t, hookCalls, "hook calls; the test wants compactions")
			require.Equal(t, hookCalls, panics, "recovered panics vs hook calls")
			finishMigration(t, m, 0)
			require.Equal(t, hookCalls, m.Stats().Shrinks, "Stats().Shrinks vs hook calls")
			requireSame(t, m, want)
			require.Panics(t, m.Shrink, "Shrink() with a panicking hook")
			requireSame(t, m, want)
			require.Equal(t, tableFor(len(want)), m.Stats().TableBytes, "Stats().TableBytes after a Shrink whose hook panicked")
		})
	}
}

func TestPanickingPolicyLosesNothing(t *testing.T) {
	for _, step := range []int{0, shrinkmap.DefaultStep} {
		t.Run(fmt.Sprintf("step=%d", step), func(t *testing.T) {
			consulted := 0
			m := shrinkmap.New[int64, int64](shrinkmap.WithIncremental(step),
				shrinkmap.WithPolicy(shrinkmap.PolicyFunc(func(shrinkmap.Stats) bool { consulted++; panic("policy failed") })))
			want := fill(m, 20_000)
			panics := 0
			for i := range int64(20_000) {
				func() {
					defer func() {
						if r := recover(); r != nil {
							require.Equal(t, "policy failed", r, "recovered panic")
							panics++
						}
					}()
					m.Delete(i)
				}()
				delete(want, i)
				require.Equal(t, len(want), m.Len(), "Len() after Delete(%d)", i)
				if i%4096 == 0 {
					requireSame(t, m, want)
				}
			}
			require.Positive(t, consulted, "policy calls while draining 20000 entries")
			require.Equal(t, consulted, panics, "recovered panics vs policy calls")
			s := m.Stats()
			require.Zero(t, s.Shrinks, "Stats().Shrinks with a policy that always panics")
			require.False(t, s.Migrating, "Stats().Migrating with a policy that always panics")
			m.Set(1, 1)
			requireSame(t, m, map[int64]int64{1: 1})
		})
	}
}

func TestAmortizationGuard(t *testing.T) {
	// 896 entries fill a table of 1024 slots to 7/8, so one more Set
	// doubles the estimated table and the next Delete could compact it
	// again: a policy that always agrees would copy the map on every other
	// operation. The map's own rule keeps compactions Len/8 deletes apart.
	// (Over 1024 slots a fresh table keeps an eighth of headroom, which
	// also holds such a map back.)
	const live, rounds = 896, 20_000
	deletes, lastDeletes := 0, 0
	var gaps []int
	m := shrinkmap.New[int64, int64](shrinkmap.WithPolicy(always), shrinkmap.WithIncremental(0),
		shrinkmap.WithShrinkHook(func(e shrinkmap.ShrinkEvent) {
			if !e.Manual {
				require.GreaterOrEqual(t, deletes-lastDeletes, e.Entries/8,
					"deletes between compactions (compaction %d, %d entries); want at least Len/8", len(gaps)+1, e.Entries)
			}
			gaps = append(gaps, deletes-lastDeletes)
			lastDeletes = deletes
		}))
	want := fill(m, live)
	m.Shrink()
	shrinks := m.Stats().Shrinks
	for i := range int64(rounds) {
		k := int64(live) + i
		m.Set(k, k)
		want[k] = k
		deletes++ // before Delete, which may run the hook
		m.Delete(i)
		delete(want, i)
	}
	got := m.Stats().Shrinks - shrinks
	t.Logf("%d Set/Delete pairs at %d live entries: %d compactions", rounds, live, got)
	require.Positive(t, got, "compactions; the workload must tempt the policy or the test proves nothing")
	require.LessOrEqual(t, got, rounds/(live/8)+1, "compactions over %d Set/Delete pairs at %d entries; want at most one per Len/8 deletes", rounds, live)
	requireSame(t, m, want)
}

func TestInsertCollect(t *testing.T) {
	pairs := func(kv ...int) func(yield func(int, string) bool) {
		return func(yield func(int, string) bool) {
			for i := 0; i < len(kv); i += 2 {
				if !yield(kv[i], fmt.Sprint(kv[i+1])) {
					return
				}
			}
		}
	}
	tests := []struct {
		name string
		seq  func(yield func(int, string) bool)
		want map[int]string
	}{
		{"empty", pairs(), map[int]string{}},
		{"distinct", pairs(1, 10, 2, 20, 3, 30), map[int]string{1: "10", 2: "20", 3: "30"}},
		{"later pair wins", pairs(1, 10, 1, 11, 2, 20, 1, 12), map[int]string{1: "12", 2: "20"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireSame(t, shrinkmap.Collect(tt.seq), tt.want)
			c := shrinkmap.Collect(tt.seq, shrinkmap.WithCapacity(100), shrinkmap.WithPolicy(shrinkmap.Never()))
			requireSame(t, c, tt.want)
			require.Equal(t, shrinkmap.New[int, string](shrinkmap.WithCapacity(100)).Stats().TableBytes, c.Stats().TableBytes,
				"Collect(seq, WithCapacity(100)).Stats().TableBytes")

			m := shrinkmap.New[int, string]()
			m.Set(1, "old")
			m.Set(99, "kept")
			m.Insert(tt.seq)
			want := maps.Clone(tt.want)
			if _, ok := want[1]; !ok {
				want[1] = "old"
			}
			want[99] = "kept"
			requireSame(t, m, want)
		})
	}

	t.Run("from another ShrinkMap mid-migration", func(t *testing.T) {
		src, want := startMigration(t)
		dst := shrinkmap.Collect(src.All())
		requireSame(t, dst, want)
		require.True(t, src.Stats().Migrating, "the source migrated while being collected")
	})
}

func TestClone(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) (*shrinkmap.ShrinkMap[int64, int64], map[int64]int64)
	}{
		{"empty", func(*testing.T) (*shrinkmap.ShrinkMap[int64, int64], map[int64]int64) {
			return shrinkmap.New[int64, int64](), map[int64]int64{}
		}},
		{"small", func(*testing.T) (*shrinkmap.ShrinkMap[int64, int64], map[int64]int64) {
			m := shrinkmap.New[int64, int64]()
			return m, fill(m, 100)
		}},
		{"drained with Never", func(*testing.T) (*shrinkmap.ShrinkMap[int64, int64], map[int64]int64) {
			m := shrinkmap.New[int64, int64](shrinkmap.WithPolicy(shrinkmap.Never()))
			want := fill(m, 10_000)
			for i := range int64(9_990) {
				m.Delete(i)
				delete(want, i)
			}
			return m, want
		}},
		{"mid-migration", func(t *testing.T) (*shrinkmap.ShrinkMap[int64, int64], map[int64]int64) {
			return startMigration(t)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, want := tt.setup(t)
			c := m.Clone()
			requireSame(t, c, want)
			s := c.Stats()
			require.Equal(t, shrinkmap.Stats{Len: len(want), Peak: len(want), TableBytes: tableFor(len(want))}, s,
				"Clone().Stats(); want a fresh table sized for the entries and no history")

			// Changes on either side stay on that side.
			origWant := maps.Clone(want)
			c.Set(-1, -1)
			c.Set(-2, -2)
			for k := range want {
				c.Delete(k)
				break
			}
			for k := range want {
				c.Set(k, 12345)
			}
			requireSame(t, m, origWant)
			m.Set(-3, -3)
			origWant[-3] = -3
			require.False(t, c.Has(-3), "Clone().Has(-3) after Set(-3) on the original")
			requireSame(t, m, origWant)
		})
	}

	t.Run("NaN keys", func(t *testing.T) {
		m := shrinkmap.New[float64, int]()
		m.Set(math.NaN(), 1)
		m.Set(math.NaN(), 2)
		m.Set(1, 3)
		c := m.Clone()
		require.Equal(t, 3, c.Len(), "Clone().Len() of a map with two NaN entries")
		require.ElementsMatch(t, []int{1, 2, 3}, slices.Collect(c.Values()), "Clone().Values() of a map with two NaN entries")
		c.Set(math.NaN(), 7)
		require.Equal(t, 4, c.Len(), "Clone().Len() after Set(NaN) on the clone")
		require.Equal(t, 3, m.Len(), "Len() of the original after Set(NaN) on its clone")
	})

	t.Run("keeps the configuration", func(t *testing.T) {
		calls := 0
		m := shrinkmap.New[int64, int64](shrinkmap.WithPolicy(always), shrinkmap.WithIncremental(0),
			shrinkmap.WithShrinkHook(func(shrinkmap.ShrinkEvent) { calls++ }))
		fill(m, 1000)
		c := m.Clone()
		for i := range int64(990) {
			c.Delete(i)
		}
		require.Positive(t, c.Stats().Shrinks, "Clone().Stats().Shrinks after a drain under a policy that always agrees")
		require.Equal(t, c.Stats().Shrinks, calls, "hook calls from the clone's compactions")
		require.Zero(t, m.Stats().Shrinks, "Stats().Shrinks of the original after its clone compacted")
	})
}

func TestVetReportsCopies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "exec.LookPath(\"go\"): the test runs go vet")
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		src := "package vetcopy\n\nimport \"github.com/shrinkmap/shrinkmap\"\n\n" + body
		require.NoError(t, os.WriteFile(path, []byte(src), 0o644), "os.WriteFile(%s)", path)
		return path
	}
	vet := func(file string) (string, error) {
		// Run in the package directory, which is in the module, so that
		// the ad hoc file's import resolves to this module's source.
		cmd := exec.Command(goBin, "vet", file)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	copies := write("copies.go", `func byValue(m shrinkmap.ShrinkMap[int, int]) int { return m.Len() }

func assign(p *shrinkmap.ShrinkMap[int, int]) int {
	c := *p
	return c.Len()
}
`)
	out, err := vet(copies)
	require.Error(t, err, "go vet %s succeeded; want copylocks reports:\n%s", copies, out)
	assert.Contains(t, out, "copies.go:5:", "go vet output; want a report of the by-value parameter")
	assert.Contains(t, out, "copies.go:8:", "go vet output; want a report of the assignment")
	assert.Contains(t, out, "lock", "go vet output; want copylocks reports")

	clean := write("clean.go", `func byPointer(m *shrinkmap.ShrinkMap[int, int]) int {
	var z shrinkmap.ShrinkMap[int, int]
	z.Set(1, 1)
	return m.Len() + z.Len()
}
`)
	out, err = vet(clean)
	require.NoError(t, err, "go vet %s of code that copies no ShrinkMap:\n%s", clean, out)
}
