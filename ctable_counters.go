package shrinkmap

import "sync/atomic"

// cstripe is one stripe of the map's counters: the live entries whose
// hashes pick it, the most it has held since the last compaction, and the
// deletes since it last asked for a policy check. Stripes are padded apart
// so that writers on different stripes never share a cache line; a key
// always counts on the same stripe, whatever table holds it.
type cstripe struct {
	n, peak, deletes atomic.Int64
	_                [cacheLine - 24]byte
}

// stripe returns the stripe of the key with hash h. It uses bits of h that
// the bucket index of tables under 2^32 buckets does not.
func (c *Concurrent[K, V]) stripe(h uint64) *cstripe {
	return &c.stripes[(h>>32)&c.stripeMask]
}

// added counts an entry added with hash h.
func (c *Concurrent[K, V]) added(h uint64) {
	s := c.stripe(h)
	n := s.n.Add(1)
	for p := s.peak.Load(); n > p; p = s.peak.Load() {
		if s.peak.CompareAndSwap(p, n) {
			break
		}
	}
}

// deleted counts an entry removed with hash h and, once the stripe has seen
// its quota of deletes since it last asked (Len/8 over the number of
// stripes), asks maybeCompact.
func (c *Concurrent[K, V]) deleted(h uint64) {
	s := c.stripe(h)
	s.n.Add(-1)
	if d := s.deletes.Add(1); d >= c.quota.Load() {
		s.deletes.Store(0)
		c.maybeCompact(int(d))
	}
}

// count returns the sum of the stripes' counts, in O(stripes): exact when
// no write runs meanwhile.
func (c *Concurrent[K, V]) count() int {
	var n int64
	for i := range c.stripes {
		n += c.stripes[i].n.Load()
	}
	// A Delete can count before the Set of the same key that it follows.
	return int(max(n, 0))
}

// resetPeaks starts a new peak at each stripe's count, after a compaction
// or Clear.
func (c *Concurrent[K, V]) resetPeaks() {
	for i := range c.stripes {
		s := &c.stripes[i]
		s.peak.Store(s.n.Load())
	}
}

// statsOf returns the map's Stats, computed from the counters and t, which
// should be the map's table.
func (c *Concurrent[K, V]) statsOf(t *ctable[K, V]) Stats {
	var n, peak int64
	for i := range c.stripes {
		s := &c.stripes[i]
		n += s.n.Load()
		peak += s.peak.Load()
	}
	n = max(n, 0)
	bb, eb := bucketBytes[K, V](), entryBytes[K, V]()
	s := Stats{Len: int(n), Peak: int(max(peak, n)), Shrinks: int(c.shrinks.Load())}
	heads := int64(len(t.buckets))
	overflow := t.overflow.Load()
	if t.starting.Load() {
		s.Migrating = true
		s.MigrationLeft = int(heads - t.moved.Load())
	}
	if nt := t.next.Load(); nt != nil {
		heads += int64(len(nt.buckets))
		overflow += nt.overflow.Load()
	}
	s.TableBytes = (heads+overflow)*bb + n*eb
	s.WastedBytes = max(0, (heads-int64(bucketsFor(int(n))))*bb)
	return s
}
