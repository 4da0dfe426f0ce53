package shrinkmap

import (
	"testing"

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
