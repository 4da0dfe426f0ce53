package shrinkmap

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shrinkmap/shrinkmap/internal/table"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// Tests of the memory a Concurrent gives back: after drains, on Shrink and
// Clear, by the background goroutine of WithCompactEvery, and with the
// default options; and of that goroutine's lifetime.

// concHeap returns the live heap bytes after a full collection.
func concHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// concFill sets keys [0, n) from 4 goroutines, each on its own quarter,
// waits for all, then deletes from 4 goroutines the keys of each quarter for
// which drop returns true.
func concFill(c concMap[[128]byte], n int, drop func(k int) bool) {
	const goroutines = 4
	each := func(f func(k int)) {
		var wg sync.WaitGroup
		for g := range goroutines {
			goWait(&wg, func() {
				for k := g * n / goroutines; k < (g+1)*n/goroutines; k++ {
					f(k)
				}
			})
		}
		wg.Wait()
	}
	each(func(k int) { c.Set(k, [128]byte{byte(k)}) })
	each(func(k int) {
		if drop(k) {
			c.Delete(k)
		}
	})
}

// TestConcurrentDrainMemory is the seed's experiment on Concurrent: 1M
// [128]byte entries written and drained to 1% by 4 goroutines keep less
// than 3x the heap of a fresh native map of the live entries.
func TestConcurrentDrainMemory(t *testing.T) {
	// Short runs drain 500k entries: the default policy's 4 MiB floor
	// stops a much smaller drain from compacting down to its 1% live set.
	n := concSize(1_000_000, 500_000)
	keep := func(k int) bool { return k%100 == 0 }

	base := concHeap()
	fresh := make(map[int][128]byte)
	for k := range n {
		if keep(k) {
			fresh[k] = [128]byte{byte(k)}
		}
	}
	freshBytes := concHeap() - base
	runtime.KeepAlive(fresh)
	fresh = nil

	base = concHeap()
	c := NewConcurrent[int, [128]byte]()
	concFill(c, n, func(k int) bool { return !keep(k) })
	// The drain's own deletes finish the compactions they start.
	s := c.Stats()
	require.Falsef(t, s.Migrating, "Stats() = %+v after the drain's last Delete; want no resize in progress", s)
	held := concHeap() - base
	runtime.KeepAlive(c)

	require.Equal(t, n/100, c.Len(), "Len() after the drain")
	for k := 0; k < n; k += 100 {
		v, ok := c.Get(k)
		require.True(t, ok && v[0] == byte(k), "Get(%d) = %v, %v after the drain; want the value set", k, v[0], ok)
	}
	t.Logf("n=%d: heap held after the drain %d B, fresh native map of the %d live entries %d B (%.2fx); %+v",
		n, held, n/100, freshBytes, float64(held)/float64(freshBytes), s)
	assert.Less(t, held, 3*freshBytes,
		"heap held by Concurrent after writing %d [128]byte entries and draining to 1%% = %d B; want < 3x a fresh map's %d B",
		n, held, freshBytes)
}

// TestConcurrentGivesBackTables checks that Shrink and Clear release an
// emptied or full map's tables.
func TestConcurrentGivesBackTables(t *testing.T) {
	n := concSize(200_000, 50_000)
	base := concHeap()
	c := NewConcurrent[int, [128]byte](WithPolicy(Never()))
	concFill(c, n, func(int) bool { return true })
	emptied := concHeap() - base
	require.Equal(t, 0, c.Len(), "Len() after deleting every key")
	// Entries are freed as they are deleted; the bucket array stays.
	array := int64(c.table.BucketsFor(n)) * table.BucketBytes[int, [128]byte]()
	require.GreaterOrEqual(t, emptied, array, "heap held by an emptied map with the Never policy = %d B; want at least its %d B bucket array", emptied, array)

	c.Shrink()
	after := concHeap() - base
	t.Logf("n=%d, Never policy: emptied map holds %d B, after Shrink() %d B", n, emptied, after)
	assert.Less(t, after, emptied/50, "heap held after Shrink() of an emptied map = %d B; want < 2%% of the %d B before", after, emptied)
	assert.Equal(t, table.BucketBytes[int, [128]byte](), c.Stats().TableBytes, "Stats().TableBytes after Shrink() of an emptied map: one bucket")

	concFill(c, n, func(int) bool { return false })
	full := concHeap() - base
	c.Clear()
	after = concHeap() - base
	t.Logf("full map holds %d B, after Clear() %d B", full, after)
	assert.Less(t, after, full/50, "heap held after Clear() of a full map = %d B; want < 2%% of the %d B before", after, full)
	assert.Equal(t, table.BucketBytes[int, [128]byte](), c.Stats().TableBytes, "Stats().TableBytes after Clear(): one bucket")
	runtime.KeepAlive(c)
}

// concMigrating fills a one-stripe map and deletes until a compaction is
// in progress, which it returns. The background goroutine of
// WithCompactEvery, if opts start one, may finish a compaction between two
// deletes: then concMigrating closes that map and tries a new one.
func concMigrating(t *testing.T, opts ...Option) *Concurrent[int, int] {
	t.Helper()
	n := 2 * DefaultMinIncremental
	for range 10 {
		c := NewConcurrent[int, int](append([]Option{WithCounterStripes(1), WithPolicy(concEager)}, opts...)...)
		for k := range n {
			c.Set(k, k)
		}
		for k := 0; k < n && c.Stats().Shrinks == 0; k++ {
			c.Delete(k)
			// Stats().Migrating is also true for a growth that the fill
			// started; only a compaction counts here.
			if c.Stats().Migrating && c.table.Usage().Resize == table.Compact {
				return c
			}
		}
		c.Close()
	}
	t.Fatalf("no compaction in progress seen while draining %d entries with %v, in 10 maps", n, concEager)
	return nil
}

// TestConcurrentBackgroundCompaction checks that WithCompactEvery finishes
// a migration on an idle map, and applies the policy to an idle map.
func TestConcurrentBackgroundCompaction(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	c := concMigrating(t, WithCompactEvery(time.Millisecond))
	want := c.Len()
	assert.Eventually(t, func() bool { return !c.Stats().Migrating }, 20*time.Second, time.Millisecond,
		"Stats().Migrating of an idle map with WithCompactEvery(1ms); want the migration finished")
	// DrainedFrom is the peak if the policy's checks came late in the
	// drain, under a quarter of it.
	s := c.Stats()
	assert.Equal(t, Stats{Len: want, Peak: want, Shrinks: 1, TableBytes: s.TableBytes, DrainedFrom: s.DrainedFrom}, s,
		"Stats() after the background goroutine finished the migration")
	c.Close()

	var allow atomic.Bool
	c = NewConcurrent[int, int](
		WithCounterStripes(2),
		WithCompactEvery(time.Millisecond),
		WithPolicy(PolicyFunc(func(Stats) bool { return allow.Load() })))
	defer c.Close()
	for k := range 10000 {
		c.Set(k, k)
	}
	for k := range 9000 {
		c.Delete(k)
	}
	require.Zero(t, c.Stats().Shrinks, "Stats().Shrinks while the policy says no")
	allow.Store(true)
	assert.Eventually(t, func() bool { return c.Stats().Shrinks == 1 }, 20*time.Second, time.Millisecond,
		"Stats().Shrinks of an idle map whose policy turned yes; want 1")
	assert.Equal(t, 1000, c.Len(), "Len() after background compaction")
}

func TestConcurrentClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	plain := NewConcurrent[int, int]()
	plain.Close()
	plain.Close()

	c := NewConcurrent[int, int](WithCompactEvery(time.Millisecond))
	var wg sync.WaitGroup
	for range 4 {
		goWait(&wg, c.Close)
	}
	wg.Wait()
	c.Close()
	c.Set(1, 1)
	v, ok := c.Get(1)
	assert.Equal(t, []any{1, true}, []any{v, ok}, "Get(1) after Close() and Set(1,1)")
}

// TestConcurrentDroppedMapLeaksNothing drops a map mid-migration with its
// background goroutine running and without Close: the goroutine and the
// migration's coroutine must both go once the map is collected.
func TestConcurrentDroppedMapLeaksNothing(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	func() {
		// The ticks never come: the migration stays in progress.
		c := concMigrating(t, WithCompactEvery(time.Hour))
		// The goroutine shows in stack dumps once it has first run.
		require.Eventually(t, concCompactorRunning, 10*time.Second, time.Millisecond,
			"no compactLoop goroutine with WithCompactEvery and a migration running")
		runtime.KeepAlive(c)
	}()
	// Wait on goleak's own check: other tests' goroutines may end
	// meanwhile, so the goroutine count alone proves nothing.
	for i := 0; i < 2000 && goleak.Find(ignore) != nil; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	goleak.VerifyNone(t, ignore)
}

// concCompactorRunning reports whether a background compaction goroutine
// is running.
func concCompactorRunning() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "shrinkmap.compactLoop")
}

// TestConcurrentDefaultsCompact checks that a map made with no options
// gives memory back on its own, through the default policy.
func TestConcurrentDefaultsCompact(t *testing.T) {
	c := NewConcurrent[int, [128]byte]()
	n := 100_000 // smaller drains stop at the default floor (4 MiB) too early for a tenth
	concFill(c, n, func(k int) bool { return k%100 != 0 })
	s := c.Stats()
	assert.Positive(t, s.Shrinks, "Stats().Shrinks after draining %d entries to 1%%", n)
	assert.Less(t, s.TableBytes, tableBytes(n, groupBytes[int, [128]byte]())/10,
		"Stats().TableBytes after the drain; want under a tenth of the peak table")
}
