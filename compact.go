package shrinkmap

import (
	"maps"
	"time"
)

// maybeShrink starts a compaction after a Delete if it would shrink the
// table, enough deletes have paid for it and the policy agrees. When one of
// those cannot hold for some deletes to come, it lets them pass without a
// call (see state.skip): a call per Delete costs a drain of a large map a
// third of its time, by the cache misses it keeps from overlapping. Inside
// a loop over All whose body deletes, it leaves the decision to the loop's
// end (see sweepEnded).
func (m *ShrinkMap[K, V]) maybeShrink() {
	x := m.x
	if x.pub != nil {
		defer m.checked()
	}
	live := len(m.cur)
	if x.mig != nil || x.sweeps > 0 {
		return
	}
	if most := m.sized().shrinkable; live > most {
		x.skip, x.skipped = live-most-1, 0
		return
	}
	x.pressure.after(x.skipped + 1)
	if need, ok := m.deletesToAsk(live); !ok {
		x.skip = min(need, x.pressure.in)
		x.skipped = x.skip
		return
	}
	x.skipped = 0
	m.askPolicy(false, false)
}

// deletesToAsk reports whether the policy may be asked now, after enough
// deletes (Len/8 since the last compaction) with the Len and LowDeletes
// its bound calls for; if not, it returns how many more deletes that
// remove an entry, at least, must come first.
func (m *ShrinkMap[K, V]) deletesToAsk(live int) (need int, ok bool) {
	x := m.x
	b := m.askBound()
	ok = true
	if d := live/8 - x.hist.deletes; d > 0 {
		// After j deletes, deletes+j < (live-j)/8 still holds while
		// 9j/8 < d.
		need, ok = max(need, (d-1)*8/9), false
	}
	if n := m.Len(); n >= b.below {
		need, ok = max(need, n-b.below), false
	}
	if d := b.lowDeletes - x.hist.lowDeletes; d > 0 {
		need, ok = max(need, d-1), false
	}
	return need, ok
}

// sweepEnded runs when the outermost loop over All whose body deleted ends,
// after deletes deletes: it completes a migration in progress, or starts a
// compaction the policy approves with Stats.SweepEnded set. Either copies
// at once if it has at most as many entries to copy as the loop deleted
// (the copy then costs no more than the loop did) or few enough for a
// compaction at once anyway, else incrementally.
func (m *ShrinkMap[K, V]) sweepEnded(deletes int) {
	x := m.x
	m.publish(false)
	if x.mig != nil {
		if left := len(m.cur) - len(x.next); left <= deletes || !m.incremental(left) {
			m.finishNow()
		}
		return
	}
	live := len(m.cur)
	if live > m.sized().shrinkable || x.hist.deletes < live/8 {
		return
	}
	x.pressure.after(1)
	m.askPolicy(true, live <= deletes)
}

// askPolicy asks the policy about the map as it is (at a sweep's end if
// sweepEnded) and, if it agrees, compacts: at once if atOnce or the live
// entries are few enough, else incrementally.
func (m *ShrinkMap[K, V]) askPolicy(sweepEnded, atOnce bool) {
	x := m.x
	live := len(m.cur)
	s := m.stats(x, m.tableBytes(), tableBytes(live, x.group))
	s.SweepEnded = sweepEnded
	if !x.cfg.policy.ShouldShrink(s) {
		return
	}
	reason := reasonOf(x.cfg.policy, s)
	if atOnce || !m.incremental(live) {
		m.compactNow(x.cfg.capacity, reason)
		return
	}
	m.startMigration(reason)
}

// incremental reports whether a compaction of live entries moves them in
// steps rather than at once.
func (m *ShrinkMap[K, V]) incremental(live int) bool {
	x := m.x
	return x.cfg.step > 0 && (live >= DefaultMinIncremental || tableBytes(live, x.group) >= DefaultMinIncrementalBytes)
}

// askCache holds the policy's bound (see bound) for the inputs it was
// computed from.
type askCache struct {
	key   askKey
	bound bound
	valid bool
}

// askKey is what a policy's bound depends on: the history fields it reads,
// the entries cur's table is sized for, and memory pressure.
type askKey struct {
	peak, drainedFrom, refills, sized int
	pressure                          bool
}

// askBound returns when the policy need not be asked, computing it when
// its inputs have changed since the last call.
func (m *ShrinkMap[K, V]) askBound() bound {
	x := m.x
	h := &x.hist
	key := askKey{h.peak, h.drainedFrom, h.refills, x.curSized, x.pressure.under}
	if x.ask.valid && x.ask.key == key {
		return x.ask.bound
	}
	s := Stats{Peak: key.peak, DrainedFrom: key.drainedFrom, Refills: key.refills, TableBytes: m.sized().bytes, MemoryPressure: key.pressure}
	x.ask = askCache{key: key, bound: shrinkBound(x.cfg.policy, s), valid: true}
	return x.ask.bound
}

// tableBytes returns the estimated bytes of cur's table and next's.
func (m *ShrinkMap[K, V]) tableBytes() int64 {
	x := m.x
	b := m.sized().bytes
	if x.mig != nil {
		b += tableBytes(x.mig.nextSized, x.group)
	}
	return b
}

// compactNow copies the live entries into a fresh table sized for
// max(Len, floor) entries and drops the old ones, without modifying them:
// an iteration in progress may still be reading them. A compaction the
// policy asked for keeps the old table as the spare.
func (m *ShrinkMap[K, V]) compactNow(floor int, reason ShrinkReason) {
	x := m.x
	start := m.hookStart()
	before := m.tableBytes()
	old, oldSized := m.cur, x.curSized
	x.mig, x.next = nil, nil
	live := len(m.cur)
	sized := max(live, floor)
	var fresh map[K]V
	if sized > 0 {
		fresh = make(map[K]V, sized)
		maps.Copy(fresh, m.cur)
	}
	m.cur = fresh
	x.curSized = sized
	if reason == ReasonManual {
		x.spare = spare[K, V]{}
	} else {
		x.spare.keep(old, oldSized, len(m.cur))
	}
	x.hist.compacted(m.Len())
	m.compacted(ShrinkEvent{
		Entries:     live,
		BytesBefore: before,
		Duration:    m.since(start),
		Manual:      reason == ReasonManual,
		Reason:      reason,
	})
}

// compacted records a completed compaction and tells the hook of it, last:
// a panicking hook leaves the map consistent.
func (m *ShrinkMap[K, V]) compacted(e ShrinkEvent) {
	x := m.x
	x.gen++
	x.shrinks++
	x.skip = 0
	m.refast()
	e.BytesAfter = m.tableBytes()
	m.countCompaction(e)
	if x.cfg.hook != nil {
		x.cfg.hook(e)
	}
}

// clock returns the time now if a hook will want durations.
func (m *ShrinkMap[K, V]) hookStart() time.Time {
	if m.x.cfg.hook == nil {
		return time.Time{}
	}
	return time.Now()
}

func (m *ShrinkMap[K, V]) since(start time.Time) time.Duration {
	if start.IsZero() {
		return 0
	}
	return time.Since(start)
}
