package shrinkmap

import (
	"runtime"
	"time"
)

// Resizing. One writer starts a resize by winning starting and then
// storing a fresh table in next (allocated on a goroutine of its own if it
// is large). From then on every write to the map, once its own change is
// made, moves a stride of the old table's buckets (see help): it claims the
// stride from claimed, locks each bucket, copies its entries into the next
// table and sets the forwarded bit in the bucket's meta word. Readers and
// writers that find the bit continue in the next table. The goroutine that
// moves the last bucket publishes the next table with one atomic store; the
// old one is then garbage once no reader holds it. No goroutine ever waits
// for another's copy, and no operation moves more than one stride, except
// Shrink and Clear, which finish the resize they start.
//
// A forwarded bucket is never changed again, so a reader that loaded it
// before the bit was set sees the entries it held at some instant after
// the reader started, and returns what a lookup at that instant would have.

// resizeKind says what a resize does with the entries it moves.
type resizeKind uint8

const (
	growKind    resizeKind = iota // into a table with more buckets
	compactKind                   // into a table sized for the live entries
	clearKind                     // drop the entries
)

// resizeInfo describes a resize; it is written before ctable.next.
type resizeInfo struct {
	kind        resizeKind
	manual      bool // Shrink or Clear started it
	reason      ShrinkReason
	entries     int   // live entries when it started
	bytesBefore int64 // Stats.TableBytes when it started
}

// startResize starts resizing t into a fresh table of the given buckets,
// and reports whether it did: false if a resize of t has already started.
func (c *Concurrent[K, V]) startResize(t *ctable[K, V], info resizeInfo, buckets int) bool {
	if !t.starting.CompareAndSwap(false, true) {
		return false
	}
	t.resize = info
	if int64(buckets)*bucketBytes[K, V]() < asyncTableBytes {
		t.next.Store(newTable[K, V](buckets))
		return true
	}
	// A large table is allocated off the write path: zeroing it, and the
	// garbage collector's assist debt that a large allocation incurs,
	// would pause the write that started the resize for milliseconds.
	// Until next is stored, writes go to t as if no resize had started.
	go func() { t.next.Store(newTable[K, V](buckets)) }()
	return true
}

// asyncTableBytes is the size of a new table's bucket array from which a
// goroutine of its own allocates it. Below it, allocating in place pauses
// the write for tens of microseconds, and starts the resize at once where
// a goroutine might wait for a processor until the writes are over.
const asyncTableBytes = 1 << 20

// help moves the next stride of t's buckets into t.next, if t has a next
// table and buckets left to claim, and publishes t.next if it moved the
// last of them.
func (c *Concurrent[K, V]) help(t *ctable[K, V], stride int64) {
	n := int64(len(t.buckets))
	nt := t.next.Load()
	if nt == nil || t.claimed.Load() >= n {
		return // the next table is being allocated, or every bucket claimed
	}
	stride = min(stride, n)
	end := t.claimed.Add(stride)
	start := end - stride
	if start >= n {
		return
	}
	end = min(end, n)
	began := time.Now()
	for i := start; i < end; i++ {
		c.move(t, nt, int(i))
	}
	t.spent.Add(int64(time.Since(began)))
	if t.moved.Add(end-start) == n {
		c.publish(t, nt)
	}
}

// move copies the entries of t's bucket i into nt, or drops them for a
// Clear, and marks the bucket forwarded.
func (c *Concurrent[K, V]) move(t, nt *ctable[K, V], i int) {
	head := &t.buckets[i]
	head.mu.Lock()
	drop := t.resize.kind == clearKind
	// Growing, the buckets of nt that t's bucket i maps to receive entries
	// from it alone, and no writer reaches them before it is forwarded, so
	// they need no lock. Shrinking, several buckets of t share one of nt,
	// which writers may already be using.
	lock := nt.mask < t.mask
	for b := head; b != nil; b = b.next.Load() {
		for m := b.meta.Load() & metaHighs; m != 0; m &= m - 1 {
			e := b.slots[slotOf(m)].Load()
			h := c.entryHash(e)
			if drop {
				c.stripe(h).n.Add(-1)
				continue
			}
			d := &nt.buckets[h&nt.mask]
			if lock {
				d.mu.Lock()
			}
			nt.add(d, e, h)
			if lock {
				d.mu.Unlock()
			}
		}
	}
	head.meta.Store(head.meta.Load() | forwarded)
	head.mu.Unlock()
}

// publish makes nt, into which every bucket of t has moved, the map's
// table, and records a completed compaction.
func (c *Concurrent[K, V]) publish(t, nt *ctable[K, V]) {
	// Stats reads the table after the counters: count first, so that no
	// Stats sees the new table without its compaction counted.
	info := t.resize
	if info.kind != growKind {
		c.resetPeaks()
	}
	if info.kind == compactKind {
		c.shrinks.Add(1)
	}
	c.table.Store(nt)
	if info.kind != compactKind || c.cfg.hook == nil {
		return
	}
	c.cfg.hook(ShrinkEvent{
		Entries:     info.entries,
		BytesBefore: info.bytesBefore,
		BytesAfter:  c.statsOf(nt).TableBytes,
		Duration:    time.Duration(t.spent.Load()),
		Manual:      info.manual,
		Reason:      info.reason,
		Incremental: !info.manual && c.stride < int64(len(t.buckets)),
	})
}

// finish helps t's resize, which must have started, until its next table
// is published. Only Shrink and Clear wait like this.
func (c *Concurrent[K, V]) finish(t *ctable[K, V]) {
	for c.table.Load() == t {
		if t.next.Load() != nil && t.claimed.Load() < int64(len(t.buckets)) {
			c.help(t, int64(len(t.buckets)))
		} else {
			// Another goroutine is allocating the next table or moving the
			// last buckets.
			runtime.Gosched()
		}
	}
}

// helpResize moves a stride of buckets if a resize is in progress. Every
// write calls it once its own change is made and counted, so that a
// shrink hook that panics in the write that completes a compaction leaves
// that write done.
func (c *Concurrent[K, V]) helpResize() {
	if t := c.table.Load(); t.next.Load() != nil {
		c.help(t, c.stride)
	}
}

// maybeGrow starts growing t if it is the map's table, no resize of it has
// started and the map holds more entries than t's load factor allows; the
// write's helpResize then moves the first stride. It runs after a write
// added an overflow bucket to t: a crowded bucket is the
// sign that the load may be high, and summing the counters costs O(stripes).
func (c *Concurrent[K, V]) maybeGrow(t *ctable[K, V]) {
	if t.starting.Load() || c.table.Load() != t {
		return
	}
	n := c.count()
	if n <= growAt(len(t.buckets)) {
		return
	}
	c.startResize(t, resizeInfo{kind: growKind, entries: n}, max(2*len(t.buckets), bucketsFor(n)))
}

// maybeCompact is where the map consults its policy: it computes the whole
// map's Stats and, if no resize is in progress, a table sized for the live
// entries (but not below the capacity floor) would have fewer buckets, and
// the policy says so, starts a compaction into that table (the caller then
// moves the first stride, see helpResize). Deletes call it
// once per about Len/8 of them (see deleted), and so does the background
// goroutine of WithCompactEvery; Get never does. A panic in the policy
// propagates to the caller, leaving the map unchanged.
func (c *Concurrent[K, V]) maybeCompact(deletes int) {
	t := c.table.Load()
	if t.starting.Load() {
		return
	}
	s := c.statsOf(t)
	// Each stripe asks again after quota deletes of its own: with deletes
	// spread over the stripes, the stripes ask about once each per Len/8
	// deletes.
	if q := max(1, int64(s.Len)/(8*int64(len(c.stripes)))); c.quota.Load() != q {
		c.quota.Store(q)
	}
	buckets := bucketsFor(max(s.Len, c.cfg.capacity))
	reason, ok := c.askPolicy(&s, deletes, buckets < len(t.buckets))
	if !ok {
		return
	}
	c.startResize(t, resizeInfo{kind: compactKind, entries: s.Len, bytesBefore: s.TableBytes, reason: reason}, buckets)
}

// askPolicy records a policy check that saw s and deletes since the last
// one, and, if smaller (a table for the live entries would have fewer
// buckets), asks the policy. It reports whether to compact, and why.
func (c *Concurrent[K, V]) askPolicy(s *Stats, deletes int, smaller bool) (ShrinkReason, bool) {
	c.pol.mu.Lock()
	defer c.pol.mu.Unlock()
	shrinks := c.shrinks.Load()
	c.pol.observe(s, deletes, smaller, shrinks)
	if !smaller {
		return 0, false
	}
	return c.pol.decide(c.cfg.policy, *s, shrinks)
}

// resizeNow finishes any resize in progress, then resizes the table now:
// for compactKind into a table sized for the live entries, for clearKind
// into an empty one sized for the capacity floor.
func (c *Concurrent[K, V]) resizeNow(kind resizeKind) {
	for {
		t := c.table.Load()
		if t.starting.Load() {
			c.finish(t)
			continue
		}
		s := c.statsOf(t)
		buckets := bucketsFor(s.Len)
		if kind == clearKind {
			buckets = bucketsFor(c.cfg.capacity)
		}
		info := resizeInfo{kind: kind, manual: true, entries: s.Len, bytesBefore: s.TableBytes, reason: ReasonManual}
		if c.startResize(t, info, buckets) {
			c.pol.mu.Lock()
			if kind == clearKind {
				c.pol.hist.cleared()
			} else {
				c.pol.hist.observe(s.Len, s.Peak, 0)
				c.pol.hist.compacted(s.Len)
			}
			c.pol.mu.Unlock()
			c.finish(t)
			return
		}
	}
}
