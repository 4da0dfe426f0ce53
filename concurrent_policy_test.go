package shrinkmap

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The Concurrent policy tests check that Concurrent follows the default
// policy as ShrinkMap does: small maps compact, a map that refills at once
// keeps its table, and the hook says why.

func TestConcurrentDefaultCompactsSmallMaps(t *testing.T) {
	var reasons []ShrinkReason
	c := NewConcurrent[int, int](WithShrinkHook(func(e ShrinkEvent) { reasons = append(reasons, e.Reason) }))
	for k := range 2000 {
		c.Set(k, k)
	}
	full := c.Stats().TableBytes
	for k := 20; k < 2000; k++ {
		c.Delete(k)
	}
	for k := range 5000 { // writes go on, so the last compaction completes
		c.Set(10_000+k, k)
		c.Delete(10_000 + k)
	}
	s := c.Stats()
	require.Equal(t, 20, s.Len)
	require.Positive(t, s.Shrinks, "Stats() = %+v; want compactions of a 2000-entry map drained to 1%%", s)
	require.Less(t, s.TableBytes, full/8, "Stats() = %+v; want the table given back (full: %d bytes)", s, full)
	require.Contains(t, reasons, ReasonRatio, "ShrinkEvent.Reason of the drain's compactions")
}

func TestConcurrentRefillingMapKeepsItsTable(t *testing.T) {
	c := NewConcurrent[int, int]()
	size := 20_000
	if raceEnabled {
		size = 4000 // each refill well inside the 100 ms refill window
	}
	var afterFirst int
	for burst := range 20 {
		for k := range size {
			c.Set(k, k)
		}
		for k := range size {
			c.Delete(k)
		}
		if burst == 0 {
			afterFirst = c.Stats().Shrinks
		}
	}
	s := c.Stats()
	t.Logf("Stats() after 20 bursts of %d: %+v; %d compactions in the first", size, s, afterFirst)
	require.Positive(t, afterFirst, "compactions in the first burst")
	require.LessOrEqual(t, s.Shrinks, afterFirst+1, "Stats() = %+v; want no compaction per burst after the first", s)
	require.Positive(t, s.Refills, "Stats().Refills after refills")
}

// TestConcurrentTinyMapAsksNoPolicy sets and deletes one key many times on
// a map whose table is one bucket, which has no smaller table: its deletes
// make no policy check (the check's history counts none of them), while a
// map of more buckets still checks as it drains.
func TestConcurrentTinyMapAsksNoPolicy(t *testing.T) {
	tiny := NewConcurrent[int, int]()
	tiny.Set(-1, 0)
	for i := range 1000 {
		tiny.Set(i, i)
		tiny.Delete(i)
	}
	require.Equal(t, 1, tiny.table.Usage().Buckets, "tiny map's table")
	require.Nilf(t, tiny.pol.Load(), "policy state of a one-bucket map; want none: no check")

	large := NewConcurrent[int, int]()
	for k := range 1000 {
		large.Set(k, k)
	}
	for k := range 1000 {
		large.Delete(k)
	}
	require.Positivef(t, large.policy().hist.deletes+int(large.Stats().Shrinks), "a drained map of 1,000 made no policy check")
}
