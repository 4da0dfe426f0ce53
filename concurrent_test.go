package shrinkmap

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// concRace reports whether the race detector is on, read from the build
// settings so that no build-tagged file is needed: the tests then use
// smaller sizes, since the detector slows every map operation many times.
var concRace = func() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}()

// concSmall reports whether tests use their small sizes: under the race
// detector or -short.
func concSmall() bool { return concRace || testing.Short() }

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

// concUnlocked fails unless every bucket's lock is free, in the map's
// table and the one it is resizing into.
func concUnlocked[K comparable, V any](t *testing.T, c *Concurrent[K, V]) {
	t.Helper()
	for tab := c.table.Load(); tab != nil; tab = tab.next.Load() {
		for i := range tab.buckets {
			b := &tab.buckets[i]
			require.True(t, b.mu.TryLock(), "bucket %d of a table of %d is still locked", i, len(tab.buckets))
			b.mu.Unlock()
		}
	}
}

func TestConcurrentMethods(t *testing.T) {
	c := NewConcurrent[string, int](WithShards(4))
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
	concUnlocked(t, c)

	c.Clear()
	assert.Equal(t, 0, c.Len(), "Len() after Clear()")
	assert.Empty(t, concCollect(t, c), "All() after Clear()")
	// Clear leaves one empty bucket: the smallest table.
	assert.Equal(t, Stats{TableBytes: bucketBytes[string, int]()}, c.Stats(), "Stats() after Clear()")
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
		WithShards(2),
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
	concUnlocked(t, c)
	assert.PanicsWithValue(t,
		"shrinkmap: Compute function returned ComputeOp(7); want CancelOp, UpdateOp or DeleteOp",
		func() { c.Compute(8, func(int, bool) (int, ComputeOp) { return 0, 7 }) },
		"Compute(8) returning ComputeOp(7)")
	concUnlocked(t, c)
	assert.Equal(t, want, concCollect(t, c), "All() after panicking Computes")

	assert.PanicsWithValue(t, "body", func() {
		for range c.All() {
			panic("body")
		}
	}, "All() with a panicking body")
	concUnlocked(t, c)

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
		concUnlocked(t, c)
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
		{WithShards(3), "shrinkmap: Shards = 3; want 0 (default) or a power of two >= 1"},
		{WithShards(-4), "shrinkmap: Shards = -4; want 0 (default) or a power of two >= 1"},
		{WithCompactEvery(-time.Second), "shrinkmap: CompactEvery = -1s; want >= 0 (0 disables background compaction)"},
		{WithPolicy(nil), "shrinkmap: Policy is nil; want a non-nil Policy (use Never() to disable automatic compaction)"},
	} {
		assert.PanicsWithValue(t, tc.want, func() { NewConcurrent[int, int](tc.opt) }, "NewConcurrent with an invalid option")
	}
}

func TestConcurrentStripes(t *testing.T) {
	for _, n := range []int{1, 2, 64} {
		c := NewConcurrent[int, int](WithShards(n))
		assert.Len(t, c.stripes, n, "NewConcurrent(WithShards(%d)) counter stripes", n)
		for k := range 1000 {
			c.Set(k, k)
		}
		assert.Equal(t, 1000, c.Len(), "Len() with %d stripes after 1000 Sets", n)
	}
	c := NewConcurrent[int, int]()
	assert.Len(t, c.stripes, DefaultShards(), "NewConcurrent() counter stripes")
	d := DefaultShards()
	assert.True(t, d >= 16 && d&(d-1) == 0 && d >= 4*runtime.GOMAXPROCS(0),
		"DefaultShards() = %d; want a power of two >= max(16, 4*GOMAXPROCS=%d)", d, 4*runtime.GOMAXPROCS(0))

	// Stripes are padded so that no two share a cache line.
	assert.Zero(t, unsafe.Sizeof(cstripe{})%cacheLine, "unsafe.Sizeof(cstripe{}) = %d; want a multiple of %d", unsafe.Sizeof(cstripe{}), cacheLine)
	// A bucket is one 64-byte cache line on 64-bit platforms, whatever K
	// and V: its slots point to entries.
	if unsafe.Sizeof(uintptr(0)) == 8 {
		for name, size := range map[string]uintptr{
			"int,int":          unsafe.Sizeof(cbucket[int, int]{}),
			"string,[200]byte": unsafe.Sizeof(cbucket[string, [200]byte]{}),
			"[3]byte,bool":     unsafe.Sizeof(cbucket[[3]byte, bool]{}),
		} {
			assert.Equal(t, uintptr(64), size, "unsafe.Sizeof(cbucket[%s])", name)
		}
	}
}

func TestConcurrentSizing(t *testing.T) {
	for _, tc := range []struct{ n, buckets int }{
		{-1, 1}, {0, 1}, {1, 1}, {3, 1}, {4, 2}, {7, 2}, {8, 4}, {15, 4}, {16, 8}, {960, 256}, {961, 512},
	} {
		assert.Equal(t, tc.buckets, bucketsFor(tc.n), "bucketsFor(%d)", tc.n)
		if tc.n > 0 {
			b := bucketsFor(tc.n)
			assert.True(t, tc.n <= growAt(b) && (b == 1 || tc.n > growAt(b/2)),
				"bucketsFor(%d) = %d; want the fewest buckets whose growAt (%d) holds it", tc.n, b, growAt(b))
		}
	}
	assert.Equal(t, int64(DefaultStep), strideFor(DefaultStep), "strideFor(DefaultStep)")
	assert.Equal(t, int64(1), strideFor(1), "strideFor(1)")
	assert.Equal(t, int64(math.MaxInt64), strideFor(0), "strideFor(0): all at once")

	c := NewConcurrent[int, int](WithCapacity(100))
	assert.Len(t, c.table.Load().buckets, bucketsFor(100), "buckets of NewConcurrent(WithCapacity(100))")
	assert.Equal(t, 32, bucketsFor(100), "bucketsFor(100)")
}

func TestConcurrentStats(t *testing.T) {
	c := NewConcurrent[int, int](WithShards(4))
	for k := range 1000 {
		c.Set(k, k)
	}
	for k := range 500 {
		c.Delete(k)
	}
	s := c.Stats()
	assert.Equal(t, 500, s.Len, "Stats().Len after 1000 Sets and 500 Deletes")
	assert.Equal(t, 1000, s.Peak, "Stats().Peak (the sum of the counter stripes' peaks) after 1000 Sets and 500 Deletes")
	assert.Zero(t, s.Shrinks, "Stats().Shrinks before any compaction")
	assert.Positive(t, s.WastedBytes, "Stats().WastedBytes after deleting half")

	c.Shrink()
	s = c.Stats()
	assert.Equal(t, Stats{Len: 500, Peak: 500, Shrinks: 1, TableBytes: s.TableBytes}, s, "Stats() after Shrink()")
	tab := c.table.Load()
	assert.Len(t, tab.buckets, bucketsFor(500), "buckets after Shrink() of 500 entries")
	want := (int64(len(tab.buckets))+tab.overflow.Load())*bucketBytes[int, int]() + 500*entryBytes[int, int]()
	assert.Equal(t, want, s.TableBytes, "Stats().TableBytes against the buckets and entries")
	assert.Equal(t, 500, c.Len(), "Len() after Shrink()")
}

// TestConcurrentDisjoint runs goroutines on disjoint key ranges, each
// checking every result against its own model map, through bursts of
// growth and drain that make the table compact and migrate.
//
// The "forced" runs start from one bucket, compact whenever a table of
// fewer buckets would hold the live entries, and move one bucket per
// write, so that the table is nearly always resizing, one way or the
// other.
func TestConcurrentDisjoint(t *testing.T) {
	eager := []Option{WithShards(2), WithPolicy(concEager), WithIncremental(7)}
	forced := []Option{WithShards(2), WithPolicy(concAlways), WithIncremental(1)}
	t.Run("int", func(t *testing.T) { concDisjoint(t, func(i int) int { return i }, 8, !concSmall(), eager...) })
	t.Run("string", func(t *testing.T) { concDisjoint(t, strconv.Itoa, 8, !concSmall(), eager...) })
	t.Run("int/forced", func(t *testing.T) { concDisjoint(t, func(i int) int { return i }, 2, true, forced...) })
	t.Run("string/forced", func(t *testing.T) { concDisjoint(t, strconv.Itoa, 2, true, forced...) })
}

// concAlways is a policy that compacts whenever the map may: whenever a
// table of fewer buckets would hold the live entries.
var concAlways = PolicyFunc(func(Stats) bool { return true })

// concDisjoint runs the disjoint-keys test with the given workers on a map
// made with opts and, if mustShrink, checks that it compacted
// incrementally. (A map compacts once its Len falls to about half of what
// its table holds. At the small sizes of -short and -race, 8 workers
// drift out of phase, each draining while others fill, so that the total
// seldom falls that far; 2 workers' drains halve it.)
func concDisjoint[K comparable](t *testing.T, key func(int) K, workers int, mustShrink bool, opts ...Option) {
	// With 8 workers at 90% of span, the map peaks near 58000 entries.
	span := concSize(8000, 1500)
	ops := concSize(100000, 12000)
	var migrations atomic.Int64
	c := NewConcurrent[K, int](append(opts,
		WithShrinkHook(func(e ShrinkEvent) {
			if e.Incremental {
				migrations.Add(1)
			}
		}))...)
	models := make([]map[K]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		models[w] = make(map[K]int)
		goWait(&wg, func() {
			concWorker(t, c, models[w], w*span, span, ops, key)
		})
	}
	wg.Wait()

	want := make(map[K]int)
	for _, m := range models {
		maps.Copy(want, m)
	}
	assert.Equal(t, len(want), c.Len(), "Len() after the workers finished")
	assert.Equal(t, want, concCollect(t, c), "All() after the workers finished")
	s := c.Stats()
	assert.Equal(t, len(want), s.Len, "Stats().Len after the workers finished")
	if mustShrink {
		assert.Positive(t, s.Shrinks, "Stats().Shrinks after bursts of growth and drain")
		assert.Positive(t, migrations.Load(), "incremental compactions seen by the hook, of %d", s.Shrinks)
	}
	concUnlocked(t, c)
}

// concWorker does ops random operations on the keys [lo, lo+span), growing
// the live set to 90% of span and draining it to 10% in turn, and checks
// each result against model. It fails if some kind of operation never ran.
func concWorker[K comparable](t *testing.T, c *Concurrent[K, int], model map[K]int, lo, span, ops int, key func(int) K) {
	rng := rand.New(rand.NewPCG(uint64(lo), 1))
	grow := true
	// ran counts the operations by op/10: Get (0-1), GetAndDelete,
	// Compute deleting, Delete (4-5), GetOrSet, Swap, Compute
	// incrementing, Set.
	var ran [10]int
	defer func() {
		for b, n := range ran {
			if n == 0 && !t.Failed() {
				t.Errorf("worker at %d: no operation %d-%d in %d", lo, 10*b, 10*b+9, ops)
			}
		}
	}()
	for i := range ops {
		if len(model) > span*9/10 {
			grow = false
		} else if len(model) < span/10 {
			grow = true
		}
		n := lo + rng.IntN(span)
		k := key(n)
		old, had := model[k]
		// Writes that add keys are ops 60-99, deletes 20-59: a phase
		// draws 95% of its ops from its own half.
		var op int
		switch r := rng.IntN(100); {
		case r < 5:
			op = rng.IntN(100)
		case grow:
			op = 60 + rng.IntN(40)
		default:
			op = rng.IntN(60)
		}
		ran[op/10]++
		ok := true
		switch {
		case op < 20:
			v, found := c.Get(k)
			ok = concSame(t, v, found, old, had, "op %d: Get(%v)", i, k)
		case op < 30:
			v, found := c.GetAndDelete(k)
			ok = concSame(t, v, found, old, had, "op %d: GetAndDelete(%v)", i, k)
			delete(model, k)
		case op < 40:
			v, loaded := c.Compute(k, func(o int, l bool) (int, ComputeOp) {
				if l {
					return 0, DeleteOp
				}
				return 0, CancelOp
			})
			ok = concSame(t, v, loaded, 0, false, "op %d: Compute(%v) deleting", i, k)
			delete(model, k)
		case op < 60:
			c.Delete(k)
			delete(model, k)
		case op < 70:
			v, loaded := c.GetOrSet(k, i)
			if !had {
				old = i
				model[k] = i
			}
			ok = concSame(t, v, loaded, old, had, "op %d: GetOrSet(%v, %d)", i, k, i)
		case op < 80:
			v, loaded := c.Swap(k, i)
			model[k] = i
			ok = concSame(t, v, loaded, old, had, "op %d: Swap(%v, %d)", i, k, i)
		case op < 90:
			v, found := c.Compute(k, func(o int, l bool) (int, ComputeOp) { return o + 1, UpdateOp })
			model[k] = old + 1
			ok = concSame(t, v, found, old+1, true, "op %d: Compute(%v, increment)", i, k)
		default:
			c.Set(k, i)
			model[k] = i
		}
		if !ok {
			return
		}
	}
}

// concSame reports whether a call returned (want, wantOK), failing the
// test with the call's description if not. It is cheaper than assert.Equal
// when it passes, which keeps the model tests fast under the race detector.
func concSame(t *testing.T, got int, gotOK bool, want int, wantOK bool, format string, args ...any) bool {
	if got == want && gotOK == wantOK {
		return true
	}
	t.Errorf("%s = %d, %v; want %d, %v", fmt.Sprintf(format, args...), got, gotOK, want, wantOK)
	return false
}

// TestConcurrentGetOrSetContention races goroutines on the same keys:
// exactly one GetOrSet per key stores its value, and every caller sees that
// value.
func TestConcurrentGetOrSetContention(t *testing.T) {
	const goroutines = 8
	keys := concSize(2000, 500)
	c := NewConcurrent[int, int](WithShards(2))
	wins := make([][]int, goroutines)
	got := make([][]int, goroutines)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wins[g] = make([]int, keys)
		got[g] = make([]int, keys)
		goWait(&wg, func() {
			<-start
			for k := range keys {
				actual, loaded := c.GetOrSet(k, g)
				got[g][k] = actual
				if !loaded {
					wins[g][k]++
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for k := range keys {
		winner, n := -1, 0
		for g := range goroutines {
			if wins[g][k] > 0 {
				winner = g
				n += wins[g][k]
			}
		}
		require.Equal(t, 1, n, "GetOrSet(%d, g) returned loaded=false to %d goroutines; want exactly 1", k, n)
		for g := range goroutines {
			require.Equal(t, winner, got[g][k], "GetOrSet(%d, %d) returned actual=%d; want the winner's %d", k, g, got[g][k], winner)
		}
		v, _ := c.Get(k)
		require.Equal(t, winner, v, "Get(%d) after the race; want the winner's value", k)
	}
}

// TestConcurrentAtomicOps races Compute, Swap and GetAndDelete on a few
// keys: every increment counts, and every value swapped in or deleted is
// seen exactly once.
func TestConcurrentAtomicOps(t *testing.T) {
	const goroutines = 8
	n := concSize(5000, 1000)
	c := NewConcurrent[string, int](WithShards(4))
	var deleted, swapped [goroutines]int
	var wg sync.WaitGroup
	for g := range goroutines {
		goWait(&wg, func() {
			for i := range n {
				c.Compute("counter", func(old int, _ bool) (int, ComputeOp) { return old + 1, UpdateOp })
				c.Set("box", 1)
				if v, ok := c.GetAndDelete("box"); ok {
					deleted[g] += v
				}
				prev, _ := c.Swap("token", g*n+i+1)
				swapped[g] += min(prev, 1)
			}
		})
	}
	wg.Wait()
	v, ok := c.Get("counter")
	require.True(t, ok, "Get(counter) after the increments: ok")
	require.Equal(t, goroutines*n, v, "Get(counter) after %d goroutines each Compute-incremented it %d times", goroutines, n)
	total := 0
	for _, d := range deleted {
		total += d
	}
	assert.LessOrEqual(t, total, goroutines*n, "sum of values GetAndDelete(box) took; want at most one per Set")
	assert.Positive(t, total, "sum of values GetAndDelete(box) took")
	swaps := 0
	for _, s := range swapped {
		swaps += s
	}
	// Every Swap but the very first replaced a value stored by another Swap.
	assert.Equal(t, goroutines*n-1, swaps, "Swap(token) calls that found a previous value")
}

// TestConcurrentIterateWhileWriting iterates while writers churn other keys
// through compactions, with background compaction on, and checks All's
// promise: keys present throughout are yielded exactly once, with their
// values, and no key is yielded twice.
func TestConcurrentIterateWhileWriting(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	stable := concSize(2000, 500)
	churn := concSize(40000, 8000)
	const writers = 3
	var shrinks atomic.Int64
	c := NewConcurrent[int, int](
		WithShards(2),
		WithPolicy(concEager),
		WithCompactEvery(time.Millisecond),
		WithShrinkHook(func(ShrinkEvent) { shrinks.Add(1) }))
	defer c.Close()
	for k := range stable {
		c.Set(k, k)
	}

	var stop atomic.Bool
	var bursts atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		goWait(&wg, func() {
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for burst := 0; !stop.Load() || burst < 2; burst++ {
				for range churn {
					k := stable + rng.IntN(churn)
					c.Set(k, -k)
				}
				for range churn * 2 {
					c.Delete(stable + rng.IntN(churn))
				}
				bursts.Add(1)
			}
		})
	}

	rng := rand.New(rand.NewPCG(9, 9))
	var bodySets, bodyDeletes int
	for iter := 0; iter < 5 || bursts.Load() < writers; iter++ {
		seen := make(map[int]bool)
		for k, v := range c.All() {
			require.False(t, seen[k], "iteration %d: All() yielded key %d twice", iter, k)
			seen[k] = true
			if k < stable {
				require.Equal(t, k, v, "iteration %d: All() yielded %d=%d; want the stable value", iter, k, v)
			} else {
				require.Equal(t, -k, v, "iteration %d: All() yielded %d=%d; want a value a writer set", iter, k, v)
			}
			// The body writes too: All holds no lock while it runs.
			k2 := stable + rng.IntN(churn)
			if rng.IntN(2) == 0 {
				c.Set(k2, -k2)
				bodySets++
			} else {
				c.Delete(k2)
				bodyDeletes++
			}
		}
		for k := range stable {
			require.True(t, seen[k], "iteration %d: All() missed key %d, present throughout", iter, k)
		}
	}
	stop.Store(true)
	wg.Wait()
	assert.Positive(t, shrinks.Load(), "compactions while iterating")
	assert.Positive(t, bodySets, "Sets in the loop bodies")
	assert.Positive(t, bodyDeletes, "Deletes in the loop bodies")
	c.Close() // its goroutine may be moving a bucket
	concUnlocked(t, c)
}

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
	held := concHeap() - base
	runtime.KeepAlive(c)

	require.Equal(t, n/100, c.Len(), "Len() after the drain")
	for k := 0; k < n; k += 100 {
		v, ok := c.Get(k)
		require.True(t, ok && v[0] == byte(k), "Get(%d) = %v, %v after the drain; want the value set", k, v[0], ok)
	}
	t.Logf("n=%d: heap held after the drain %d B, fresh native map of the %d live entries %d B (%.2fx); %+v",
		n, held, n/100, freshBytes, float64(held)/float64(freshBytes), c.Stats())
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
	array := int64(bucketsFor(n)) * bucketBytes[int, [128]byte]()
	require.GreaterOrEqual(t, emptied, array, "heap held by an emptied map with the Never policy = %d B; want at least its %d B bucket array", emptied, array)

	c.Shrink()
	after := concHeap() - base
	t.Logf("n=%d, Never policy: emptied map holds %d B, after Shrink() %d B", n, emptied, after)
	assert.Less(t, after, emptied/50, "heap held after Shrink() of an emptied map = %d B; want < 2%% of the %d B before", after, emptied)
	assert.Equal(t, bucketBytes[int, [128]byte](), c.Stats().TableBytes, "Stats().TableBytes after Shrink() of an emptied map: one bucket")

	concFill(c, n, func(int) bool { return false })
	full := concHeap() - base
	c.Clear()
	after = concHeap() - base
	t.Logf("full map holds %d B, after Clear() %d B", full, after)
	assert.Less(t, after, full/50, "heap held after Clear() of a full map = %d B; want < 2%% of the %d B before", after, full)
	assert.Equal(t, bucketBytes[int, [128]byte](), c.Stats().TableBytes, "Stats().TableBytes after Clear(): one bucket")
	runtime.KeepAlive(c)
}

// concMigrating fills a one-shard map and deletes until an incremental
// compaction is in progress.
func concMigrating(t *testing.T, opts ...Option) *Concurrent[int, int] {
	t.Helper()
	c := NewConcurrent[int, int](append([]Option{WithShards(1), WithPolicy(concEager)}, opts...)...)
	n := 2 * DefaultMinIncremental
	for k := range n {
		c.Set(k, k)
	}
	migrating := false
	for k := 0; k < n && !migrating; k++ {
		c.Delete(k)
		// Stats().Migrating is also true for a growth that the fill
		// started; only a compaction counts here.
		tab := c.table.Load()
		migrating = c.Stats().Migrating && tab.next.Load() != nil && tab.resize.kind == compactKind
	}
	require.True(t, migrating, "Stats().Migrating (a compaction) while draining %d entries with %v", n, concEager)
	return c
}

// TestConcurrentBackgroundCompaction checks that WithCompactEvery finishes
// a migration on an idle map, and applies the policy to an idle map.
func TestConcurrentBackgroundCompaction(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	c := concMigrating(t, WithCompactEvery(time.Millisecond))
	want := c.Len()
	assert.Eventually(t, func() bool { return !c.Stats().Migrating }, 20*time.Second, time.Millisecond,
		"Stats().Migrating of an idle map with WithCompactEvery(1ms); want the migration finished")
	assert.Equal(t, Stats{Len: want, Peak: want, Shrinks: 1, TableBytes: c.Stats().TableBytes}, c.Stats(),
		"Stats() after the background goroutine finished the migration")
	c.Close()

	var allow atomic.Bool
	c = NewConcurrent[int, int](
		WithShards(2),
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
		require.True(t, concCompactorRunning(), "no compactLoop goroutine with WithCompactEvery and a migration running")
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
