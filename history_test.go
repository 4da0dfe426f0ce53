package shrinkmap

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHistoryObserve(t *testing.T) {
	// A drain from 1000 to 100 seen at two checks, a compaction, a refill
	// to 600 seen only through the peak, and a drain that stays.
	var h history
	h.observe(1000, 1000, 0)
	h.observe(400, 1000, 600)
	require.Zero(t, h.lowDeletes, "deletes at 400 of 1000 are not drained")
	h.observe(100, 1000, 300)
	require.Equal(t, 300, h.lowDeletes, "deletes since the last check, drained now")
	h.compacted(100)
	require.Equal(t, []int{100, 1000, 500, 0, 0}, []int{h.peak, h.drainedFrom, h.refillAt, h.deletes, h.lowDeletes},
		"peak, drainedFrom, refillAt, deletes, lowDeletes after a compaction at 100 of 1000")

	h.observe(100, 600, 500) // refilled to 600 and drained again between checks
	require.Equal(t, 1, h.refills, "a refill past half the peak, seen through the peak")
	require.Zero(t, h.drainedFrom, "the drain ended when the peak passed a quarter of 1000")
	require.Equal(t, 500, h.lowDeletes, "100 < 600/4: the deletes count as drained")
	h.observe(100, 600, 100)
	require.Equal(t, 600, h.lowDeletes)
	h.compacted(100)
	require.Equal(t, 1, h.refills, "the previous compaction was undone")
	h.observe(50, 100, 50)
	h.compacted(50)
	require.Zero(t, h.refills, "the previous compaction was not undone")
}

func TestRefillWindow(t *testing.T) {
	// A map of 10,000 entries drained and refilled: a refill within the
	// window (100 ms here: max(100 ms, 1 µs x 10,000)) undoes the
	// compaction, and the next drain keeps the table; a map that then
	// stays drained past the window before it refills starts its Refills
	// anew, and its next drain compacts again.
	t.Cleanup(func() { testClock.Store(0) })
	burst := func(m *ShrinkMap[int, int], at time.Duration) {
		testClock.Store(int64(at))
		for k := range 10_000 {
			m.Set(k, k)
		}
		for k := range 10_000 {
			m.Delete(k)
		}
	}
	m := New[int, int]()
	burst(m, time.Second)
	first := m.Stats().Shrinks
	require.Positive(t, first, "compactions in the first drain")
	burst(m, time.Second+99*time.Millisecond) // the refill comes at once
	s := m.Stats()
	require.Equal(t, 1, s.Refills, "Stats() = %+v after a refill within the window", s)
	require.Equal(t, first, s.Shrinks, "Stats() = %+v: the drain after a quick refill compacts nothing", s)

	burst(m, 10*time.Second) // drained since 1.099 s: the refill comes late
	s = m.Stats()
	require.Zero(t, s.Refills, "Stats() = %+v after a refill long after the drain", s)
	require.Greater(t, s.Shrinks, first, "Stats() = %+v: the drain after a late refill compacts", s)

	var h history
	testClock.Store(int64(time.Second))
	h.grew(1_000_000)
	h.compacted(0)
	require.Equal(t, time.Second, h.window, "window for a peak of 1M: 1 µs an entry")
	h.grew(600_000)
	require.Equal(t, 1, h.refills, "a refill at the same instant")
}
