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

// react runs the policy check that n says is due, moving the first step of
// a compaction it starts, and then the shrink hook of each compaction
// published. A panic in the policy or the hook propagates to the caller
// with the write done.
func (c *Concurrent[K, V]) react(n table.Note) {
	started := n.Deletes > 0 && c.check(n.Deletes)
	c.published(n.Done)
	if started {
		d, _ := c.table.Step(1)
		c.published(d)
	}
}

// check is where the map consults its policy: it computes the whole map's
// Stats and, if no resize is in progress, a table sized for the live
// entries (but not below the capacity floor) would have fewer buckets, and
// the policy says so, starts a compaction into that table. It reports
// whether it did. Deletes is the deletes since the last check, 0 for the
// background goroutine's.
func (c *Concurrent[K, V]) check(deletes int) bool {
	u := c.table.Usage()
	if u.Resize != table.None {
		return false
	}
	s := statsOf(u)
	c.table.CheckEvery(s.Len / 8)
	buckets := table.BucketsFor(max(s.Len, c.cfg.capacity))
	reason, ok := c.askPolicy(&s, deletes, buckets < u.Buckets)
	if !ok {
		return false
	}
	r := table.Resize{Kind: table.Compact, Buckets: buckets, Cause: int(reason)}
	return c.table.StartResize(r, u.Gen)
}

// askPolicy records a policy check that saw s and deletes since the last
// one, and, if smaller (a table for the live entries would have fewer
// buckets), asks the policy. It reports whether to compact, and why.
func (c *Concurrent[K, V]) askPolicy(s *Stats, deletes int, smaller bool) (ShrinkReason, bool) {
	c.pol.mu.Lock()
	defer c.pol.mu.Unlock()
	shrinks := c.table.Compactions()
	c.pol.observe(s, deletes, smaller, shrinks)
	if !smaller {
		return 0, false
	}
	return c.pol.decide(c.cfg.policy, *s, shrinks)
}

// resizeNow finishes any resize in progress, then resizes the table now:
// for table.Compact into a table sized for the live entries, for
// table.Clear into an empty one sized for the capacity floor.
func (c *Concurrent[K, V]) resizeNow(kind table.Kind) {
	for {
		u := c.table.Usage()
		if u.Resize != table.None {
			c.published(c.table.Finish(u.Gen))
			continue
		}
		buckets := table.BucketsFor(u.Len)
		if kind == table.Clear {
			buckets = table.BucketsFor(c.cfg.capacity)
		}
		r := table.Resize{Kind: kind, Buckets: buckets, Whole: true, Cause: int(ReasonManual)}
		if !c.table.StartResize(r, u.Gen) {
			continue
		}
		c.pol.mu.Lock()
		if kind == table.Clear {
			c.pol.hist.cleared()
		} else {
			c.pol.hist.observe(u.Len, u.Peak, 0)
			c.pol.hist.compacted(u.Len)
		}
		c.pol.mu.Unlock()
		c.published(c.table.Finish(u.Gen))
		return
	}
}

// published counts d, a resize just published (or nil), if it is a
// compaction (see ReadMetrics), and runs the shrink hook.
func (c *Concurrent[K, V]) published(d *table.Done) {
	if d == nil || d.Kind != table.Compact {
		return
	}
	after := c.table.Usage().Bytes
	c.countCompaction(ShrinkReason(d.Cause), d.Bytes, after)
	if c.cfg.hook == nil {
		return
	}
	c.cfg.hook(ShrinkEvent{
		Entries:     d.Entries,
		BytesBefore: d.Bytes,
		BytesAfter:  after,
		Duration:    d.Spent,
		Manual:      d.Whole,
		Reason:      ShrinkReason(d.Cause),
		Incremental: d.Incremental,
	})
}
