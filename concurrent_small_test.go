package shrinkmap_test

import (
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
	require.Positive(t, each, "heap of an empty Concurrent")
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
}
