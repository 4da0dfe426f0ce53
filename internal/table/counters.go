package table

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// counter counts the live entries of some keys, the most it has held since
// the last compaction or clear, and its deletes since it last reported a
// check due.
type counter struct {
	n, peak, deletes atomic.Int64
}

// stripe is a counter padded so that writers on different stripes never
// share a cache line.
type stripe struct {
	counter
	_ [cacheLine - unsafe.Sizeof(counter{})]byte
}

// counters are a map's counts, kept as Java's LongAdder keeps a sum: in
// one counter, base, until two writers meet on it (a compare-and-swap of
// its count fails), and from then on in stripes, allocated once and
// published by compare-and-swap; a key counts on the stripe its hash
// picks. A map that no two goroutines write at once keeps one word per
// count. The sums over base and the stripes are the map's counts.
type counters struct {
	cells atomic.Pointer[[]stripe] // set once
	base  counter
}

// DefaultStripes returns the number of counter stripes of a map that sets
// none: 4*GOMAXPROCS (read when it is called) rounded up to a power of
// two, and at least 16.
func DefaultStripes() int {
	return max(16, 1<<bits.Len(uint(4*runtime.GOMAXPROCS(0)-1)))
}

// add adds delta to the count of the key with hash h and returns the
// counter it counted on, and that counter's count after.
func (m *Map[K, V]) add(h uint64, delta int64) (*counter, int64) {
	cells := m.cells.Load()
	if cells == nil {
		old := m.base.n.Load()
		if m.base.n.CompareAndSwap(old, old+delta) {
			return &m.base, old + delta
		}
		if cells = m.spread(); cells == nil {
			return &m.base, m.base.n.Add(delta)
		}
	}
	c := &(*cells)[(h>>32)&uint64(len(*cells)-1)].counter
	return c, c.n.Add(delta)
}

// spread returns the stripes, allocating them if no writer has; nil for a
// map of one stripe, which counts on base alone.
func (m *Map[K, V]) spread() *[]stripe {
	n := m.Stripes()
	if n == 1 {
		return nil
	}
	cells := make([]stripe, n)
	m.cells.CompareAndSwap(nil, &cells)
	return m.cells.Load()
}

// each calls f with base and each stripe's counter.
func (m *Map[K, V]) each(f func(c *counter)) {
	f(&m.base)
	if cells := m.cells.Load(); cells != nil {
		for i := range *cells {
			f(&(*cells)[i].counter)
		}
	}
}

// added counts an entry added with hash h, and returns the counter it
// counted on and that counter's count after.
func (m *Map[K, V]) added(h uint64) (*counter, int64) {
	c, n := m.add(h, 1)
	for p := c.peak.Load(); n > p; p = c.peak.Load() {
		if c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return c, n
}

// nearGrowth reports whether the map may be near t's growth threshold,
// judged from counter c, whose count is n: exactly if c is the base
// counter, and otherwise from the base's count plus n times the stripes
// (keys spread over the stripes by hash, so each holds about its share),
// which must reach 7/8 of the threshold. A table whose threshold is under
// 64 keys a stripe is always near.
func (m *Map[K, V]) nearGrowth(t *table[K, V], c *counter, n int64) bool {
	at := int64(t.loadFactor().growAt(t.size()))
	if c == &m.base {
		return n > at
	}
	stripes := int64(len(*m.cells.Load()))
	return at < 64*stripes || m.base.n.Load()+n*stripes >= at-at/8
}

// deleted counts an entry removed with hash h. It returns the deletes its
// counter has counted since it last reported a check due if it has now
// counted its share (see CheckEvery), and 0 otherwise; a check that comes
// due during a resize is left for the resize's publication to report, and
// a table of one head bucket, which has no smaller table to compact into,
// counts no deletes toward a check (a tiny map's deletes ask no policy).
func (m *Map[K, V]) deleted(h uint64) int {
	c, _ := m.add(h, -1)
	t := m.cur.Load()
	if t.mask == 0 {
		return 0
	}
	d := c.deletes.Add(1)
	share := m.checkEvery.Load()
	if c != &m.base {
		share /= int64(len(*m.cells.Load()))
	}
	if d < max(share, 1) {
		return 0
	}
	c.deletes.Store(0)
	if t.resize.Load() != nil {
		m.skipped.Add(d)
		return 0
	}
	return int(d)
}

// CheckEvery sets how often writes report a check due (see Note): after
// about every deletes deletes; once the counts are spread over stripes,
// each stripe reports after its share of them (at least one) since it
// last reported.
func (m *Map[K, V]) CheckEvery(deletes int) {
	if q := int64(max(1, deletes)); m.checkEvery.Load() != q {
		m.checkEvery.Store(q)
	}
}

// Len returns the number of entries, summed over the counters in
// O(stripes) time. It is exact when no write runs meanwhile.
func (m *Map[K, V]) Len() int {
	var n int64
	m.each(func(c *counter) { n += c.n.Load() })
	// A Delete can count before the Store of the same key that it follows.
	return int(max(n, 0))
}

// resetPeaks starts a new peak at each counter's count, after a
// compaction or clear.
func (m *Map[K, V]) resetPeaks() {
	m.each(func(c *counter) { c.peak.Store(c.n.Load()) })
}

// Compactions returns the number of Compact resizes published.
func (m *Map[K, V]) Compactions() int64 { return m.compactions.Load() }

// Usage is what a Map holds, as Map.Usage counts it. Its counts come from
// the counter stripes, so under concurrent writes they are not a snapshot
// of one instant.
type Usage struct {
	Len int // live entries
	// Peak is the sum of the stripes' peaks since the last Compact or
	// Clear resize, and at least Len: at least the largest Len since then,
	// and more if the stripes peaked at different times.
	Peak        int
	Compactions int64  // Compact resizes published
	Gen         uint64 // the table's generation: resizes published before it
	Buckets     int    // head buckets of the table
	Resize      Kind   // the resize of the table that has started; None if none
	Left        int    // buckets of the table that the resize has yet to move
	Overflow    int    // overflow buckets, of both tables during a resize
	// Bytes counts the bucket arrays (of both tables during a resize), the
	// overflow buckets, and in the entry layout one entry per live key.
	Bytes int64
	// Wasted is the bytes of head buckets beyond those of a table sized
	// for Len; overflow buckets are not counted.
	Wasted int64
}

// Usage returns the map's counts and sizes, in O(stripes) time. A map
// with no table yet counts as having the one of one bucket that its first
// write makes.
func (m *Map[K, V]) Usage() Usage {
	t := m.cur.Load()
	if t == nil {
		return Usage{Buckets: 1, Bytes: BucketBytes[K, V]()}
	}
	var n, peak int64
	m.each(func(c *counter) {
		n += c.n.Load()
		peak += c.peak.Load()
	})
	n = max(n, 0)
	u := Usage{
		Len:         int(n),
		Peak:        int(max(peak, n)),
		Compactions: m.compactions.Load(),
		Gen:         t.gen,
		Buckets:     t.size(),
	}
	heads := int64(t.size())
	overflow := t.overflow.Load()
	if r := t.resize.Load(); r != nil {
		u.Resize = r.Kind
		u.Left = int(heads - t.moved.Load())
	}
	if nt := t.next.Load(); nt != nil {
		heads += int64(nt.size())
		overflow += nt.overflow.Load()
	}
	bb, ob, eb := t.sizes()
	u.Overflow = int(overflow)
	u.Bytes = heads*bb + overflow*ob + n*eb
	u.Wasted = max(0, (heads-int64(t.loadFactor().bucketsFor(int(n))))*bb)
	return u
}
