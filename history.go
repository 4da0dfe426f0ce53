package shrinkmap

import (
	"sync/atomic"
	"time"
)

// A compaction counts as undone by a refill only if the refill comes within
// max(minRefillWindow, refillWindowPerEntry x the peak it compacted from)
// of it. Regrowing a table costs about 50-100 ns an entry, so a map that
// refills later than that pays for the regrowth with at most about a tenth
// of the time it spent drained: giving the memory back was worth it, and
// the map is not treated as one that refills at once.
const (
	minRefillWindow      = 100 * time.Millisecond
	refillWindowPerEntry = time.Microsecond
)

// testClock, when not 0, is what clock returns: tests freeze time with it.
var testClock atomic.Int64

var clockStart = time.Now()

// clock returns the monotonic time since the process started. It is read
// once per compaction and once per refill, never per operation.
func clock() time.Duration {
	if t := testClock.Load(); t != 0 {
		return time.Duration(t)
	}
	return time.Since(clockStart)
}

// history is what a map remembers of its recent past for its policy: the
// peak since the last compaction, the peak a drain in progress started
// from, the deletes since the last compaction and those made while
// drained, and whether its compactions were undone by refills. Its fields
// feed Stats.
type history struct {
	peak       int // largest Len since the last compaction
	deletes    int // deletes since the last compaction
	lowDeletes int // deletes in a row since the last compaction that left Len drained
	refills    int // consecutive compactions undone by a refill
	// drainedFrom is the peak that a drain in progress started from: set
	// by a compaction that leaves Len under a quarter of it, kept through
	// the compactions of the same drain; 0 once Len is back at a quarter
	// of it, or if the map is not drained.
	drainedFrom int
	// refillAt is the Len at which the last compaction counts as undone:
	// half the peak it compacted from, and more than twice the entries it
	// left (so that its table had to grow back); 0 once counted, or if
	// none.
	refillAt int
	// compactedAt is when the last compaction ran (see clock), and window
	// how soon after it a refill must come to count as undoing it.
	// drainedAt is when the drained deletes counted in lowDeletes began: a
	// map that stays drained longer than window before it refills is not
	// one that refills at once, and its Refills start anew.
	compactedAt, window, drainedAt time.Duration

	// lowBelow is the Len under which the map is drained: ceil(ref()/4).
	// recordAt is the least Len at which grew has something to record: a new
	// peak, the end of a drain, a refill or the end of drained deletes.
	// Both keep the per-operation calls to one comparison.
	lowBelow, recordAt int
}

// ref returns the peak that Len is measured against: the peak since the
// last compaction, or the one a drain in progress started from.
func (h *history) ref() int { return max(h.peak, h.drainedFrom) }

// grew records that the map holds n entries and may have grown since the
// last call: n raises the peak, ends a drain once back at a quarter of
// the peak it started from, and reaching refillAt counts a refill.
func (h *history) grew(n int) (changed bool) {
	return n >= h.recordAt && h.record(n, n)
}

// record records that the map holds n entries and held up to high since
// the last call: high raises the peak, ends a drain once back at a quarter
// of the peak it started from and counts a refill once at refillAt, and n
// ends drained deletes once not drained. It reports whether the peak,
// DrainedFrom or Refills changed: what may let a policy say yes sooner.
func (h *history) record(high, n int) (changed bool) {
	before := [3]int{h.peak, h.drainedFrom, h.refills}
	h.peak = max(h.peak, high)
	if h.drainedFrom > 0 && !drained(high, h.drainedFrom) {
		h.drainedFrom = 0
	}
	if h.refillAt > 0 && high >= h.refillAt {
		h.refilled()
	}
	if !drained(n, h.ref()) {
		h.undrained()
	}
	h.resetRecordAt()
	return before != [3]int{h.peak, h.drainedFrom, h.refills}
}

// undrained records that the map is no longer drained: a drain that lasted
// longer than the refill window ends the map's Refills.
func (h *history) undrained() {
	if h.lowDeletes > 0 && h.refills > 0 && clock()-h.drainedAt > h.window {
		h.refills = 0
	}
	h.lowDeletes = 0
}

// lowDelete records deletes made while drained.
func (h *history) lowDelete(deletes int) {
	if h.lowDeletes == 0 && (h.refills > 0 || h.refillAt > 0) {
		// Only a drain that a refill may end is timed.
		h.drainedAt = clock()
	}
	h.lowDeletes += deletes
}

// refilled records that Len reached refillAt: the last compaction was
// undone if that came within its window, and Refills counts it; a later
// refill resets Refills.
func (h *history) refilled() {
	if clock()-h.compactedAt <= h.window {
		h.refills++
	} else {
		h.refills = 0
	}
	h.refillAt = 0
}

// resetRecordAt recomputes lowBelow and recordAt.
func (h *history) resetRecordAt() {
	ref := h.ref()
	h.lowBelow = (ref + 3) / 4
	h.recordAt = h.peak + 1
	if h.drainedFrom > 0 {
		h.recordAt = min(h.recordAt, (h.drainedFrom+3)/4)
	}
	if h.refillAt > 0 {
		h.recordAt = min(h.recordAt, h.refillAt)
	}
	if h.lowDeletes > 0 {
		h.recordAt = min(h.recordAt, h.lowBelow)
	}
}

// deleted records a delete that left n entries. The caller has called
// grew with the Len before the delete, which ended drained deletes if
// that Len was not drained; so only a drained delete has to be recorded.
func (h *history) deleted(n int) {
	h.deletes++
	if n < h.lowBelow {
		h.lowDelete(1)
		h.recordAt = min(h.recordAt, h.lowBelow)
	}
}

// drained reports whether n entries are under a quarter of peak.
func drained(n, peak int) bool { return 4*n < peak }

// compacted starts a new history after a compaction that left n entries.
// The refills count goes on only while every compaction is undone; a
// compaction that leaves the map drained keeps the peak its drain started
// from.
func (h *history) compacted(n int) {
	if h.refillAt > 0 {
		h.refills = 0 // the previous compaction was not undone
	}
	ref := h.ref()
	h.refillAt, h.drainedFrom = 0, 0
	if ref > 0 {
		h.refillAt = max((ref+1)/2, 2*n+1)
		h.compactedAt = clock()
		h.window = max(minRefillWindow, time.Duration(ref)*refillWindowPerEntry)
	}
	if drained(n, ref) {
		h.drainedFrom = ref
	}
	h.peak, h.deletes, h.lowDeletes = n, 0, 0
	h.resetRecordAt()
}

// cleared starts a new history after Clear.
func (h *history) cleared() {
	*h = history{}
	h.resetRecordAt()
}

// fill writes the history into s, as grew(s.Len) would leave it, without
// changing h.
func (h history) fill(s *Stats) {
	peek := h
	peek.grew(s.Len)
	s.Peak = peek.peak
	peek.fillDrain(s)
}

// fillDrain writes DrainedFrom, LowDeletes and Refills into s.
func (h *history) fillDrain(s *Stats) {
	s.DrainedFrom, s.LowDeletes, s.Refills = h.drainedFrom, h.lowDeletes, h.refills
}

// observe records what a map that counts its entries on striped counters
// (Concurrent) sees at a policy check: n entries now, a peak of peak since
// the last compaction, and deletes made since the last check. The map does
// not see each operation, so a drain's end and a refill count from the
// peak, and the deletes since the last check count as drained if the map
// is drained now.
func (h *history) observe(n, peak, deletes int) {
	h.record(max(peak, n), n)
	h.deletes += deletes
	if drained(n, h.ref()) {
		h.lowDelete(deletes)
		h.resetRecordAt()
	}
}
