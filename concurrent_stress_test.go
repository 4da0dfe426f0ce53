package shrinkmap

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// Tests of Concurrent under many goroutines: disjoint workers checked
// against their own models, races on shared keys, and iteration while
// other goroutines write.

// TestConcurrentDisjoint runs goroutines on disjoint key ranges, each
// checking every result against its own model map, through bursts of
// growth and drain that make the table compact and migrate.
//
// The "forced" runs start from one bucket, compact whenever a table of
// fewer buckets would hold the live entries, and move one bucket per
// write, so that the table is nearly always resizing, one way or the
// other; one worker writes, so that its drains surely compact.
func TestConcurrentDisjoint(t *testing.T) {
	eager := []Option{WithCounterStripes(2), WithPolicy(concEager), WithIncremental(7)}
	forced := []Option{WithCounterStripes(2), WithPolicy(concAlways), WithIncremental(1)}
	t.Run("int", func(t *testing.T) { concDisjoint(t, func(i int) int { return i }, 8, !concSmall(), eager...) })
	t.Run("string", func(t *testing.T) { concDisjoint(t, strconv.Itoa, 8, !concSmall(), eager...) })
	t.Run("int/forced", func(t *testing.T) { concDisjoint(t, func(i int) int { return i }, 1, true, forced...) })
	t.Run("string/forced", func(t *testing.T) { concDisjoint(t, strconv.Itoa, 1, true, forced...) })
}

// concAlways is a policy that compacts whenever the map may: whenever a
// table of fewer buckets would hold the live entries.
var concAlways = PolicyFunc(func(Stats) bool { return true })

// concDisjoint runs the disjoint-keys test with the given workers on a map
// made with opts and, if mustShrink, checks that it compacted
// incrementally. (A map compacts once its Len falls to about half of what
// its table holds. At the small sizes of -short and -race, several workers
// drift out of phase, each draining while others fill, so that the total
// seldom falls that far (with 2, about one run in three never does); one
// worker's drains take it to a tenth, while the checker reads and verifies
// the map on another goroutine.)
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
	var wg, checker sync.WaitGroup
	var stop atomic.Bool
	goWait(&checker, func() { concVerifyLive(t, c, &stop) })
	for w := range workers {
		models[w] = make(map[K]int)
		goWait(&wg, func() {
			concWorker(t, c, models[w], w*span, span, ops, key)
		})
	}
	wg.Wait()
	stop.Store(true)
	checker.Wait()

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
	concQuiet(t, c)
}

// concWorker does ops random operations on the keys [lo, lo+span), growing
// the live set to 90% of span and draining it to 10% in turn, and checks
// each result against model.
func concWorker[K comparable](t *testing.T, c *Concurrent[K, int], model map[K]int, lo, span, ops int, key func(int) K) {
	rng := rand.New(rand.NewPCG(uint64(lo), 1))
	grow := true
	for i := range ops {
		if len(model) > span*9/10 {
			grow = false
		} else if len(model) < span/10 {
			grow = true
		}
		k := key(lo + rng.IntN(span))
		if !concWorkerOp(t, c, model, i, concPick(rng, grow), k) {
			return
		}
	}
}

// concPick returns a random op for concWorkerOp. Writes that add keys are
// ops 60-99, deletes 20-59: a growing or draining phase draws 95% of its
// ops from its own half.
func concPick(rng *rand.Rand, grow bool) int {
	switch r := rng.IntN(100); {
	case r < 5:
		return rng.IntN(100)
	case grow:
		return 60 + rng.IntN(40)
	default:
		return rng.IntN(60)
	}
}

// concWorkerOp applies op number i, which op says, to key k on c and
// model, and reports whether c's result matched model's, failing t if not.
func concWorkerOp[K comparable](t *testing.T, c *Concurrent[K, int], model map[K]int, i, op int, k K) (ok bool) {
	old, had := model[k]
	ok = true
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
	return ok
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
	c := NewConcurrent[int, int](WithCounterStripes(2))
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
	c := NewConcurrent[string, int](WithCounterStripes(4))
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
		WithCounterStripes(2),
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
		goWait(&wg, func() { concBursts(c, uint64(w), stable, churn, &bursts, &stop) })
	}

	rng := rand.New(rand.NewPCG(9, 9))
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
			} else {
				c.Delete(k2)
			}
		}
		for k := range stable {
			require.True(t, seen[k], "iteration %d: All() missed key %d, present throughout", iter, k)
		}
	}
	stop.Store(true)
	wg.Wait()
	assert.Positive(t, shrinks.Load(), "compactions while iterating")
	c.Close() // its goroutine may be moving a bucket
	concQuiet(t, c)
}

// concBursts sets random keys of [lo, lo+span) to their negatives, span
// times, then deletes random keys of that range, twice as many times, in
// bursts, counting them in bursts, until stop and at least twice.
func concBursts(c *Concurrent[int, int], seed uint64, lo, span int, bursts *atomic.Int64, stop *atomic.Bool) {
	rng := rand.New(rand.NewPCG(seed, 2))
	for burst := 0; !stop.Load() || burst < 2; burst++ {
		for range span {
			k := lo + rng.IntN(span)
			c.Set(k, -k)
		}
		for range span * 2 {
			c.Delete(lo + rng.IntN(span))
		}
		bursts.Add(1)
	}
}
