package shrinkmap_test

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/require"
)

// Tests of what a Concurrent with few entries costs: the heap of an empty
// one, of many drained ones against native maps, and Clear's allocations.

func TestConcurrentEmptyHeap(t *testing.T) {
	const maps = 10_000
	heap := heapOf(func() any {
		ms := make([]*shrinkmap.Concurrent[int, int], maps)
		for i := range ms {
			ms[i] = shrinkmap.NewConcurrent[int, int]()
		}
		return ms
	})
	each := heap/maps - int64(unsafe.Sizeof(uintptr(0)))
	t.Logf("an empty Concurrent[int, int] holds %d B of heap (unsafe.Sizeof %d B); an empty native map %d B",
		each, unsafe.Sizeof(shrinkmap.Concurrent[int, int]{}), heapOf(func() any { return make(map[int]int) }))
	// The struct alone: the first write makes the table, and the counts
	// are one word each until writers contend.
	require.LessOrEqualf(t, each, int64(256), "heap of an empty Concurrent[int, int]; want its struct's alone")
}

func TestConcurrentManyDrainedMapsHeap(t *testing.T) {
	// 3,000 maps of 2,000 entries, each drained to 20, keep at most 2.2x
	// the heap of fresh native maps of the 20.
	maps := 3000
	if shrinkmap.RaceEnabled || testing.Short() {
		maps = 500
	}
	const peak, live = 2000, 20
	fresh := heapOf(func() any {
		ms := make([]map[int]int, maps)
		for i := range ms {
			ms[i] = make(map[int]int)
			for k := range live {
				ms[i][k] = k
			}
		}
		return ms
	})
	ours := heapOf(func() any {
		ms := make([]*shrinkmap.Concurrent[int, int], maps)
		for i := range ms {
			c := shrinkmap.NewConcurrent[int, int]()
			for k := range peak {
				c.Set(k, k)
			}
			for k := live; k < peak; k++ {
				c.Delete(k)
			}
			ms[i] = c
		}
		return ms
	})
	t.Logf("%d Concurrent maps of %d drained to %d: %d B (%d B each), fresh native maps %d B (%d B each): %.2fx",
		maps, peak, live, ours, ours/int64(maps), fresh, fresh/int64(maps), float64(ours)/float64(fresh))
	require.LessOrEqualf(t, float64(ours), 2.2*float64(fresh), "heap of %d drained Concurrent maps; want <= 2.2x fresh native maps' %d B", maps, fresh)
}

func TestConcurrentClearAllocations(t *testing.T) {
	// As sync.Map's TestMapClearOneAllocation: Clear allocates at most one
	// object, the one-bucket table that replaces the old one.
	var zero shrinkmap.Concurrent[int, int]
	if a := testing.AllocsPerRun(10, zero.Clear); a > 0 {
		t.Errorf("Clear() of a zero map: %v allocations; want 0", a)
	}
	empty := shrinkmap.NewConcurrent[int, int]()
	empty.Set(1, 1)
	empty.Delete(1)
	if a := testing.AllocsPerRun(10, empty.Clear); a > 1 {
		t.Errorf("Clear() of an empty map: %v allocations; want at most 1", a)
	}
	large := shrinkmap.NewConcurrent[int, int]()
	for k := range 100_000 {
		large.Set(k, k)
	}
	for large.Stats().Migrating { // the fill's growth, if still in progress
		large.Delete(-1)
	}
	if a := mallocsOf(large.Clear); a > 1 {
		t.Errorf("Clear() of a map of 100,000 entries: %d allocations; want at most 1", a)
	}
	require.Equal(t, shrinkmap.Stats{TableBytes: 64}, large.Stats(), "Stats() after Clear() of the large map")
}

// mallocsOf returns the heap allocations that one call of f makes, on one
// processor, as testing.AllocsPerRun counts them.
func mallocsOf(f func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs
}
