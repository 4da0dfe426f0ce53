package shrinkmap_test

import (
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/require"
)

// The workloads of caches: expiry sweeps inside a range loop, refills right
// after them, and many tiny maps.

// burstSize is the fill of each burst of the bursts tests.
func burstSize() int {
	if shrinkmap.RaceEnabled || testing.Short() {
		return 100_000
	}
	return 400_000
}

// sweepTo deletes, inside a loop over All, every key that is not a
// multiple of 100, as an expiry sweep does.
func sweepTo1pct(m *shrinkmap.ShrinkMap[int, int]) {
	for k := range m.All() {
		if k%100 != 0 {
			m.Delete(k)
		}
	}
}

func TestBurstsThenIdleGiveMemoryBack(t *testing.T) {
	// A cache that fills, is swept to 1% and refilled at once, three times
	// back to back, then idles: after a collection it holds about what a
	// fresh map of the live entries holds, whatever the refills did to
	// the policy's history.
	n := burstSize()
	fresh := heapOf(func() any {
		m := make(map[int]int)
		for k := 0; k < n; k += 100 {
			m[k] = k
		}
		return m
	})
	base := settledHeap()
	m := shrinkmap.New[int, int]()
	for burst := range 3 {
		for k := range n {
			m.Set(k, k)
		}
		sweepTo1pct(m)
		s := m.Stats()
		require.Equalf(t, n/100, s.Len, "burst %d: Len after the sweep", burst)
		require.Falsef(t, s.Migrating, "burst %d: Stats() = %+v after the sweep; want the compaction done by the loop's end", burst, s)
		require.LessOrEqualf(t, s.TableBytes, 2*tableOfInts(n/100), "burst %d: Stats() = %+v after the sweep; want a table near a fresh one's", burst, s)
	}
	held := settledHeap() - base
	runtime.KeepAlive(m)
	t.Logf("n=%d, 3 bursts swept to 1%%, then idle: %d B held, a fresh map of the %d live entries %d B: %.2fx", n, held, n/100, fresh, float64(held)/float64(fresh))
	require.LessOrEqualf(t, held, 2*fresh, "heap held after three bursts and a collection; want <= 2x a fresh map's %d B", fresh)
}

func TestSweepCompactsOnceAtLoopEnd(t *testing.T) {
	// Deletes inside a loop over All do not compact while the loop runs:
	// the loop's end compacts once, to the entries left.
	n := burstSize()
	var events []shrinkmap.ShrinkEvent
	m := shrinkmap.New[int, int](shrinkmap.WithShrinkHook(func(e shrinkmap.ShrinkEvent) { events = append(events, e) }))
	for k := range n {
		m.Set(k, k)
	}
	yields := 0
	for k := range m.All() {
		yields++
		if k%100 != 0 {
			m.Delete(k)
		}
		require.Emptyf(t, events, "a compaction during the sweep, after %d entries", yields)
	}
	require.Equal(t, n, yields, "entries the sweep visited")
	require.Lenf(t, events, 1, "compactions by the end of the sweep: %+v; want one", events)
	e := events[0]
	require.Equalf(t, n/100, e.Entries, "event %+v: want the entries left copied", e)
	require.Falsef(t, e.Incremental, "event %+v: want a copy at once (the sweep deleted more than it left)", e)
	s := m.Stats()
	require.Equalf(t, n/100, s.Len, "Stats() = %+v", s)
	require.LessOrEqualf(t, s.TableBytes, 2*tableOfInts(n/100), "Stats() = %+v; want a table near a fresh one's", s)

	// A loop that breaks after its deletes also ends the sweep.
	for k := range n {
		m.Set(k, k)
	}
	before := len(events)
	i := 0
	for k := range m.All() {
		if k%100 != 0 {
			m.Delete(k)
		}
		if i++; i == n-n/10 {
			break
		}
	}
	require.Lenf(t, events, before+1, "compactions by the end of a sweep that broke off: %+v", events[before:])
}

func TestSweepThatPanicsCompactsLater(t *testing.T) {
	// A sweep whose body panics leaves the map consistent, and the
	// deletes after it compact it as outside any loop.
	n := burstSize()
	m := shrinkmap.New[int, int]()
	for k := range n {
		m.Set(k, k)
	}
	i := 0
	require.PanicsWithValue(t, "body", func() {
		for k := range m.All() {
			m.Delete(k)
			if i++; i == n/2 {
				panic("body")
			}
		}
	})
	require.Equal(t, n-n/2, m.Len(), "Len after the panicking sweep")
	require.Zero(t, m.Stats().Shrinks, "compactions: none while the sweep ran")
	for k := range n {
		m.Delete(k)
	}
	s := m.Stats()
	require.Positivef(t, s.Shrinks, "Stats() = %+v after deleting everything; want compactions", s)
	require.Zerof(t, s.Len, "Stats() = %+v", s)
}

func TestTinyMapsHeap(t *testing.T) {
	// 20,000 maps of one entry take at most twice the heap of 20,000
	// native maps of one entry.
	const maps = 20_000
	native := heapOf(func() any {
		ms := make([]map[int]int, maps)
		for i := range ms {
			ms[i] = map[int]int{i: i}
		}
		return ms
	})
	ours := heapOf(func() any {
		ms := make([]*shrinkmap.ShrinkMap[int, int], maps)
		for i := range ms {
			ms[i] = shrinkmap.New[int, int]()
			ms[i].Set(i, i)
		}
		return ms
	})
	t.Logf("%d one-entry maps: native %d B (%d B each), ShrinkMap %d B (%d B each): %.2fx",
		maps, native, native/maps, ours, ours/maps, float64(ours)/float64(native))
	require.LessOrEqualf(t, ours, 2*native, "heap of %d one-entry ShrinkMaps; want <= 2x the native maps' %d B", maps, native)
}

func TestManySmallMapsDrainedHeap(t *testing.T) {
	// 3,000 maps of 2,000 entries, each drained to 20 and then churned at
	// that level, keep at most twice the heap of fresh native maps of 20
	// (2.2x for Concurrent, whose entries are objects of their own).
	maps := 3000
	if shrinkmap.RaceEnabled || testing.Short() {
		maps = 500
	}
	const peak, live = 2000, 20
	fresh := nativeMapsHeap(maps, live)
	for _, tc := range []struct {
		name  string
		bound float64
		make  func() intMap
	}{
		{"ShrinkMap", 2, func() intMap { return shrinkmap.New[int, int]() }},
		{"Concurrent", 2.2, func() intMap { return shrinkmap.NewConcurrent[int, int]() }},
	} {
		ours := heapOf(func() any {
			ms := make([]intMap, maps)
			for i := range ms {
				m := tc.make()
				for k := range peak {
					m.Set(k, k)
				}
				for k := live; k < peak; k++ {
					m.Delete(k)
				}
				for k := range 5 * peak { // churn at the drained level
					m.Set(peak+k, k)
					m.Delete(peak + k)
				}
				ms[i] = m
			}
			return ms
		})
		t.Logf("%d maps of %d drained to %d and churned: %s %d B (%d B each), fresh native maps %d B (%d B each): %.2fx",
			maps, peak, live, tc.name, ours, ours/int64(maps), fresh, fresh/int64(maps), float64(ours)/float64(fresh))
		require.LessOrEqualf(t, float64(ours), tc.bound*float64(fresh), "heap of %d drained %s maps; want <= %vx fresh native maps' %d B",
			maps, tc.name, tc.bound, fresh)
	}
}

// intMap is what TestManySmallMapsDrainedHeap needs of a map.
type intMap interface {
	Set(k, v int)
	Delete(k int)
}

// nativeMapsHeap returns the heap of maps fresh native maps of keys
// [0, live).
func nativeMapsHeap(maps, live int) int64 {
	return heapOf(func() any {
		ms := make([]map[int]int, maps)
		for i := range ms {
			ms[i] = make(map[int]int)
			for k := range live {
				ms[i][k] = k
			}
		}
		return ms
	})
}

func TestDeleteFuncMatchesMaps(t *testing.T) {
	// DeleteFunc leaves what maps.DeleteFunc leaves in a native map, NaN
	// keys included, over random maps and predicates; a drain of 99% gives
	// the table back.
	r := rand.New(rand.NewPCG(1, 2))
	kinds := map[string]int{}
	for run := range 300 {
		n := r.IntN(20_000)
		if run%3 == 0 {
			n = r.IntN(20)
		}
		native := map[float64]int{}
		m := shrinkmap.New[float64, int]()
		for i := range n {
			k := float64(r.IntN(4 * max(n, 1)))
			if r.IntN(50) == 0 {
				k = math.NaN()
			}
			native[k] = i
			m.Set(k, i)
		}
		keep := r.IntN(101) // percent of entries del keeps
		del := func(k float64, v int) bool { return (v*7919)%100 >= keep }
		maps.DeleteFunc(native, del)
		m.DeleteFunc(del)
		require.Equalf(t, len(native), m.Len(), "run %d: Len after DeleteFunc", run)
		for k, v := range native {
			if k == k {
				got, ok := m.Get(k)
				require.Truef(t, ok && got == v, "run %d: Get(%v) = %d, %v; want %d", run, k, got, ok, v)
			}
		}
		switch s := m.Stats(); {
		case n == 0:
			kinds["empty"]++
		case keep <= 1 && n >= 10_000:
			require.LessOrEqualf(t, s.TableBytes, 4*tableOfInts(max(s.Len, 1)), "run %d: Stats() = %+v after deleting %d%%; want the table back", run, s, 100-keep)
			kinds["drained"]++
		case len(native) < n:
			kinds["some deleted"]++
		default:
			kinds["none deleted"]++
		}
	}
	for _, kind := range []string{"empty", "drained", "some deleted", "none deleted"} {
		require.Positivef(t, kinds[kind], "no run of kind %q: %v", kind, kinds)
	}
}
