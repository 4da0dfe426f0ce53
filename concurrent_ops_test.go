package shrinkmap_test

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/require"
)

func TestConcurrentCompareAndSwapDelete(t *testing.T) {
	c := shrinkmap.NewConcurrent[string, int]()
	cases := []struct {
		name        string
		setup       func()
		op          func() bool
		want        bool
		wantV       int
		wantPresent bool
	}{
		{"CAS absent", func() {}, func() bool { return c.CompareAndSwap("k", 0, 1) }, false, 0, false},
		{"CAS wrong old", func() { c.Set("k", 5) }, func() bool { return c.CompareAndSwap("k", 4, 1) }, false, 5, true},
		{"CAS right old", func() { c.Set("k", 5) }, func() bool { return c.CompareAndSwap("k", 5, 6) }, true, 6, true},
		{"CAD absent", func() {}, func() bool { return c.CompareAndDelete("k", 0) }, false, 0, false},
		{"CAD wrong old", func() { c.Set("k", 5) }, func() bool { return c.CompareAndDelete("k", 4) }, false, 5, true},
		{"CAD right old", func() { c.Set("k", 5) }, func() bool { return c.CompareAndDelete("k", 5) }, true, 0, false},
	}
	for _, tc := range cases {
		c.Clear()
		tc.setup()
		require.Equalf(t, tc.want, tc.op(), "%s: result", tc.name)
		v, ok := c.Get("k")
		require.Equalf(t, []any{tc.wantV, tc.wantPresent}, []any{v, ok}, "%s: Get after", tc.name)
	}
}

func TestConcurrentCompareAndSwapIncrementsLoseNothing(t *testing.T) {
	c := shrinkmap.NewConcurrent[int, int]()
	const goroutines, each, keys = 4, 20_000, 8
	var wg sync.WaitGroup
	var retries atomic.Int64
	start := make(chan struct{})
	for g := range goroutines {
		goWait(&wg, func() {
			<-start
			for i := range each {
				k := (g + i) % keys
				for {
					old, _ := c.GetOrSet(k, 0)
					if c.CompareAndSwap(k, old, old+1) {
						break
					}
					retries.Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	total := 0
	for _, v := range c.All() {
		total += v
	}
	require.Equal(t, goroutines*each, total, "sum of CAS increments")
	t.Logf("%d CAS retries (a lost race each)", retries.Load())
}

func TestConcurrentCompareAndSwapUncomparable(t *testing.T) {
	// A value type without == panics with its name, leaves the map as it
	// was and holds no lock: the next operations on the key proceed.
	c := shrinkmap.NewConcurrent[string, any]()
	c.Set("k", []int{1})
	for _, op := range []struct {
		name string
		f    func()
	}{
		{"CompareAndSwap", func() { c.CompareAndSwap("k", []int{1}, 2) }},
		{"CompareAndDelete", func() { c.CompareAndDelete("k", []int{1}) }},
	} {
		require.PanicsWithValuef(t, "shrinkmap: Concurrent."+op.name+": value of type []int is not comparable", op.f, "%s of a []int", op.name)
		v, ok := c.Get("k")
		require.Truef(t, ok, "%s: Get after the panic", op.name)
		require.Equalf(t, []int{1}, v, "%s: value after the panic", op.name)
		c.Set("k", []int{1}) // would deadlock if the bucket were left locked
	}
	// Comparable dynamic types in an interface V work, as in sync.Map.
	c.Set("n", 1)
	require.True(t, c.CompareAndSwap("n", 1, "one"))
	require.False(t, c.CompareAndSwap("n", 1, 2), "CAS after the value changed type")

	s := shrinkmap.NewConcurrent[int, []byte]()
	s.Set(1, []byte("x"))
	require.PanicsWithValue(t, "shrinkmap: Concurrent.CompareAndSwap: value of type []uint8 is not comparable",
		func() { s.CompareAndSwap(1, nil, nil) })
	require.Equal(t, 1, s.Len())
}

func TestConcurrentGetOrComputeOncePerKey(t *testing.T) {
	c := shrinkmap.NewConcurrent[int, string]()
	const goroutines, keys = 8, 500
	calls := make([]atomic.Int32, keys)
	var wg sync.WaitGroup
	var loadedN atomic.Int64
	for range goroutines {
		goWait(&wg, func() {
			for k := range keys {
				v, loaded := c.GetOrCompute(k, func() string {
					calls[k].Add(1)
					return strconv.Itoa(k)
				})
				if v != strconv.Itoa(k) {
					t.Errorf("GetOrCompute(%d) = %q; want %q", k, v, strconv.Itoa(k))
				}
				if loaded {
					loadedN.Add(1)
				}
			}
		})
	}
	wg.Wait()
	for k := range keys {
		require.EqualValuesf(t, 1, calls[k].Load(), "calls of f for key %d", k)
	}
	require.EqualValues(t, (goroutines-1)*keys, loadedN.Load(), "GetOrCompute calls that found the key")
	require.Panics(t, func() { c.GetOrCompute(-1, func() string { panic("f") }) })
	_, ok := c.Get(-1)
	require.False(t, ok, "a key whose f panicked is absent")
	c.Set(-1, "x") // the bucket is not left locked
}

func TestDeleteFuncGivesTableBack(t *testing.T) {
	// DeleteFunc of 99% on either map leaves the 1% and a table near a
	// fresh one's.
	const n = 100_000
	keep := func(k, _ int) bool { return k%100 != 0 }
	t.Run("ShrinkMap", func(t *testing.T) {
		m := shrinkmap.New[int, int]()
		for k := range n {
			m.Set(k, k)
		}
		m.DeleteFunc(keep)
		s := m.Stats()
		require.Equal(t, n/100, s.Len)
		require.LessOrEqualf(t, s.TableBytes, 2*tableOfInts(n/100), "Stats() = %+v", s)
	})
	for _, procs := range []int{0, 1} {
		t.Run(fmt.Sprintf("Concurrent/GOMAXPROCS=%d", procs), func(t *testing.T) {
			if procs > 0 {
				// The goroutine that allocates a table of 1 MiB or more
				// gets no processor during DeleteFunc.
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			}
			c := concurrentOfInts(n)
			c.DeleteFunc(keep)
			// No write after DeleteFunc: its own deletes finish what they
			// start.
			s := c.Stats()
			require.Equal(t, n/100, s.Len)
			require.Falsef(t, s.Migrating, "Stats() = %+v after DeleteFunc of 99%%; want no resize in progress", s)
			fresh := concurrentOfInts(n / 100)
			require.LessOrEqualf(t, s.TableBytes, 2*fresh.Stats().TableBytes, "Stats() = %+v after DeleteFunc of 99%%; want at most twice a fresh map's %+v", s, fresh.Stats())
			for k := range n {
				_, ok := c.Get(k)
				require.Equalf(t, k%100 == 0, ok, "Get(%d) after DeleteFunc", k)
			}
			require.Positivef(t, s.Shrinks, "Stats() = %+v after DeleteFunc of 99%%; want compactions", s)
		})
	}
}

// TestDeleteFuncAfterRefillsGivesTableBack refills each map right after
// each of five sweeps of 99%, by DeleteFunc or by Delete in a loop over
// All (as sync.Map users sweep with Range), as a cache whose expired
// entries come back at once does: the refills hold the table between the
// sweeps, but a sweep's end compacts whatever the refills (see
// Stats.SweepEnded), so that after the last sweep the map holds a table
// near a fresh one's.
func TestDeleteFuncAfterRefillsGivesTableBack(t *testing.T) {
	const n, rounds = 20_000, 5
	expired := func(k, _ int) bool { return k%100 != 0 }
	fresh := concurrentOfInts(n / 100)
	sweeps := map[string]func(c *shrinkmap.Concurrent[int, int]){
		"DeleteFunc": func(c *shrinkmap.Concurrent[int, int]) { c.DeleteFunc(expired) },
		"a loop over All": func(c *shrinkmap.Concurrent[int, int]) {
			for k, v := range c.All() {
				if expired(k, v) {
					c.Delete(k)
				}
			}
		},
	}
	for name, sweep := range sweeps {
		c := shrinkmap.NewConcurrent[int, int]()
		refills := 0
		for range rounds {
			for k := range n {
				c.Set(k, k)
			}
			refills = max(refills, c.Stats().Refills)
			sweep(c)
			refills = max(refills, c.Stats().Refills)
		}
		s := c.Stats()
		require.Equal(t, n/100, s.Len, name)
		require.Falsef(t, s.Migrating, "Concurrent swept by %s: Stats() = %+v; want no resize in progress", name, s)
		require.LessOrEqualf(t, s.TableBytes, 2*fresh.Stats().TableBytes, "Concurrent swept by %s: Stats() = %+v after %d refills and sweeps; want at most twice a fresh map's %+v", name, s, rounds, fresh.Stats())
		// A refill counts only if it comes within 100 ms of the compaction
		// it undoes, which the race detector's slowdown can miss.
		if refills == 0 && !shrinkmap.RaceEnabled {
			t.Errorf("Concurrent swept by %s: no refill seen in %d rounds, so the test did not show that a sweep's end compacts whatever the refills", name, rounds)
		}
	}
	m := shrinkmap.New[int, int]()
	for range rounds {
		for k := range n {
			m.Set(k, k)
		}
		m.DeleteFunc(expired)
	}
	sm := m.Stats()
	require.Equal(t, n/100, sm.Len)
	require.LessOrEqualf(t, sm.TableBytes, 2*tableOfInts(n/100), "ShrinkMap Stats() = %+v after %d refills and sweeps", sm, rounds)
}

// concurrentOfInts returns a Concurrent holding keys [0, n) mapped to
// themselves.
func concurrentOfInts(n int) *shrinkmap.Concurrent[int, int] {
	c := shrinkmap.NewConcurrent[int, int]()
	for k := range n {
		c.Set(k, k)
	}
	return c
}
