package shrinkmap

// history is what a map remembers of its recent past for its policy: the
// peak since the last compaction, the deletes since then, the deletes made
// while drained, and whether its compactions were undone by refills. Its
// fields feed Stats.
type history struct {
	peak       int // largest Len since the last compaction
	deletes    int // deletes since the last compaction
	lowDeletes int // deletes in a row that left Len under a quarter of peak
	refills    int // consecutive compactions undone by a refill
	// refillAt is the Len at which the last compaction counts as undone:
	// half the peak it compacted from, and more than twice the entries it
	// left (so that its table had to grow back); 0 once counted, or if
	// none.
	refillAt int
}

// grew records that the map holds n entries and may have grown since the
// last call: n raises the peak, and reaching refillAt counts a refill.
func (h *history) grew(n int) {
	h.peak = max(h.peak, n)
	if h.refillAt > 0 && n >= h.refillAt {
		h.refills++
		h.refillAt = 0
	}
}

// deleted records a delete that left n entries.
func (h *history) deleted(n int) {
	h.deletes++
	if drained(n, h.peak) {
		h.lowDeletes++
	} else {
		h.lowDeletes = 0
	}
}

// drained reports whether n entries are under a quarter of peak.
func drained(n, peak int) bool { return 4*n < peak }

// compacted starts a new history after a compaction that left n entries.
// The refills count goes on only while every compaction is undone.
func (h *history) compacted(n int) {
	if h.refillAt > 0 {
		h.refills = 0 // the previous compaction was not undone
	}
	h.refillAt = 0
	if h.peak > 0 {
		h.refillAt = max((h.peak+1)/2, 2*n+1)
	}
	h.peak, h.deletes, h.lowDeletes = n, 0, 0
}

// cleared starts a new history after Clear.
func (h *history) cleared() {
	*h = history{}
}

// fill writes the history into s, as grew(s.Len) would leave it, without
// changing h.
func (h history) fill(s *Stats) {
	peek := h
	peek.grew(s.Len)
	s.Peak, s.LowDeletes, s.Refills = peek.peak, peek.lowDeletes, peek.refills
}
