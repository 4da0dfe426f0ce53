package shrinkmap_test

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/require"
)

// Tests of what a Concurrent with few entries costs: the heap of an empty
// one and Clear's allocations (TestManySmallMapsDrainedHeap weighs many
// drained ones against native maps).

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
	oneBucket := empty.Stats().TableBytes
	require.Equal(t, shrinkmap.Stats{TableBytes: oneBucket}, large.Stats(), "Stats() after Clear() of the large map: one bucket, as the empty map's")
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

// TestConcurrentChurnAfterCompactionKeepsTable drains maps to sizes at and
// near their tables' load thresholds, for both layouts, and then churns
// them around that size (a Set of a new key, a Delete of an old one): a
// map compacted for its entries must not grow back and compact again with
// every swing of one entry.
func TestConcurrentChurnAfterCompactionKeepsTable(t *testing.T) {
	for _, left := range []int{15, 20, 30, 40, 60, 80} {
		ints := shrinkmap.NewConcurrent[int, int]()
		churnAfterDrain(t, "int keys", left, ints.Set, ints.Delete, ints.Len, ints.Stats)
		strs := shrinkmap.NewConcurrent[int, string]()
		churnAfterDrain(t, "string values", left, func(k, v int) { strs.Set(k, "v") }, strs.Delete, strs.Len, strs.Stats)
	}
}

func churnAfterDrain(t *testing.T, name string, left int, set func(k, v int), del func(k int), length func() int, stats func() shrinkmap.Stats) {
	t.Helper()
	const fill, rounds = 2000, 1000
	for k := range fill {
		set(k, k)
	}
	for k := left; k < fill; k++ {
		del(k)
	}
	before := stats().Shrinks
	require.Positive(t, before, "%s, drained to %d: compactions; want some", name, left)
	live := make([]int, 0, left+rounds)
	for k := range left {
		live = append(live, k)
	}
	for i := range rounds {
		set(fill+i, i) // Len left+1
		live = append(live, fill+i)
		del(live[0]) // Len back to left
		live = live[1:]
	}
	require.Equal(t, left, length(), "%s: Len after the churn", name)
	require.LessOrEqualf(t, stats().Shrinks-before, 1, "%s, drained to %d, then %d rounds of churn by one entry: compactions during the churn (Len %d)", name, left, rounds, length())
}
