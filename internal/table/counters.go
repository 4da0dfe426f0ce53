package table

import "sync/atomic"

// stripe is one stripe of the map's counters: the live entries whose
// hashes pick it, the most it has held since the last compaction or clear,
// and the deletes since it last reported a check due. Stripes are padded
// apart so that writers on different stripes never share a cache line; a
// key always counts on the same stripe, whatever table holds it.
type stripe struct {
	n, peak, deletes atomic.Int64
	_                [cacheLine - 24]byte
}

// stripe returns the stripe of the key with hash h. It uses bits of h that
// the bucket index of tables under 2^32 buckets does not.
func (m *Map[K, V]) stripe(h uint64) *stripe {
	return &m.stripes[(h>>32)&m.stripeMask]
}

// added counts an entry added with hash h.
func (m *Map[K, V]) added(h uint64) {
	s := m.stripe(h)
	n := s.n.Add(1)
	for p := s.peak.Load(); n > p; p = s.peak.Load() {
		if s.peak.CompareAndSwap(p, n) {
			break
		}
	}
}

// deleted counts an entry removed with hash h. It returns the stripe's
// deletes since it last reported a check due if it has now counted its
// share (see CheckEvery) and no resize is in progress, and 0 otherwise.
func (m *Map[K, V]) deleted(h uint64) int {
	s := m.stripe(h)
	s.n.Add(-1)
	d := s.deletes.Add(1)
	if d < m.checkEvery.Load() {
		return 0
	}
	s.deletes.Store(0)
	if m.cur.Load().resize.Load() != nil {
		return 0
	}
	return int(d)
}

// CheckEvery sets how often writes report a check due (see Note): after
// about every deletes deletes, spread over the stripes, each stripe
// reports after its share of them (at least one) since it last reported.
func (m *Map[K, V]) CheckEvery(deletes int) {
	q := max(1, int64(deletes)/int64(len(m.stripes)))
	if m.checkEvery.Load() != q {
		m.checkEvery.Store(q)
	}
}

// Len returns the number of entries, summed over the counter stripes in
// O(stripes) time. It is exact when no write runs meanwhile.
func (m *Map[K, V]) Len() int {
	var n int64
	for i := range m.stripes {
		n += m.stripes[i].n.Load()
	}
	// A Delete can count before the Store of the same key that it follows.
	return int(max(n, 0))
}

// resetPeaks starts a new peak at each stripe's count, after a compaction
// or clear.
func (m *Map[K, V]) resetPeaks() {
	for i := range m.stripes {
		s := &m.stripes[i]
		s.peak.Store(s.n.Load())
	}
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
	// overflow buckets, and one entry per live entry.
	Bytes int64
	// Wasted is the bytes of head buckets beyond those of a table sized
	// for Len; overflow buckets are not counted.
	Wasted int64
}

// Usage returns the map's counts and sizes, in O(stripes) time.
func (m *Map[K, V]) Usage() Usage {
	t := m.cur.Load()
	var n, peak int64
	for i := range m.stripes {
		s := &m.stripes[i]
		n += s.n.Load()
		peak += s.peak.Load()
	}
	n = max(n, 0)
	u := Usage{
		Len:         int(n),
		Peak:        int(max(peak, n)),
		Compactions: m.compactions.Load(),
		Gen:         t.gen,
		Buckets:     len(t.buckets),
	}
	heads := int64(len(t.buckets))
	overflow := t.overflow.Load()
	if r := t.resize.Load(); r != nil {
		u.Resize = r.Kind
		u.Left = int(heads - t.moved.Load())
	}
	if nt := t.next.Load(); nt != nil {
		heads += int64(len(nt.buckets))
		overflow += nt.overflow.Load()
	}
	bb := BucketBytes[K, V]()
	u.Overflow = int(overflow)
	u.Bytes = (heads+overflow)*bb + n*EntryBytes[K, V]()
	u.Wasted = max(0, (heads-int64(BucketsFor(int(n))))*bb)
	return u
}
