package shrinkmap

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/shrinkmap/shrinkmap/internal/table"
	"github.com/stretchr/testify/require"
)

// Tests that a drain leaves the map compacted when its last Delete
// returns, with nothing after it: a table allocated off the write path
// that its goroutine has no processor to allocate, a check that comes due
// during a resize, and a compaction still moving buckets when the deletes
// stop must not leave the map holding a large table.

// requireDrained fails t unless c, drained to its Len, has no resize in
// progress and a table no larger than twice one sized for its Len: the
// policy checks come every Len/8 deletes, so the last one saw at most 8/7
// of the final Len.
func requireDrained[V any](t *testing.T, c *Concurrent[int, V], what string) {
	t.Helper()
	u := c.table.Usage()
	require.Equalf(t, table.None, u.Resize, "%s: Usage() = %+v; want no resize in progress", what, u)
	require.LessOrEqualf(t, u.Buckets, 2*c.table.BucketsFor(u.Len), "%s: Usage() = %+v; want at most twice the %d buckets of a table for Len",
		what, u, c.table.BucketsFor(u.Len))
	newConcVerifier(c).quiet(t, "%s", what)
}

func TestConcurrentDrainOnOneProcessor(t *testing.T) {
	// With GOMAXPROCS=1, the goroutine that allocates a table of 1 MiB or
	// more gets no processor while one goroutine drains: the drain's own
	// writes allocate it, and its compactions end within its deletes.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 200_000
	for _, keep := range []int{n / 5, n / 100, 20, 0} {
		t.Run(fmt.Sprintf("n=%d/keep=%d", n, keep), func(t *testing.T) {
			// A compaction into a table of 1 MiB or more allocates it on a
			// goroutine of its own.
			large := 0
			var c *Concurrent[int, int]
			c = NewConcurrent[int, int](WithShrinkHook(func(ShrinkEvent) {
				if int64(c.table.Usage().Buckets)*table.BucketBytes[int, int]() >= table.AsyncTableBytes {
					large++
				}
			}))
			for k := range n {
				c.Set(k, k)
			}
			for k := keep; k < n; k++ {
				c.Delete(k)
			}
			require.Equal(t, keep, c.Len(), "Len() after the drain")
			requireDrained(t, c, "after the drain's last Delete")
			if keep == n/5 {
				require.Positive(t, large, "compactions into a table of 1 MiB or more; want some")
			}
		})
	}
}

func TestConcurrentCheckDuringResizeRedone(t *testing.T) {
	// Deletes made while a growth moves one bucket a write make checks due
	// that wait for it; the write that publishes it makes them.
	checks := 0
	c := NewConcurrent[int, int](WithCounterStripes(1), WithIncremental(1),
		WithPolicy(PolicyFunc(func(Stats) bool { checks++; return false })))
	k := 0
	for ; c.table.Usage().Resize != table.Grow || c.table.Usage().Left < 1000; k++ {
		c.Set(k, k)
	}
	// Enough deletes that the grown table is larger than the entries need,
	// for which the policy is asked.
	for d := range 600 {
		c.Delete(d)
	}
	require.Zero(t, checks, "policy checks during the growth")
	require.Equal(t, table.Grow, c.table.Usage().Resize, "the resize after 600 Deletes")
	for c.table.Usage().Resize != table.None {
		c.Set(0, 0) // moves a bucket, and makes no check due
	}
	require.Positive(t, checks, "policy checks once the growth was published; want the ones that came due during it")
	newConcVerifier(c).quiet(t, "after the growth")
}

func TestConcurrentLostCompactionLeavesPolicyState(t *testing.T) {
	// A compaction that the policy agrees to but another resize beats
	// leaves the policy's history as the check found it.
	var c *Concurrent[int, int]
	steal := false
	c = NewConcurrent[int, int](WithCounterStripes(1), WithPolicy(PolicyFunc(func(Stats) bool {
		if steal {
			// Another goroutine's resize starts between the check's
			// reading of the table and its compaction.
			u := c.table.Usage()
			require.True(t, c.table.StartResize(table.Resize{Kind: table.Grow, Buckets: 2 * u.Buckets}, u.Gen), "StartResize of a growth")
		}
		return steal
	})))
	for k := range 1000 {
		c.Set(k, k)
	}
	c.Shrink() // no growth in progress
	for k := range 900 {
		c.Delete(k)
	}
	before := c.policy().hist
	steal = true
	for k := 900; c.table.Usage().Resize == table.None; k++ {
		c.Delete(k)
	}
	steal = false
	require.Equal(t, table.Grow, c.table.Usage().Resize, "the resize after the policy said yes")
	require.Equal(t, c.table.Compactions(), c.policy().awaited, "compactions the policy awaits after losing to another resize")
	require.Equal(t, before.drainedFrom, c.policy().hist.drainedFrom, "DrainedFrom after a compaction that did not start")
	require.Equal(t, before.compactedAt, c.policy().hist.compactedAt, "the time of the last compaction after one that did not start")
	newConcVerifier(c).quiet(t, "after the lost compaction")
}

func TestConcurrentDrainStopsAnywhere(t *testing.T) {
	// A drain of a map whose table is at most 16 steps of buckets may stop
	// after any Delete, also the one whose check starts a compaction: that
	// compaction is moved whole.
	const n = 3000 // a table of 1024 buckets, 16 steps at DefaultStep
	compacted := 0
	for keep := 0; keep < n; keep += 7 {
		c := NewConcurrent[int, int]()
		for k := range n {
			c.Set(k, k)
		}
		for k := keep; k < n; k++ {
			c.Delete(k)
		}
		if u := c.table.Usage(); u.Resize != table.None {
			t.Fatalf("drain of %d entries to %d: Usage() = %+v; want no resize in progress", n, keep, u)
		}
		if c.table.Compactions() > 0 {
			compacted++
		}
	}
	require.Positive(t, compacted, "drains that compacted")
}

// TestConcurrentClearsRacingSets runs two goroutines that each, 100 times,
// either Set 1,000 keys or call Clear 1,000 times, and then checks that Len
// counts exactly the entries All yields and Has finds: a Clear's next table
// allocated by one goroutine must not be replaced by another's after
// buckets have moved into it (entries lost, still counted).
func TestConcurrentClearsRacingSets(t *testing.T) {
	rounds := 12
	if raceEnabled {
		rounds = 4
	}
	sets, clears := 0, 0
	for round := range rounds {
		var c Concurrent[string, int]
		var mix [2]int
		var wg sync.WaitGroup
		for g := range 2 {
			goWait(&wg, func() { setOrClear(&c, rand.New(rand.NewPCG(uint64(round), uint64(g))), &mix[g]) })
		}
		wg.Wait()
		sets += mix[0] + mix[1]
		clears += 200 - mix[0] - mix[1]
		yielded, found := 0, 0
		for range c.All() {
			yielded++
		}
		for j := range 1000 {
			if c.Has(strconv.Itoa(j)) {
				found++
			}
		}
		require.Equalf(t, yielded, c.Len(), "round %d: Len counts entries All does not yield (Has finds %d)", round, found)
		require.Equal(t, yielded, found, "round %d", round)
		newConcVerifier(&c).quiet(t, "round %d", round)
	}
	require.Positive(t, sets, "no goroutine set keys")
	require.Positive(t, clears, "no goroutine cleared")
}

// setOrClear does one goroutine's part of TestConcurrentClearsRacingSets,
// counting its rounds of Sets in sets.
func setOrClear(c *Concurrent[string, int], r *rand.Rand, sets *int) {
	for range 100 {
		coin := r.IntN(2)
		*sets += coin
		for j := range 1000 {
			if coin == 1 {
				c.Set(strconv.Itoa(j), j)
			} else {
				c.Clear()
			}
		}
	}
}
