package shrinkmap

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

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
