package shrinkmap

import (
	"runtime"
	"sync/atomic"
	"weak"
)

// concurrentMetrics is what a named Concurrent keeps for ReadMetrics
// beyond its Stats: its compactions by reason.
type concurrentMetrics struct {
	reasons [numReasons]atomic.Int64
}

// register names c in the registry: ReadMetrics reads c's Stats itself.
func (c *Concurrent[K, V]) register(name string) {
	cm := new(concurrentMetrics)
	c.named = cm
	wp := weak.Make(c)
	id := names.add(name, func() (MapMetrics, bool) {
		c := wp.Value()
		if c == nil {
			return MapMetrics{}, false
		}
		return MapMetrics{Stats: c.Stats(), Compactions: cm.counts().byName()}, true
	})
	runtime.AddCleanup(c, names.remove, id)
}

// countCompaction adds a compaction for reason r, from before to after
// table bytes, to the process totals and, if c is named, to its counts.
func (c *Concurrent[K, V]) countCompaction(r ShrinkReason, before, after int64) {
	countCompaction(before, after)
	if c.named != nil {
		c.named.reasons[reasonIndex(r)].Add(1)
	}
}

// counts returns a copy of the counts.
func (cm *concurrentMetrics) counts() reasonCounts {
	var rc reasonCounts
	for i := range cm.reasons {
		rc[i] = cm.reasons[i].Load()
	}
	return rc
}
