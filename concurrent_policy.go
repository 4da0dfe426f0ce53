package shrinkmap

import (
	"sync"

	"github.com/shrinkmap/shrinkmap/internal/table"
)

// A Concurrent decides when to compact; its table does the rest. The table
// reports, in the Note each write returns, that a policy check is due
// (after about every Len/8 deletes) and which resize the write published;
// the map then asks its policy, starts the compaction the policy agrees to,
// and runs the shrink hook.

// policyState is what a Concurrent keeps for its policy between checks: the
// history a ShrinkMap keeps, observed at each check rather than at each
// operation, and the last memory-pressure sample. Its mutex serializes the
// checks.
type policyState struct {
	mu       sync.Mutex
	hist     history
	pressure pressureSampler
	// awaited is the Shrinks count that the compaction decided last will
	// make when it is published: until then the stripes' peaks are still
	// those from before it, and a check must not read a refill in them.
	awaited int64
}

// observe records a check that saw s (Len and Peak) and deletes made since
// the last one, samples memory pressure if a smaller table would do (at
// most once per pressureSampleEvery deletes), and fills in s's history
// fields. shrinks is the map's published compactions: while the last one
// decided is not published yet, s.Peak predates it and only Len counts.
func (p *policyState) observe(s *Stats, deletes int, smaller bool, shrinks int64) {
	peak := s.Peak
	if shrinks < p.awaited {
		peak = s.Len
	}
	p.hist.observe(s.Len, peak, deletes)
	if smaller {
		p.pressure.after(deletes)
	}
	p.fill(s)
}

// fill writes the history fields into s.
func (p *policyState) fill(s *Stats) {
	p.hist.fillDrain(s)
	s.MemoryPressure = p.pressure.under
}

// decide asks policy about s, under p's lock, and if it says yes records a
// compaction of s.Len entries, which will be the map's compaction number
// shrinks+1, and returns why.
func (p *policyState) decide(policy Policy, s Stats, shrinks int64) (ShrinkReason, bool) {
	if !policy.ShouldShrink(s) {
		return 0, false
	}
	p.hist.compacted(s.Len)
	p.awaited = shrinks + 1
	return reasonOf(policy, s), true
}

// after does what a write's note asks. It is small enough to inline: most
// notes are empty.
func (c *Concurrent[K, V]) after(n table.Note) {
	if n != (table.Note{}) {
		c.react(n)
	}
}

// react runs the shrink hook of the resize that n says the write
// published, then the policy check that n says is due, or that came due
// while that resize ran. A panic in the policy or the hook propagates to
// the caller with the write done.
func (c *Concurrent[K, V]) react(n table.Note) {
	c.published(n.Done)
	if n.Deletes > 0 {
		c.checkAndStep(n.Deletes)
	}
}

// checkAndStep runs a policy check that deletes deletes made due, and moves
// the first step of the compaction it starts, or all of it if the
// compaction is whole (see atOnce).
func (c *Concurrent[K, V]) checkAndStep(deletes int) {
	r, gen, ok := c.check(deletes)
	switch {
	case !ok:
	case r.Whole:
		c.published(c.table.Finish(gen))
	default:
		d, _ := c.table.Step(1)
		c.published(d)
	}
}

// sweepEnded runs when an expiry sweep ends (a DeleteFunc that deleted, or
// a loop over All during which Len fell) after deletes deletes: a policy
// check with Stats.SweepEnded set. The compaction it starts, or one
// in progress, is finished at once if it has no more entries to copy than
// the sweep deleted (the copy then costs no more than the sweep did), and
// otherwise moves its first step, as a write's check does.
func (c *Concurrent[K, V]) sweepEnded(deletes int) {
	if u := c.table.Usage(); u.Resize != table.None {
		if u.Len <= deletes {
			c.published(c.table.Finish(u.Gen))
		}
		return
	}
	r, gen, ok := c.checkSweep(0, true)
	switch {
	case !ok:
	case r.Whole || c.table.Len() <= deletes:
		c.published(c.table.Finish(gen))
	default:
		d, _ := c.table.Step(1)
		c.published(d)
	}
}

// wholeSteps is the most steps (see WithIncremental) of buckets that a
// compaction's table may have for the write that starts it to move it
// whole: a pause of a few steps' worth, so that a drain that ends right
// after its last compaction starts does not leave that in progress. A
// larger compaction starts at a check with the deletes of an eighth of Len
// to come before the next, and needs about a sixtieth of Len of them at
// DefaultStep.
const wholeSteps = 16

// atOnce reports whether a compaction of a table of the given head buckets
// moves it whole.
func (c *Concurrent[K, V]) atOnce(buckets int) bool {
	return buckets <= wholeSteps*c.config().step
}

// checkEvery returns the deletes after which a map of n entries in a table
// of the given buckets checks again: n/8, or fewer if a table of half the
// buckets would hold the entries sooner, so that a drain's compaction
// starts where it becomes possible and has the drain's remaining deletes
// to move the table in.
func (c *Concurrent[K, V]) checkEvery(n, buckets int) int {
	every := n / 8
	if buckets > 1 {
		if at := c.table.GrowAt(buckets / 2); n > at {
			every = min(every, n-at)
		}
	}
	return every
}

// check is where the map consults its policy: it computes the whole map's
// Stats and, if no resize is in progress, a table sized for the live
// entries (but not below the capacity floor) would have fewer buckets, and
// the policy says so, starts a compaction into that table. It returns the
// compaction it started, of table generation gen, and whether it started
// one. Deletes is the deletes since the last check, 0 for the background
// goroutine's.
func (c *Concurrent[K, V]) check(deletes int) (r table.Resize, gen uint64, ok bool) {
	return c.checkSweep(deletes, false)
}

// checkSweep is check, at the end of an expiry sweep if sweepEnded (see
// Stats.SweepEnded).
func (c *Concurrent[K, V]) checkSweep(deletes int, sweepEnded bool) (r table.Resize, gen uint64, ok bool) {
	u := c.table.Usage()
	if u.Resize != table.None {
		return r, 0, false
	}
	s := statsOf(u)
	s.SweepEnded = sweepEnded
	c.table.CheckEvery(c.checkEvery(s.Len, u.Buckets))
	buckets := c.table.BucketsFor(max(s.Len, c.config().capacity))
	r = table.Resize{Kind: table.Compact, Buckets: buckets, Whole: c.atOnce(u.Buckets)}
	return r, u.Gen, c.askPolicy(&s, u.Gen, deletes, r, buckets < u.Buckets)
}

// askPolicy records a policy check that saw s and deletes since the last
// one, and, if smaller (compaction r would hold the live entries in fewer
// buckets than table generation gen), asks the policy and starts r if it
// agrees. It reports whether it started r. A compaction that loses to
// another resize leaves the policy's state as the check found it, so that
// it does not await that compaction.
func (c *Concurrent[K, V]) askPolicy(s *Stats, gen uint64, deletes int, r table.Resize, smaller bool) bool {
	p := c.policy()
	p.mu.Lock()
	defer p.mu.Unlock()
	shrinks := c.table.Compactions()
	p.observe(s, deletes, smaller, shrinks)
	if !smaller {
		return false
	}
	before := p.hist
	reason, ok := p.decide(c.config().policy, *s, shrinks)
	if !ok {
		return false
	}
	r.Cause = int32(reason)
	if c.table.StartResize(r, gen) {
		return true
	}
	p.hist, p.awaited = before, shrinks
	return false
}

// resizeNow finishes any resize in progress, then resizes the table now:
// for table.Compact into a table sized for the live entries, for
// table.Clear into an empty one sized for the capacity floor.
func (c *Concurrent[K, V]) resizeNow(kind table.Kind) {
	for {
		if kind == table.Clear && !c.table.HasTable() {
			return // nothing to clear, and no table to give back
		}
		u := c.table.Usage()
		if u.Resize != table.None {
			c.published(c.table.Finish(u.Gen))
			continue
		}
		buckets := c.table.BucketsFor(u.Len)
		if kind == table.Clear {
			buckets = c.table.BucketsFor(c.config().capacity)
		}
		r := table.Resize{Kind: kind, Buckets: buckets, Whole: true, Cause: int32(ReasonManual)}
		if !c.table.StartResize(r, u.Gen) {
			continue
		}
		c.recordResize(kind, u)
		c.published(c.table.Finish(u.Gen))
		return
	}
}

// recordResize records in the policy's history a resize of kind, started
// by Shrink or Clear on a table of usage u. A Clear of a map whose policy
// was never asked leaves it so, and allocates nothing for it.
func (c *Concurrent[K, V]) recordResize(kind table.Kind, u table.Usage) {
	if kind == table.Clear && c.pol.Load() == nil {
		return
	}
	p := c.policy()
	p.mu.Lock()
	defer p.mu.Unlock()
	if kind == table.Clear {
		p.hist.cleared()
		return
	}
	p.hist.observe(u.Len, u.Peak, 0)
	p.hist.compacted(u.Len)
}

// policy returns c's policy state, making it on first use: a map whose
// policy is never asked, such as a tiny one (see Stats.Shrinks), carries
// none. The first of racing callers to store it wins.
func (c *Concurrent[K, V]) policy() *policyState {
	if p := c.pol.Load(); p != nil {
		return p
	}
	c.pol.CompareAndSwap(nil, new(policyState))
	return c.pol.Load()
}

// published, if d (a resize just published, or nil) is a compaction,
// counts it (see ReadMetrics) and runs the shrink hook; then it runs the
// policy check that came due while the resize ran, if any.
func (c *Concurrent[K, V]) published(d *table.Done) {
	if d == nil {
		return
	}
	if d.Kind == table.Compact {
		after := c.table.Usage().Bytes
		c.countCompaction(ShrinkReason(d.Cause), d.Bytes, after)
		if hook := c.config().hook; hook != nil {
			c.runHook(hook, d, after)
		}
	}
	if d.Skipped > 0 {
		c.checkAndStep(d.Skipped)
	}
}

// runHook calls hook with the ShrinkEvent of compaction d, after which the
// table held after bytes.
func (c *Concurrent[K, V]) runHook(hook func(ShrinkEvent), d *table.Done, after int64) {
	hook(ShrinkEvent{
		Entries:     d.Entries,
		BytesBefore: d.Bytes,
		BytesAfter:  after,
		Duration:    d.Spent,
		Manual:      ShrinkReason(d.Cause) == ReasonManual,
		Reason:      ShrinkReason(d.Cause),
		Incremental: d.Incremental,
	})
}
