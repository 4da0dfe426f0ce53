package shrinkmap

import "sync"

// cpolicy is what a Concurrent keeps for its policy between checks: the
// history a ShrinkMap keeps, observed at each check rather than at each
// operation, and the last memory-pressure sample. Its mutex serializes the
// checks, which run about once per Len/8 deletes.
type cpolicy struct {
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
func (p *cpolicy) observe(s *Stats, deletes int, smaller bool, shrinks int64) {
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
func (p *cpolicy) fill(s *Stats) {
	p.hist.fillDrain(s)
	s.MemoryPressure = p.pressure.under
}

// decide asks policy about s, under p's lock, and if it says yes records a
// compaction of s.Len entries, which will be the map's compaction number
// shrinks+1, and returns why.
func (p *cpolicy) decide(policy Policy, s Stats, shrinks int64) (ShrinkReason, bool) {
	if !policy.ShouldShrink(s) {
		return 0, false
	}
	p.hist.compacted(s.Len)
	p.awaited = shrinks + 1
	return reasonOf(policy, s), true
}
