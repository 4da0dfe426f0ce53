package shrinkmap

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shrinkmap/shrinkmap/internal/table"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// Tests of the table under Concurrent: values never torn, reads that never
// go back in time, agreement with a reference map, and iteration, NaN keys
// and goroutines across resizes. The "forced" configurations keep the
// table resizing nearly all the time: one bucket to start, one bucket moved
// per write, and a compaction whenever fewer buckets would do. The tests
// verify the table's invariants (see table.Verifier) after every step where
// one goroutine uses the map, and all along, from a goroutine of their
// own, where several do.

// concForced are the options of a map that is nearly always resizing.
var concForced = []Option{WithPolicy(concAlways), WithIncremental(1)}

// concVerifier verifies the invariants of c's table between a test's
// steps.
type concVerifier[K comparable, V any] struct {
	c *Concurrent[K, V]
	v table.Verifier[K, V]
}

func newConcVerifier[K comparable, V any](c *Concurrent[K, V]) *concVerifier[K, V] {
	return &concVerifier[K, V]{c: c}
}

// quiet fails t unless the table keeps every invariant that holds between
// operations; no other goroutine may use the map meanwhile. The failure
// names the step as format and args say.
func (k *concVerifier[K, V]) quiet(t testing.TB, format string, args ...any) {
	t.Helper()
	if err := k.v.Verify(&k.c.table, true); err != nil {
		t.Fatalf("%s: table invariants: %v", fmt.Sprintf(format, args...), err)
	}
}

// live fails t unless the table keeps the invariants that hold at every
// instant; other goroutines may use the map meanwhile.
func (k *concVerifier[K, V]) live(t testing.TB, format string, args ...any) {
	t.Helper()
	if err := k.v.Verify(&k.c.table, false); err != nil {
		t.Fatalf("%s: table invariants: %v", fmt.Sprintf(format, args...), err)
	}
}

// concVerifyLive verifies, until stop, the invariants of c's table that hold
// at every instant, while other goroutines use c; it reports a violation
// with t.Errorf and returns.
func concVerifyLive[K comparable, V any](t testing.TB, c *Concurrent[K, V], stop *atomic.Bool) {
	k := newConcVerifier(c)
	for round := 0; !stop.Load(); round++ {
		if err := k.v.Verify(&c.table, false); err != nil {
			t.Errorf("round %d while resizing: table invariants: %v", round, err)
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// concChurn sets and deletes keys [lo, lo+span) from a goroutine until
// stop, filling and draining in turn so that the table grows and compacts,
// at least twice, so that the map resizes however soon stop comes.
func concChurn[V any](c *Concurrent[int, V], lo, span int, val func(int) V, stop *atomic.Bool) {
	for round := 0; !stop.Load() || round < 2; round++ {
		for k := lo; k < lo+span; k++ {
			c.Set(k, val(k))
		}
		for k := lo; k < lo+span; k++ {
			c.Delete(k)
		}
	}
}

// concResized checks that a map made with opts went through compactions,
// if opts are concForced.
func concResized[V any](t *testing.T, c *Concurrent[int, V], opts []Option) {
	t.Helper()
	if len(opts) > 0 {
		assert.Positive(t, c.Stats().Shrinks, "Stats().Shrinks of a map forced through resizes")
	}
}

// tornPair is a value of several words whose parts must agree.
type tornPair struct {
	s string
	n int
}

// TestConcurrentTornReads has writers store [4]int{x, x, x, x} and
// tornPair{strconv.Itoa(x), x} values while readers check that every value
// they load agrees with itself, while other goroutines make the table grow
// and compact. Under -race it also checks that no read races a write.
func TestConcurrentTornReads(t *testing.T) {
	for _, forced := range []bool{false, true} {
		t.Run(fmt.Sprintf("forced=%v", forced), func(t *testing.T) {
			var opts []Option
			if forced {
				opts = concForced
			}
			t.Run("array", func(t *testing.T) {
				concTorn(t, opts, func(x int) [4]int { return [4]int{x, x, x, x} }, func(v [4]int) bool {
					return v[0] == v[1] && v[1] == v[2] && v[2] == v[3]
				})
			})
			t.Run("struct", func(t *testing.T) {
				concTorn(t, opts, func(x int) tornPair { return tornPair{strconv.Itoa(x), x} }, func(v tornPair) bool {
					return v.s == strconv.Itoa(v.n)
				})
			})
		})
	}
}

func concTorn[V any](t *testing.T, opts []Option, val func(int) V, whole func(V) bool) {
	const keys = 64
	c := NewConcurrent[int, V](opts...)
	writes := concSize(50000, 5000)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 {
		goWait(&wg, func() {
			for i := range writes {
				k := i % keys
				switch x := w*writes + i; i % 3 {
				case 0:
					c.Set(k, val(x))
				case 1:
					c.Swap(k, val(x))
				default:
					c.Compute(k, func(V, bool) (V, ComputeOp) { return val(x), UpdateOp })
				}
			}
		})
	}
	var bg sync.WaitGroup
	goWait(&bg, func() { concChurn(c, keys, concSize(4000, 1000), val, &stop) })
	goWait(&bg, func() { concVerifyLive(t, c, &stop) })
	var bad atomic.Int64
	for range 2 {
		goWait(&bg, func() {
			for !stop.Load() {
				for k := range keys {
					if v, ok := c.Get(k); ok && !whole(v) {
						bad.Add(1)
						t.Errorf("Get(%d) = %v: torn", k, v)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	bg.Wait()
	require.Zero(t, bad.Load(), "torn values read")
	concResized(t, c, opts)
	concQuiet(t, c)
	for k, v := range c.All() {
		require.True(t, whole(v), "All() yielded %d=%v: torn", k, v)
	}
}

// TestConcurrentReadsNeverGoBack has each writer own some keys and store
// increasing values in them (by Set, Swap and Compute in turn), while
// readers check that no key's value ever goes back, and other goroutines
// make the table grow and compact. A lookup that found a value in a moved
// bucket after a newer one was stored in the new table would fail it.
func TestConcurrentReadsNeverGoBack(t *testing.T) {
	for _, forced := range []bool{false, true} {
		t.Run(fmt.Sprintf("forced=%v", forced), func(t *testing.T) {
			var opts []Option
			if forced {
				opts = concForced
			}
			concMonotonic(t, opts)
		})
	}
}

func concMonotonic(t *testing.T, opts []Option) {
	const writers, perWriter = 2, 32
	const keys = writers * perWriter
	c := NewConcurrent[int, int](opts...)
	rounds := concSize(2000, 300)
	var stop atomic.Bool
	var wg, bg sync.WaitGroup
	for w := range writers {
		goWait(&wg, func() {
			for x := 1; x <= rounds; x++ {
				for i := range perWriter {
					k := w*perWriter + i
					switch x % 3 {
					case 0:
						c.Set(k, x)
					case 1:
						c.Swap(k, x)
					default:
						c.Compute(k, func(old int, _ bool) (int, ComputeOp) { return x, UpdateOp })
					}
				}
			}
		})
	}
	goWait(&bg, func() { concChurn(c, keys, concSize(4000, 1000), func(k int) int { return k }, &stop) })
	goWait(&bg, func() { concVerifyLive(t, c, &stop) })
	var failed atomic.Bool
	for r := range 2 {
		goWait(&bg, func() {
			var last [keys]int
			for !stop.Load() && !failed.Load() {
				for k := range keys {
					v, _ := c.Get(k)
					if v < last[k] {
						failed.Store(true)
						t.Errorf("reader %d: Get(%d) = %d after it returned %d", r, k, v, last[k])
						return
					}
					last[k] = v
				}
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	bg.Wait()
	concResized(t, c, opts)
	concQuiet(t, c)
	for k := range keys {
		v, ok := c.Get(k)
		require.True(t, ok && v == rounds, "Get(%d) = %d, %v after the writers finished; want %d, true", k, v, ok, rounds)
	}
}

// TestConcurrentIterateWhileResizing checks All's promise while the table
// is forced through resizes: the keys present throughout are yielded
// exactly once each, with their values, and no key twice.
func TestConcurrentIterateWhileResizing(t *testing.T) {
	stable := concSize(3000, 500)
	c := NewConcurrent[int, int](concForced...)
	verify := newConcVerifier(c)
	for k := range stable {
		c.Set(k, k)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 {
		goWait(&wg, func() {
			concChurn(c, stable+w*10000, concSize(6000, 1500), func(k int) int { return -k }, &stop)
		})
	}
	var sizes []int
	for iter := range concSize(50, 10) {
		seen := make(map[int]bool)
		for k, v := range c.All() {
			require.False(t, seen[k], "iteration %d: All() yielded key %d twice", iter, k)
			seen[k] = true
			want := k
			if k >= stable {
				want = -k
			}
			require.Equal(t, want, v, "iteration %d: All() yielded %d=%d", iter, k, v)
		}
		for k := range stable {
			require.True(t, seen[k], "iteration %d: All() missed key %d, present throughout", iter, k)
		}
		sizes = append(sizes, c.table.Usage().Buckets)
		verify.live(t, "iteration %d", iter)
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("table buckets seen after iterations: %v; %+v", sizes, c.Stats())
	assert.Positive(t, c.Stats().Shrinks, "compactions during the iterations")
	verify.quiet(t, "after the iterations")
}

// TestConcurrentNaNAcrossResizes checks that entries with NaN keys survive
// growth and compaction: each stays reachable by All, once, and Len counts
// it, until Clear.
func TestConcurrentNaNAcrossResizes(t *testing.T) {
	c := NewConcurrent[float64, int](concForced...)
	verify := newConcVerifier(c)
	nan := math.NaN()
	const nans = 100
	for i := range nans {
		c.Set(nan, i)
		verify.quiet(t, "Set(NaN, %d)", i)
		c.Set(float64(i), i)
		verify.quiet(t, "Set(%d, %d)", i, i)
	}
	c.GetOrSet(nan, nans)
	verify.quiet(t, "GetOrSet(NaN)")
	c.Swap(nan, nans+1)
	verify.quiet(t, "Swap(NaN)")
	c.Compute(nan, func(old int, loaded bool) (int, ComputeOp) {
		assert.False(t, loaded, "Compute(NaN): loaded")
		return nans + 2, UpdateOp
	})
	verify.quiet(t, "Compute(NaN)")
	c.Delete(nan)
	_, ok := c.GetAndDelete(nan)
	assert.False(t, ok, "GetAndDelete(NaN): ok")
	verify.quiet(t, "Delete(NaN), GetAndDelete(NaN)")
	// Grow and drain other keys: the NaN entries move with the table.
	others := concSize(5000, 1000)
	for k := range others {
		c.Set(float64(1000+k), k)
		verify.quiet(t, "Set(%d)", 1000+k)
	}
	for k := range others {
		c.Delete(float64(1000 + k))
		verify.quiet(t, "Delete(%d)", 1000+k)
	}
	for i := range nans {
		c.Delete(float64(i))
		verify.quiet(t, "Delete(%d)", i)
	}
	s := c.Stats()
	assert.Positive(t, s.Shrinks, "Stats().Shrinks after the drain")
	assert.Equal(t, nans+3, c.Len(), "Len() with only NaN entries left")
	var vals []int
	for k, v := range c.All() {
		require.True(t, k != k, "All() yielded %v=%d; want only NaN keys", k, v)
		vals = append(vals, v)
	}
	want := make([]int, nans+3)
	for i := range want {
		want[i] = i
	}
	assert.ElementsMatch(t, want, vals, "values of the NaN entries yielded by All()")
	c.Shrink()
	verify.quiet(t, "Shrink()")
	assert.Equal(t, nans+3, c.Len(), "Len() after Shrink()")
	c.Clear()
	verify.quiet(t, "Clear()")
	assert.Zero(t, c.Len(), "Len() after Clear()")
	assert.Empty(t, concCollect(t, c), "All() after Clear()")
}

// TestConcurrentResizeLeaksNothing checks that the goroutine that allocates
// a large new table ends, and that a map dropped mid-resize, with its
// background goroutine, leaves no goroutine behind.
func TestConcurrentResizeLeaksNothing(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	func() {
		c := NewConcurrent[int, int](WithCompactEvery(time.Hour))
		// Over AsyncTableBytes of buckets: the growths to it allocate on
		// a goroutine of their own.
		big := int(table.AsyncTableBytes / table.BucketBytes[int, int]())
		n := 2 * c.table.GrowAt(big)
		for k := range n {
			c.Set(k, k)
		}
		require.Equal(t, n, c.Len(), "Len() after %d Sets", n)
		require.True(t, c.Stats().Migrating || c.table.Usage().Buckets >= big,
			"after %d Sets: %+v; want a table of %d buckets or more, or a resize to it", n, c.Stats(), big)
	}()
	// Other tests' goroutines may end meanwhile, so wait on goleak's own
	// check rather than on the goroutine count.
	for i := 0; i < 2000 && goleak.Find(ignore) != nil; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	goleak.VerifyNone(t, ignore)
}

// TestConcurrentHookPanicKeepsWrite checks that a shrink hook that panics
// in the write that completes an incremental compaction propagates to that
// write's caller with the write done and nothing lost.
func TestConcurrentHookPanicKeepsWrite(t *testing.T) {
	c := NewConcurrent[int, int](append(concForced, WithShrinkHook(func(ShrinkEvent) { panic("hook") }))...)
	verify := newConcVerifier(c)
	model := make(map[int]int)
	panics, ops := 0, 0
	try := func(f func()) {
		func() {
			defer func() {
				if r := recover(); r != nil {
					require.Equal(t, "hook", r, "recovered panic")
					panics++
				}
			}()
			f()
		}()
		ops++
		verify.quiet(t, "op %d, %d hook panics so far", ops, panics)
	}
	keys := concSize(2000, 500)
	for round := range 4 {
		for k := range keys {
			try(func() { c.Set(k, round) })
			model[k] = round
		}
		for k := range keys - 10 {
			switch k % 3 {
			case 0:
				try(func() { c.Delete(k) })
			case 1:
				try(func() { c.GetAndDelete(k) })
			default:
				try(func() { c.Compute(k, func(int, bool) (int, ComputeOp) { return 0, DeleteOp }) })
			}
			delete(model, k)
		}
		require.Equal(t, model, concCollect(t, c), "All() after round %d, %d hook panics so far", round, panics)
		require.Equal(t, len(model), c.Len(), "Len() after round %d", round)
	}
	assert.Positive(t, panics, "hook panics")
}
