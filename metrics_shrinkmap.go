package shrinkmap

import (
	"runtime"
	"sync/atomic"
	"weak"
)

// publication is where a named ShrinkMap publishes its figures for
// ReadMetrics: an immutable snapshot, replaced by the map's owner at the
// moments ReadMetrics lists, and loaded by any goroutine. Its other fields
// are the owner's alone.
type publication struct {
	snap    atomic.Pointer[figures]
	id      uint64          // the map's registry entry
	cleanup runtime.Cleanup // removes the entry once the map is unreachable
	reasons reasonCounts    // the map's compactions by reason
	// What was last published, to tell whether to publish again.
	len, sized, shrinks int
	migrating           bool
}

// figures is one publication of a ShrinkMap's figures.
type figures struct {
	stats   Stats
	reasons reasonCounts
}

// register names m, configured with state x, in the registry, after
// publishing its first figures.
func (m *ShrinkMap[K, V]) register(x *state[K, V]) {
	p := new(publication)
	x.pub = p
	m.publish(true)
	wp := weak.Make(m)
	p.id = names.add(x.cfg.name, func() (MapMetrics, bool) {
		if wp.Value() == nil {
			return MapMetrics{}, false
		}
		f := p.snap.Load()
		return MapMetrics{Stats: f.stats, Compactions: f.reasons.byName()}, true
	})
	p.cleanup = runtime.AddCleanup(m, names.remove, p.id)
}

// unregister removes m's registry entry, if m is named.
func (m *ShrinkMap[K, V]) unregister() {
	if m.x == nil || m.x.pub == nil {
		return
	}
	p := m.x.pub
	p.cleanup.Stop()
	names.remove(p.id)
}

// publish publishes m's figures if m is named and force is set or they
// have changed enough since the last publication (see ReadMetrics).
func (m *ShrinkMap[K, V]) publish(force bool) {
	x := m.x
	p := x.pub
	if p == nil || !force && !p.due(m.Len(), x.curSized, x.shrinks, x.mig != nil) {
		return
	}
	s := m.Stats()
	p.len, p.sized, p.shrinks, p.migrating = s.Len, x.curSized, x.shrinks, x.mig != nil
	p.snap.Store(&figures{stats: s, reasons: p.reasons})
}

// due reports whether figures differing from the last published ones so
// are worth publishing: another table size, compaction count or migration
// state, or a Len more than an eighth away.
func (p *publication) due(n, sized, shrinks int, migrating bool) bool {
	return sized != p.sized || shrinks != p.shrinks || migrating != p.migrating ||
		n-p.len > p.len/8 || p.len-n > p.len/8
}

// checked follows a policy check by a Delete: a named map publishes if its
// figures are due, and makes its next check come within Len/16 deletes, so
// that what it publishes follows a drain.
func (m *ShrinkMap[K, V]) checked() {
	x := m.x
	m.publish(false)
	if most := len(m.cur) / 16; x.skip > most {
		if x.skipped == x.skip {
			x.skipped = most // the deletes the pressure sampler counts
		}
		x.skip = most
	}
}

// countCompaction adds compaction e to the process totals and, if m is
// named, to its counts, and publishes its figures.
func (m *ShrinkMap[K, V]) countCompaction(e ShrinkEvent) {
	countCompaction(e.BytesBefore, e.BytesAfter)
	if p := m.x.pub; p != nil {
		p.reasons.add(e.Reason)
		m.publish(true)
	}
}
