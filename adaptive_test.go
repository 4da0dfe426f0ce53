package shrinkmap_test

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/require"
)

// The adaptive tests check the default policy on the workloads that a
// per-map byte floor failed: many ordinary maps, maps that refill at once,
// small maps, and a process near its memory limit.

// manyMaps fills count maps with size int->int entries each and deletes
// all but keep of each; then, if churn > 0, does churn Set/Delete pairs
// on each at that level. It returns the maps.
func manyMaps(count, size, keep, churn int) []*shrinkmap.ShrinkMap[int, int] {
	ms := make([]*shrinkmap.ShrinkMap[int, int], count)
	for i := range ms {
		m := shrinkmap.New[int, int]()
		for k := range size {
			m.Set(k, k)
		}
		for k := keep; k < size; k++ {
			m.Delete(k)
		}
		for k := range churn {
			m.Set(size+k, k)
			m.Delete(size + k)
		}
		ms[i] = m
	}
	return ms
}

// freshMaps returns count native maps of keep int->int entries each.
func freshMaps(count, keep int) []map[int]int {
	ms := make([]map[int]int, count)
	for i := range ms {
		ms[i] = make(map[int]int)
		for k := range keep {
			ms[i][k] = k
		}
	}
	return ms
}

func TestManyMapsGiveMemoryBack(t *testing.T) {
	// The two cases of the issue: before the adaptive default, ShrinkMap
	// kept 282 MB and 212 MB, 117x and 110x fresh maps of the live entries.
	tests := []struct {
		name                     string
		count, size, keep, churn int
	}{
		{"500 maps x 20000, drained to 1%", 500, 20_000, 200, 0},
		{"3000 maps x 2000, drained to 1%, then 1000 Set/Delete pairs", 3000, 2000, 20, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			count := tt.count
			if shrinkmap.RaceEnabled {
				count /= 10
			}
			fresh := heapOf(func() any { return freshMaps(count, tt.keep) })
			base := settledHeap()
			ms := manyMaps(count, tt.size, tt.keep, tt.churn)
			kept := settledHeap() - base
			for _, m := range ms {
				require.Equal(t, tt.keep, m.Len())
			}
			runtime.KeepAlive(ms)
			ratio := float64(kept) / float64(fresh)
			t.Logf("%d maps: heap kept %.2f MB, fresh maps %.2f MB: %.2fx", count, mb(kept), mb(fresh), ratio)
			require.LessOrEqual(t, ratio, 2.0, "heap kept over fresh maps of the live entries")
		})
	}
}

func TestSmallMapThatStaysDrainedCompacts(t *testing.T) {
	// A 2000-entry map that drains and stays drained compacts, also after
	// bursts that refilled it (then once it has stayed drained for Peak
	// deletes).
	for _, bursts := range []int{1, 10} {
		m := shrinkmap.New[int, int]()
		for range bursts {
			for k := range 2000 {
				m.Set(k, k)
			}
			for k := range 2000 {
				m.Delete(k)
			}
		}
		for k := range 20 {
			m.Set(k, k)
		}
		for k := range 3000 { // stays drained, with writes going on
			m.Set(10_000+k, k)
			m.Delete(10_000 + k)
		}
		s := m.Stats()
		require.Positive(t, s.Shrinks, "%d bursts: Stats() = %+v; want compactions", bursts, s)
		require.LessOrEqual(t, s.TableBytes, tableOfInts(20*4), "%d bursts: Stats() = %+v; want a table near 20 entries'", bursts, s)
	}
}

// tableOfInts is Stats().TableBytes of a fresh map of n int->int entries.
func tableOfInts(n int) int64 {
	m := shrinkmap.New[int, int]()
	for k := range n {
		m.Set(k, k)
	}
	return m.Stats().TableBytes
}

func TestRefillingMapDoesNotCompactEveryBurst(t *testing.T) {
	// A map that refills right after every drain compacts during its
	// first drain only: its first refill undoes that compaction, and
	// afterwards a drain lasts fewer deletes than the policy waits for
	// (Peak), so the table stays. N, the bursts per compaction, is
	// unbounded here: 0 compactions in 49 bursts after the first.
	sizes := []int{2000, 65536}
	if shrinkmap.RaceEnabled {
		sizes[1] = 16384 // a refill inside the 100 ms window under the race detector too
	}
	for _, size := range sizes {
		m := shrinkmap.New[int, int]()
		var afterFirst int
		for burst := range 50 {
			for k := range size {
				m.Set(k, k)
			}
			for k := range size {
				m.Delete(k)
			}
			if burst == 0 {
				afterFirst = m.Stats().Shrinks
			}
		}
		s := m.Stats()
		require.Positive(t, afterFirst, "size %d: compactions in the first burst", size)
		require.Equal(t, afterFirst, s.Shrinks, "size %d: Stats() = %+v; want no compaction after the first burst", size, s)
		require.Equal(t, 1, s.Refills, "size %d: Stats().Refills", size)
	}
}

func TestMemoryLimitGivesBackHalfEmptyTables(t *testing.T) {
	// Maps drained to 55% of their peak are above a quarter, where the
	// ratio rule does not fire, but their tables could halve. Near the
	// memory limit they give that half back; with no limit they keep it.
	count := 200
	if shrinkmap.RaceEnabled {
		count = 20
	}
	const size, keep = 20_000, 11_000
	run := func(t *testing.T, limited bool, opts ...shrinkmap.Option) (before, after int64, shrinks int) {
		base := settledHeap()
		ms := make([]*shrinkmap.ShrinkMap[int, int], count)
		for i := range ms {
			ms[i] = shrinkmap.New[int, int](opts...)
			for k := range size {
				ms[i].Set(k, k)
			}
		}
		before = settledHeap() - base
		if limited {
			// Within an eighth of the limit: the live heap alone is.
			var st runtime.MemStats
			runtime.ReadMemStats(&st)
			limit := int64(st.HeapAlloc) * 9 / 8
			old := debug.SetMemoryLimit(limit)
			defer debug.SetMemoryLimit(old)
		}
		for _, m := range ms {
			for k := keep; k < size; k++ {
				m.Delete(k)
			}
		}
		for _, m := range ms {
			s := m.Stats()
			require.Equal(t, keep, s.Len)
			shrinks += s.Shrinks
			require.False(t, s.Migrating, "Stats() after the drain = %+v", s)
		}
		after = settledHeap() - base
		runtime.KeepAlive(ms)
		return before, after, shrinks
	}
	t.Run("limit", func(t *testing.T) {
		before, after, shrinks := run(t, true)
		ratio := float64(after) / float64(before)
		t.Logf("%d maps drained to 55%% near the memory limit: heap %.1f MB -> %.1f MB (%.2fx), %d compactions", count, mb(before), mb(after), ratio, shrinks)
		require.Positive(t, shrinks, "compactions near the memory limit")
		require.LessOrEqual(t, ratio, 0.7, "heap after the drain over the undrained heap, near the memory limit")
	})
	t.Run("no limit", func(t *testing.T) {
		before, after, shrinks := run(t, false)
		ratio := float64(after) / float64(before)
		t.Logf("%d maps drained to 55%% with no limit: heap %.1f MB -> %.1f MB (%.2fx), %d compactions", count, mb(before), mb(after), ratio, shrinks)
		require.Zero(t, shrinks, "compactions with no memory limit")
		require.Greater(t, ratio, 0.9, "heap after the drain over the undrained heap, with no limit")
	})
}
