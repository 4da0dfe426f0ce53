package shrinkmap

import (
	"encoding/json"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// namedMetrics returns the entries of ReadMetrics named name.
func namedMetrics(name string) []MapMetrics {
	var out []MapMetrics
	for _, mm := range ReadMetrics().Maps {
		if mm.Name == name {
			out = append(out, mm)
		}
	}
	return out
}

// published returns the one entry of ReadMetrics named name.
func published(t *testing.T, name string) MapMetrics {
	t.Helper()
	mms := namedMetrics(name)
	require.Len(t, mms, 1, "ReadMetrics().Maps entries named %q", name)
	return mms[0]
}

// sumCounts returns the sum of counts' values.
func sumCounts(counts map[string]int64) int64 {
	var sum int64
	for _, n := range counts {
		sum += n
	}
	return sum
}

func TestReadMetricsShrinkMapAtCompaction(t *testing.T) {
	var events []ShrinkEvent
	m := New[int, int](WithName("metrics-shrink"), WithPolicy(Never()), WithShrinkHook(func(e ShrinkEvent) { events = append(events, e) }))
	assert.Equal(t, m.Stats(), published(t, "metrics-shrink").Stats, "figures published by New")
	for i := range 5000 {
		m.Set(i, i)
	}
	for i := range 4900 {
		m.Delete(i)
	}
	before := ReadMetrics()
	m.Shrink()
	after := ReadMetrics()
	require.NotEmpty(t, events, "compactions")
	last := events[len(events)-1]

	mm := published(t, "metrics-shrink")
	assert.Equal(t, m.Stats(), mm.Stats, "figures published by Shrink")
	assert.Equal(t, int64(1), mm.Compactions["manual"], "Compactions[manual]")
	assert.Equal(t, int64(m.Stats().Shrinks), sumCounts(mm.Compactions), "compactions by reason sum to Stats.Shrinks")
	assert.GreaterOrEqual(t, after.Compactions-before.Compactions, int64(1), "process Compactions grew")
	assert.GreaterOrEqual(t, after.ReleasedBytes-before.ReleasedBytes, last.BytesBefore-last.BytesAfter,
		"process ReleasedBytes grew by Shrink's release at least")
	assert.Positive(t, last.BytesBefore-last.BytesAfter, "Shrink released bytes")
}

// TestReadMetricsFollowsDrain drains a named map one Delete at a time and
// checks after each that the published Len is within the bound ReadMetrics
// documents, and that publications are few.
func TestReadMetricsFollowsDrain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy Policy
	}{{"never", Never()}, {"default", DefaultPolicy()}} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 20000
			name := "metrics-drain-" + tc.name
			m := New[int, int](WithName(name), WithPolicy(tc.policy))
			for i := range n {
				m.Set(i, i)
			}
			publications := 0
			var last *figures
			for i := range n {
				m.Delete(i)
				if f := m.x.pub.snap.Load(); f != last {
					publications, last = publications+1, f
				}
				pub, live := last.stats.Len, m.Len()
				// An eighth at the last check, plus up to Len/16+1 deletes since.
				if most := pub/8 + pub/16 + 1; pub-live > most {
					t.Fatalf("after %d deletes: published Len = %d, Len = %d; want within %d", i+1, pub, live, most)
				}
			}
			mm := published(t, name)
			assert.Equal(t, 0, mm.Stats.Len, "published Len after the drain")
			assert.Equal(t, int64(m.Stats().Shrinks), sumCounts(mm.Compactions), "compactions by reason sum to Stats.Shrinks")
			if tc.name == "default" {
				assert.Positive(t, mm.Stats.Shrinks, "automatic compactions during the drain")
			}
			assert.Greater(t, publications, 10, "publications during the drain")
			assert.Less(t, publications, 400, "publications during a drain of %d deletes", n)
		})
	}
}

func TestReadMetricsConcurrent(t *testing.T) {
	c := NewConcurrent[int, int](WithName("metrics-concurrent"))
	for i := range 3000 {
		c.Set(i, i)
	}
	mm := published(t, "metrics-concurrent")
	assert.Equal(t, 3000, mm.Stats.Len, "Stats.Len")
	assert.Nil(t, mm.Compactions, "Compactions before any")
	for i := range 2990 {
		c.Delete(i)
	}
	c.Shrink()
	mm = published(t, "metrics-concurrent")
	assert.Equal(t, c.Stats(), mm.Stats, "Stats")
	assert.Equal(t, int64(1), mm.Compactions["manual"], "Compactions[manual]")
	assert.Equal(t, int64(c.Stats().Shrinks), sumCounts(mm.Compactions), "compactions by reason sum to Stats.Shrinks")
	runtime.KeepAlive(c)
}

func TestReadMetricsSortedByName(t *testing.T) {
	b := New[int, int](WithName("metrics-sort-b"))
	a1 := NewConcurrent[int, int](WithName("metrics-sort-a"))
	a2 := New[int, int](WithName("metrics-sort-a"))
	a1.Set(1, 1)
	var got []string
	var lens []int
	for _, mm := range ReadMetrics().Maps {
		if len(mm.Name) > len("metrics-sort-") && mm.Name[:len("metrics-sort-")] == "metrics-sort-" {
			got = append(got, mm.Name)
			lens = append(lens, mm.Stats.Len)
		}
	}
	assert.Equal(t, []string{"metrics-sort-a", "metrics-sort-a", "metrics-sort-b"}, got, "names")
	assert.Equal(t, []int{1, 0, 0}, lens, "Len of each: maps of one name in the order they were made")
	runtime.KeepAlive(a1)
	runtime.KeepAlive(a2)
	runtime.KeepAlive(b)
}

func TestReadMetricsInitRenames(t *testing.T) {
	var holder struct {
		pad int
		m   ShrinkMap[string, int]
	}
	holder.m.Init(WithName("metrics-init-1"))
	holder.m.Set("a", 1)
	holder.m.Init(WithName("metrics-init-2"))
	holder.m.Set("b", 2)
	holder.m.Delete("b")
	assert.Empty(t, namedMetrics("metrics-init-1"), "entries under the name of the first Init")
	assert.Equal(t, 0, published(t, "metrics-init-2").Stats.Len, "Len under the name of the second Init")
	holder.m.Init()
	assert.Empty(t, namedMetrics("metrics-init-2"), "entries after an Init without a name")
	assert.Nil(t, holder.m.x.pub, "publication of an unnamed map")
}

func TestCloneIsUnnamed(t *testing.T) {
	m := New[int, int](WithName("metrics-clone"))
	m.Set(1, 1)
	c := m.Clone()
	assert.Len(t, namedMetrics("metrics-clone"), 1, "entries named metrics-clone")
	assert.Nil(t, c.x.pub, "the clone's publication")
	runtime.KeepAlive(m)
}

func TestWithNameInvalid(t *testing.T) {
	for _, name := range []string{"", "a\xffb"} {
		want := `shrinkmap: Name = "` + name + `"; want a non-empty valid UTF-8 string`
		if name != "" {
			want = `shrinkmap: Name = "a\xffb"; want a non-empty valid UTF-8 string`
		}
		assert.PanicsWithValue(t, want, func() { New[int, int](WithName(name)) }, "New(WithName(%q))", name)
		assert.PanicsWithValue(t, want, func() { NewConcurrent[int, int](WithName(name)) }, "NewConcurrent(WithName(%q))", name)
	}
}

// registryID returns the id of the one registry entry named name, or 0.
func registryID(name string) uint64 {
	names.mu.Lock()
	defer names.mu.Unlock()
	for _, e := range names.maps {
		if e.name == name {
			return e.id
		}
	}
	return 0
}

// weakly returns a function reporting whether p is still reachable.
func weakly[T any](p *T) func() bool {
	wp := weak.Make(p)
	return func() bool { return wp.Value() != nil }
}

// TestNamedMapsAreCollected drops named maps of each kind and checks that
// the collector frees them and their registry entries go.
func TestNamedMapsAreCollected(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(name string) (alive func() bool)
	}{
		{"ShrinkMap", func(name string) func() bool {
			m := New[int, [64]byte](WithName(name))
			for i := range 1000 {
				m.Set(i, [64]byte{})
			}
			m.Delete(0)
			return weakly(m)
		}},
		{"ShrinkMap in a struct", func(name string) func() bool {
			h := new(struct {
				tag int
				m   ShrinkMap[int, int]
			})
			h.m.Init(WithName(name))
			h.m.Set(1, 1)
			return weakly(h)
		}},
		{"Concurrent", func(name string) func() bool {
			c := NewConcurrent[int, int](WithName(name), WithCompactEvery(time.Hour))
			c.Set(1, 1)
			return weakly(c)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "metrics-dropped-" + tc.name
			alive := tc.make(name)
			id := registryID(name)
			require.NotZero(t, id, "registry id of %q", name)
			gone := func() bool {
				names.mu.Lock()
				defer names.mu.Unlock()
				_, held := names.maps[id]
				return !held && !alive()
			}
			for i := 0; i < 100 && !gone(); i++ {
				runtime.GC()
			}
			assert.False(t, alive(), "a dropped named map is collected")
			assert.True(t, gone(), "a dropped named map's registry entry is removed")
			assert.Empty(t, namedMetrics(name), "entries of a dropped map")
		})
	}
}

func TestMetricsJSON(t *testing.T) {
	m := New[int, int](WithName("metrics-json"))
	for i := range 100 {
		m.Set(i, i)
	}
	m.Delete(0)
	m.Shrink()
	want := ReadMetrics()
	data, err := json.Marshal(want)
	require.NoError(t, err, "json.Marshal(ReadMetrics())")
	var got Metrics
	require.NoError(t, json.Unmarshal(data, &got), "json.Unmarshal(%s)", data)
	assert.Equal(t, want, got, "ReadMetrics() after a JSON round trip")
	assert.Contains(t, string(data), `"Compactions":{"manual":1}`, "the map's compactions by reason")
	runtime.KeepAlive(m)
}

// TestNameChangesNoDecision runs one sequence of fills and drains on an
// unnamed map and a named one, which checks its policy more often to
// publish, and checks that both compact at the same moments. Compactions
// copy at once: an incremental one's steps follow each map's own iteration
// order, and the collector stays off, which would take spare tables at
// moments of its own.
func TestNameChangesNoDecision(t *testing.T) {
	testClock.Store(1) // refills are timed: freeze the clock
	t.Cleanup(func() { testClock.Store(0) })
	// A collection between the two maps' Sets could take one's spare table
	// and not the other's: keep the collector off.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, tc := range []struct {
		name   string
		policy Policy
		least  int // compactions the run must make
	}{{"default", DefaultPolicy(), 2}, {"ratio", RatioPolicy{Threshold: 0.5}, 9}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(19, 1))
			plain := New[int, int](WithIncremental(0), WithPolicy(tc.policy))
			named := New[int, int](WithIncremental(0), WithPolicy(tc.policy), WithName("metrics-same-decisions"))
			for round := range 8 {
				fill := 1000 + rng.IntN(30000)
				keep := rng.IntN(fill / 4)
				for i := range fill {
					plain.Set(i, round)
					named.Set(i, round)
				}
				for _, i := range rng.Perm(fill)[keep:] {
					plain.Delete(i)
					named.Delete(i)
					if ps, ns := plain.Stats(), named.Stats(); ps != ns {
						t.Fatalf("round %d, after Delete(%d): unnamed Stats = %+v, named Stats = %+v; want equal", round, i, ps, ns)
					}
				}
			}
			assert.GreaterOrEqual(t, named.Stats().Shrinks, tc.least, "compactions over 8 drains")
		})
	}
}
