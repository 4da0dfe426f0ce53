package shrinkmap

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shrinkmap/shrinkmap/internal/table"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// concSmall reports whether tests use their small sizes: under the race
// detector or -short.
func concSmall() bool { return raceEnabled || testing.Short() }

// concSize returns n, or small if concSmall.
func concSize(n, small int) int {
	if concSmall() {
		return small
	}
	return n
}

// concEager is a policy that compacts as soon as the map has lost a tenth
// of its peak (and a table of fewer buckets would hold it), so that
// compactions, which move buckets incrementally, happen often in tests.
var concEager = RatioPolicy{Threshold: 0.9}

// concCollect returns the map's pairs, failing if a key is yielded twice.
func concCollect[K comparable, V any](t *testing.T, c *Concurrent[K, V]) map[K]V {
	t.Helper()
	got := make(map[K]V)
	for k, v := range c.All() {
		_, dup := got[k]
		require.False(t, dup, "All() yielded key %v twice", k)
		got[k] = v
	}
	return got
}

// concQuiet fails unless c's table keeps every invariant that holds
// between operations (see table.Verifier), among them that every bucket's
// lock is free. No goroutine may use c meanwhile.
func concQuiet[K comparable, V any](t testing.TB, c *Concurrent[K, V]) {
	t.Helper()
	var v table.Verifier[K, V]
	if err := v.Verify(&c.table, true); err != nil {
		t.Fatalf("table invariants: %v", err)
	}
}

func TestConcurrentMethods(t *testing.T) {
	c := NewConcurrent[string, int](WithCounterStripes(4))
	defer c.Close()

	v, ok := c.Get("a")
	assert.Equal(t, 0, v, "Get(a) on an empty map: value")
	assert.False(t, ok, "Get(a) on an empty map: ok")

	c.Set("a", 1)
	c.Set("b", 2)
	c.Set("a", 3)
	v, ok = c.Get("a")
	assert.Equal(t, 3, v, "Get(a) after Set(a,1), Set(a,3)")
	assert.True(t, ok)
	assert.True(t, c.Has("b"), "Has(b) after Set(b,2)")
	assert.False(t, c.Has("z"), "Has(z) of an absent key")
	assert.Equal(t, 2, c.Len(), "Len() after setting a and b")

	actual, loaded := c.GetOrSet("a", 10)
	assert.Equal(t, []any{3, true}, []any{actual, loaded}, "GetOrSet(a,10) of present a")
	actual, loaded = c.GetOrSet("c", 10)
	assert.Equal(t, []any{10, false}, []any{actual, loaded}, "GetOrSet(c,10) of absent c")

	prev, loaded := c.Swap("c", 11)
	assert.Equal(t, []any{10, true}, []any{prev, loaded}, "Swap(c,11) of c=10")
	prev, loaded = c.Swap("d", 4)
	assert.Equal(t, []any{0, false}, []any{prev, loaded}, "Swap(d,4) of absent d")

	v, ok = c.GetAndDelete("d")
	assert.Equal(t, []any{4, true}, []any{v, ok}, "GetAndDelete(d) of d=4")
	v, ok = c.GetAndDelete("d")
	assert.Equal(t, []any{0, false}, []any{v, ok}, "GetAndDelete(d) of deleted d")

	c.Delete("c")
	c.Delete("never")
	assert.Equal(t, map[string]int{"a": 3, "b": 2}, concCollect(t, c), "All() after deleting c")
	assert.ElementsMatch(t, []string{"a", "b"}, slices.Collect(c.Keys()), "Keys()")
	assert.ElementsMatch(t, []int{3, 2}, slices.Collect(c.Values()), "Values()")
	assert.Equal(t, map[string]int{"a": 3, "b": 2}, maps.Collect(c.All()), "maps.Collect(All())")

	n := 0
	for range c.All() {
		n++
		break
	}
	assert.Equal(t, 1, n, "All() with break after the first pair yielded %d pairs", n)
	for range c.Keys() {
		break
	}
	for range c.Values() {
		break
	}
	concQuiet(t, c)

	c.Clear()
	assert.Equal(t, 0, c.Len(), "Len() after Clear()")
	assert.Empty(t, concCollect(t, c), "All() after Clear()")
	// Clear leaves one empty bucket: the smallest table.
	assert.Equal(t, Stats{TableBytes: table.BucketBytes[string, int]()}, c.Stats(), "Stats() after Clear()")
}

func TestConcurrentCompute(t *testing.T) {
	c := NewConcurrent[int, int]()
	inc := func(old int, loaded bool) (int, ComputeOp) { return old + 1, UpdateOp }

	v, ok := c.Compute(1, func(old int, loaded bool) (int, ComputeOp) {
		assert.Equal(t, []any{0, false}, []any{old, loaded}, "Compute(1) of absent 1: f's arguments")
		return 5, CancelOp
	})
	assert.Equal(t, []any{0, false}, []any{v, ok}, "Compute(1) returning CancelOp on absent 1")
	assert.False(t, c.Has(1), "Has(1) after a cancelled Compute(1)")

	v, ok = c.Compute(1, inc)
	assert.Equal(t, []any{1, true}, []any{v, ok}, "Compute(1, inc) on absent 1")
	v, ok = c.Compute(1, inc)
	assert.Equal(t, []any{2, true}, []any{v, ok}, "Compute(1, inc) on 1=1")

	v, ok = c.Compute(1, func(old int, loaded bool) (int, ComputeOp) {
		assert.Equal(t, []any{2, true}, []any{old, loaded}, "Compute(1) of 1=2: f's arguments")
		return 9, CancelOp
	})
	assert.Equal(t, []any{2, true}, []any{v, ok}, "Compute(1) returning CancelOp on 1=2")

	v, ok = c.Compute(1, func(int, bool) (int, ComputeOp) { return 9, DeleteOp })
	assert.Equal(t, []any{0, false}, []any{v, ok}, "Compute(1) returning DeleteOp on 1=2")
	assert.False(t, c.Has(1), "Has(1) after Compute(1) returned DeleteOp")
	v, ok = c.Compute(1, func(int, bool) (int, ComputeOp) { return 9, DeleteOp })
	assert.Equal(t, []any{0, false}, []any{v, ok}, "Compute(1) returning DeleteOp on absent 1")
	assert.Equal(t, 0, c.Len(), "Len() after deleting 1")
}

// TestConcurrentPanics checks that a panic in user code (a Compute function,
// a shrink hook, a loop body) or a bad ComputeOp releases every lock and
// loses no entry.
func TestConcurrentPanics(t *testing.T) {
	var hookPanics atomic.Bool
	c := NewConcurrent[int, int](
		WithCounterStripes(2),
		WithPolicy(RatioPolicy{Threshold: 0.5}),
		WithIncremental(0),
		WithShrinkHook(func(ShrinkEvent) {
			if hookPanics.Load() {
				panic("hook")
			}
		}))
	want := make(map[int]int)
	for k := range 100 {
		c.Set(k, k)
		want[k] = k
	}

	assert.PanicsWithValue(t, "compute", func() {
		c.Compute(7, func(int, bool) (int, ComputeOp) { panic("compute") })
	}, "Compute(7) with a panicking function")
	assert.PanicsWithValue(t, "compute", func() {
		c.Compute(-1, func(int, bool) (int, ComputeOp) { panic("compute") })
	}, "Compute(-1) of an absent key with a panicking function")
	concQuiet(t, c)
	assert.PanicsWithValue(t,
		"shrinkmap: Compute function returned ComputeOp(7); want CancelOp, UpdateOp or DeleteOp",
		func() { c.Compute(8, func(int, bool) (int, ComputeOp) { return 0, 7 }) },
		"Compute(8) returning ComputeOp(7)")
	concQuiet(t, c)
	assert.Equal(t, want, concCollect(t, c), "All() after panicking Computes")

	assert.PanicsWithValue(t, "body", func() {
		for range c.All() {
			panic("body")
		}
	}, "All() with a panicking body")
	concQuiet(t, c)

	hookPanics.Store(true)
	panicked := false
	for k := range 100 {
		func() {
			defer func() {
				if r := recover(); r != nil {
					require.Equal(t, "hook", r, "Delete(%d) panicked with", k)
					panicked = true
				}
			}()
			c.Delete(k)
		}()
		delete(want, k)
		concQuiet(t, c)
		if panicked {
			break
		}
	}
	require.True(t, panicked, "no Delete compacted (and called the panicking hook) while draining 100 entries with RatioPolicy{0.5}")
	assert.Equal(t, want, concCollect(t, c), "All() after a Delete whose shrink hook panicked")
	assert.Equal(t, len(want), c.Len(), "Len() after a Delete whose shrink hook panicked")
}

func TestNewConcurrentInvalid(t *testing.T) {
	for _, tc := range []struct {
		opt  Option
		want string
	}{
		{WithCounterStripes(3), "shrinkmap: CounterStripes = 3; want 0 (default) or a power of two >= 1"},
		{WithCounterStripes(-4), "shrinkmap: CounterStripes = -4; want 0 (default) or a power of two >= 1"},
		{WithCompactEvery(-time.Second), "shrinkmap: CompactEvery = -1s; want >= 0 (0 disables background compaction)"},
		{WithPolicy(nil), "shrinkmap: Policy is nil; want a non-nil Policy (use Never() to disable automatic compaction)"},
	} {
		assert.PanicsWithValue(t, tc.want, func() { NewConcurrent[int, int](tc.opt) }, "NewConcurrent with an invalid option")
	}
}

func TestConcurrentStripes(t *testing.T) {
	for _, n := range []int{1, 2, 64} {
		c := NewConcurrent[int, int](WithCounterStripes(n))
		assert.Equal(t, n, c.table.Stripes(), "NewConcurrent(WithCounterStripes(%d)) counter stripes", n)
		for k := range 1000 {
			c.Set(k, k)
		}
		assert.Equal(t, 1000, c.Len(), "Len() with %d stripes after 1000 Sets", n)
	}
	c := NewConcurrent[int, int]()
	assert.Equal(t, DefaultCounterStripes(), c.table.Stripes(), "NewConcurrent() counter stripes")
	d := DefaultCounterStripes()
	assert.True(t, d >= 16 && d&(d-1) == 0 && d >= 4*runtime.GOMAXPROCS(0),
		"DefaultCounterStripes() = %d; want a power of two >= max(16, 4*GOMAXPROCS=%d)", d, 4*runtime.GOMAXPROCS(0))
}

func TestConcurrentSizing(t *testing.T) {
	c := NewConcurrent[int, int](WithCapacity(100))
	assert.Equal(t, c.table.BucketsFor(100), c.table.Usage().Buckets, "buckets of NewConcurrent(WithCapacity(100))")
	assert.Equal(t, 32, c.table.BucketsFor(100), "BucketsFor(100)")
}

func TestConcurrentStats(t *testing.T) {
	// 1200 entries overflow a table of 256 buckets (it holds 960), so that
	// it grows to 512: a table grows when a Set adds an overflow bucket to
	// a table past its load, which 1000 entries, 40 past it, missed about
	// once in 500 maps.
	c := NewConcurrent[int, int](WithCounterStripes(4))
	for k := range 1200 {
		c.Set(k, k)
	}
	for k := range 600 {
		c.Delete(k)
	}
	s := c.Stats()
	assert.Equal(t, 600, s.Len, "Stats().Len after 1200 Sets and 600 Deletes")
	assert.Equal(t, 1200, s.Peak, "Stats().Peak (the sum of the counter stripes' peaks) after 1200 Sets and 600 Deletes")
	assert.Zero(t, s.Shrinks, "Stats().Shrinks before any compaction")
	assert.Positive(t, s.WastedBytes, "Stats().WastedBytes after deleting half")

	c.Shrink()
	s = c.Stats()
	assert.Equal(t, Stats{Len: 600, Peak: 600, Shrinks: 1, TableBytes: s.TableBytes}, s, "Stats() after Shrink()")
	u := c.table.Usage()
	assert.Equal(t, c.table.BucketsFor(600), u.Buckets, "buckets after Shrink() of 600 entries")
	want := int64(u.Buckets)*table.BucketBytes[int, int]() + int64(u.Overflow)*table.OverflowBytes[int, int]() + 600*table.EntryBytes[int, int]()
	assert.Equal(t, want, s.TableBytes, "Stats().TableBytes against the buckets and entries")
	assert.Equal(t, 600, c.Len(), "Len() after Shrink()")
}

func ExampleConcurrent() {
	sessions := NewConcurrent[string, int]()
	var wg sync.WaitGroup
	for i := range 4 {
		goWait(&wg, func() { sessions.Set(fmt.Sprint("user", i), i) })
	}
	wg.Wait()
	v, ok := sessions.Get("user2")
	fmt.Println(sessions.Len(), v, ok)
	// Output: 4 2 true
}

func ExampleConcurrent_Compute() {
	counts := NewConcurrent[string, int]()
	var wg sync.WaitGroup
	for range 8 {
		goWait(&wg, func() {
			for _, w := range strings.Fields("to be or not to be") {
				counts.Compute(w, func(n int, _ bool) (int, ComputeOp) { return n + 1, UpdateOp })
			}
		})
	}
	wg.Wait()
	be, _ := counts.Get("be")
	fmt.Println(be, counts.Len())
	// Output: 16 4
}

func ExampleConcurrent_GetOrSet() {
	c := NewConcurrent[string, string]()
	first, loaded := c.GetOrSet("k", "first")
	fmt.Println(first, loaded)
	again, loaded := c.GetOrSet("k", "second")
	fmt.Println(again, loaded)
	// Output:
	// first false
	// first true
}

func ExampleWithCompactEvery() {
	c := NewConcurrent[int, []byte](WithCompactEvery(time.Second))
	defer c.Close() // stops the background goroutine
	c.Set(1, []byte("one"))
	fmt.Println(c.Len())
	// Output: 1
}
