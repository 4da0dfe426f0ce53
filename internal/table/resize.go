package table

import (
	"runtime"
	"time"
)

// A Kind says what a resize does with the entries it moves.
type Kind uint8

const (
	None    Kind = iota // no resize
	Grow                // into a table of more buckets, which the table starts on its own
	Compact             // into a table of the buckets its starter asks for
	Clear               // into an empty table, dropping the entries
)

// A Resize describes a resize: what its starter asks for, and what the
// table was when it started.
type Resize struct {
	Kind Kind
	// Whole reports that the starter moves the buckets itself (Finish),
	// instead of leaving them to the writes that follow.
	Whole bool
	// Cause is the starter's reason for the resize, in its own terms; the
	// table only hands it back in Done. (An int32 packs it with Kind and
	// Whole into one word of the record that each table carries.)
	Cause   int32
	Buckets int // head buckets of the new table

	// Set by StartResize:
	Entries int   // live entries when it started
	Bytes   int64 // Usage.Bytes when it started
}

// Done describes a resize that a call published.
type Done struct {
	Resize
	Spent time.Duration // time spent moving buckets, over all steps
	// Incremental reports that the buckets moved in more than one step.
	Incremental bool
	// Skipped is the deletes of the policy checks that came due while the
	// resize ran (see Note), which its publication reports instead.
	Skipped int
}

// StartResize starts r on the map's table if that is still generation gen
// (see Usage.Gen) and no resize of it has started, and reports whether it
// did; it makes the first table if the map has none. A Grow is the
// table's own to start; r.Buckets must be at least 1 and a power of two.
// The write's or Finish's step then moves the first buckets.
func (m *Map[K, V]) StartResize(r Resize, gen uint64) bool {
	t := m.table()
	if t.gen != gen || t.resize.Load() != nil || r.Kind == None {
		return false
	}
	return m.start(t, r)
}

// start starts resizing t as r says, unless a resize of t has started.
func (m *Map[K, V]) start(t *table[K, V], r Resize) bool {
	if t.resize.Load() != nil {
		return false
	}
	u := m.Usage()
	r.Entries, r.Bytes = u.Len, u.Bytes
	if head, _, _ := t.sizes(); int64(r.Buckets)*head < AsyncTableBytes {
		// The record lives in the next table: a resize to a small
		// table allocates one object, or two over a bucket.
		nt := t.successor(r)
		if !t.resize.CompareAndSwap(nil, &nt.made.Resize) {
			return false
		}
		// A Finish that found the resize started may have allocated the
		// next table already (see allocNext), and moved buckets into it.
		t.next.CompareAndSwap(nil, nt)
		return true
	}
	rec := new(Resize)
	*rec = r
	if !t.resize.CompareAndSwap(nil, rec) {
		return false
	}
	// A large table is allocated off the write path: zeroing it, and the
	// garbage collector's assist debt that a large allocation incurs,
	// would pause the write that started the resize for milliseconds.
	// Until next is stored, writes go to t as if no resize had started;
	// if the goroutine has not run after stallLimit of them (it waits
	// for a processor), the next write allocates the table itself.
	go m.allocNext(t)
	return true
}

// stallWrites is how many writes, at the least, find a resize started and
// its next table not yet allocated before one of them allocates it, so
// that a goroutine that gets no processor (with GOMAXPROCS=1, until the
// writer blocks) does not stall the resize: the writes go on in the old
// table meanwhile, and the one that allocates pauses once, as the starter
// would have. A table of more steps of buckets waits as many writes as the
// resize takes to move it (see stallLimit), since a goroutine woken on an
// idle processor can take tens of microseconds to start, and a write that
// zeroes a table of tens of megabytes pauses for milliseconds.
const stallWrites = 256

// stallLimit returns the writes that find t's next table not yet allocated
// before one of them allocates it.
func (m *Map[K, V]) stallLimit(t *table[K, V]) int64 {
	return max(stallWrites, int64(t.size())/m.stepSize())
}

// allocNext allocates the next table of t, whose resize has started, and
// stores it unless another goroutine has.
func (m *Map[K, V]) allocNext(t *table[K, V]) {
	if t.next.Load() != nil {
		return
	}
	t.next.CompareAndSwap(nil, t.successor(*t.resize.Load()))
}

// successor returns the table that resize r of t moves the entries into,
// empty, with r recorded in it.
func (t *table[K, V]) successor(r Resize) *table[K, V] {
	nt := newTable[K, V](r.Buckets, t.hasher, t.gen+1)
	nt.made.Resize = r
	return nt
}

// awaitNext counts a write that found t's resize started and its next
// table not yet allocated, and allocates it on the stallLimit-th.
func (m *Map[K, V]) awaitNext(t *table[K, V]) {
	if t.waits.Add(1) == m.stallLimit(t) {
		m.allocNext(t)
	}
}

// maybeGrow starts growing t if it is the map's table, no resize of it has
// started and the map holds more entries than t's load factor allows; the
// write's step then moves the first buckets.
func (m *Map[K, V]) maybeGrow(t *table[K, V]) {
	if t.resize.Load() != nil || m.cur.Load() != t {
		return
	}
	n := m.Len()
	if n <= t.loadFactor().growAt(t.size()) || n <= compactedRoom(t) {
		return
	}
	m.start(t, Resize{Kind: Grow, Buckets: max(2*t.size(), t.loadFactor().bucketsFor(n))})
}

// compactedRoom returns the entries up to which t, if a compaction made it,
// holds on past its load factor: an eighth more than it was made for, so
// that a map compacted at its table's threshold that churns around that
// size does not grow right back, and compact again. 0 for other tables.
func compactedRoom[K comparable, V any](t *table[K, V]) int {
	if t.made.Kind != Compact {
		return 0
	}
	return t.made.Entries + t.made.Entries/8
}

// step1 moves one step of the resize in progress, if any, and returns the
// resize if that published it. Every write calls it once its own change is
// made and counted, so that whatever its caller does with a published
// resize finds the write done.
func (m *Map[K, V]) step1() *Done {
	t := m.cur.Load()
	if t.next.Load() != nil {
		return m.help(t, m.stepSize())
	}
	if t.resize.Load() != nil {
		m.awaitNext(t)
	}
	return nil
}

// stepSize returns the head buckets a write moves during a resize.
func (m *Map[K, V]) stepSize() int64 {
	if m.step == 0 {
		return DefaultStep
	}
	return m.step
}

// Step moves steps steps of the resize in progress, if any (steps times
// Config.Step head buckets), as that many writes would. It returns the
// resize if it published it, and whether buckets are left to claim.
func (m *Map[K, V]) Step(steps int) (done *Done, more bool) {
	t := m.cur.Load()
	if t == nil || t.next.Load() == nil {
		return nil, false
	}
	n := m.stepSize()
	if n < 1<<40 {
		n *= int64(steps)
	}
	done = m.help(t, n)
	return done, t.claimed.Load() < int64(t.size())
}

// HasTable reports whether m has a table: whether a write, Init or
// StartResize has made one.
func (m *Map[K, V]) HasTable() bool { return m.cur.Load() != nil }

// Finish moves every bucket left of the resize of table gen, if that is
// still the map's table and its resize has started, and returns once the
// resize is published: with it if this goroutine published it.
func (m *Map[K, V]) Finish(gen uint64) *Done {
	t := m.cur.Load()
	if t == nil || t.gen != gen || t.resize.Load() == nil {
		return nil
	}
	var done *Done
	n := int64(t.size())
	for m.cur.Load() == t {
		if t.next.Load() != nil && t.claimed.Load() < n {
			if d := m.help(t, n); d != nil {
				done = d
			}
		} else {
			// Another goroutine is moving the last buckets.
			m.allocNext(t)
			runtime.Gosched()
		}
	}
	return done
}

// help moves the next step of t's buckets, of n buckets, into t.next if
// t has a next table and buckets left to claim, and publishes t.next if it
// moved the last of them.
func (m *Map[K, V]) help(t *table[K, V], n int64) *Done {
	size := int64(t.size())
	nt := t.next.Load()
	if nt == nil || t.claimed.Load() >= size {
		return nil // the next table is being allocated, or every bucket claimed
	}
	n = min(n, size)
	end := t.claimed.Add(n)
	start := end - n
	if start >= size {
		return nil
	}
	end = min(end, size)
	drop := t.resize.Load().Kind == Clear
	began := time.Now()
	for i := start; i < end; i++ {
		m.move(t, nt, int(i), drop)
	}
	t.spent.Add(int64(time.Since(began)))
	if t.moved.Add(end-start) == size {
		return m.publish(t, nt)
	}
	return nil
}

// move copies the entries of t's bucket i into nt, or drops them if drop
// (for a Clear), and marks the bucket forwarded.
func (m *Map[K, V]) move(t, nt *table[K, V], i int, drop bool) {
	// Growing, the buckets of nt that t's bucket i maps to receive entries
	// from it alone, and no writer reaches them before it is forwarded, so
	// they need no lock. Shrinking, several buckets of t share one of nt,
	// which writers may already be using.
	lock := nt.mask < t.mask
	if t.words != nil {
		m.moveWords(t, nt, i, drop, lock)
		return
	}
	head := &t.buckets[i]
	head.mu.Lock()
	for b := head; b != nil; b = b.next.Load() {
		for hits := b.meta.Load() & metaHighs; hits != 0; hits &= hits - 1 {
			e := b.slots[slotOf(hits)].Load()
			h := t.entryHash(e)
			if drop {
				m.add(h, -1)
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
// table, and returns t's resize.
func (m *Map[K, V]) publish(t, nt *table[K, V]) *Done {
	// Usage reads the table after the counters: count first, so that no
	// Usage sees the new table without its compaction counted.
	r := &nt.made
	if r.Kind != Grow {
		m.resetPeaks()
	}
	if r.Kind == Compact {
		m.compactions.Add(1)
	}
	r.Spent = time.Duration(t.spent.Load())
	r.Incremental = !r.Whole && m.stepSize() < int64(t.size())
	r.Skipped = int(m.skipped.Swap(0))
	m.cur.Store(nt)
	return r
}
