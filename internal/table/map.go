package table

import (
	"hash/maphash"
	"sync/atomic"
)

// A Map is a concurrent hash table from K to V (see the package doc). Its
// zero value is an empty map, with no table until its first write, that
// moves DefaultStep buckets a step during a resize and spreads its counts
// over DefaultStripes() stripes once writers contend; Init configures it
// otherwise. It must not be copied after first use.
type Map[K comparable, V any] struct {
	// cur is the table; nil until the first write (or Init) makes one.
	cur atomic.Pointer[table[K, V]]
	// step is the head buckets a write moves during a resize: DefaultStep
	// if 0, all of them if MaxInt64. Set by Init only.
	step int64
	// stripes is the number of counter stripes that contention spreads
	// the counts over: DefaultStripes() if 0. Set by Init only.
	stripes int
	// checkEvery is the deletes between checks that writes report due,
	// over all stripes.
	checkEvery atomic.Int64
	// skipped is the deletes of the checks that came due during a resize,
	// which the resize reports when it is published (see Done.Skipped).
	skipped     atomic.Int64
	compactions atomic.Int64 // Compact resizes published
	// The fields above change now and then; every write changes the base
	// counter until writers contend. The padding puts it 64 bytes past
	// cur, which every lookup loads, so that the two never share a line.
	_ [8]byte
	counters
}

// Config sets up a Map.
type Config struct {
	// Capacity is the entries the first table holds without growing.
	Capacity int
	// Stripes is the number of counter stripes that the counts spread
	// over once writers contend: a power of two, at least 1.
	Stripes int
	// Step is the number of head buckets a write moves while a resize
	// runs, a step (each bucket with up to five entries, and its overflow
	// buckets'); 0 makes the write that starts a resize move them all.
	Step int
	// Entries keeps a map whose types allow the word layout in the entry
	// layout, for tests of the entry layout.
	Entries bool
}

// table is one generation of the table. Its first fields, which every
// lookup reads, never change; the resize record and the counters that
// change during a resize come after them, the record keeping the counters
// off the line that readers load.
type table[K comparable, V any] struct {
	// Of buckets and words, the map's layout uses one; the other is nil.
	buckets []bucket[K, V]
	words   []wbucket
	mask    uint64
	gen     uint64 // resizes published before this table
	hasher
	// next is the table this one is being resized into; nil until a
	// resize starts, and while it is being allocated.
	next atomic.Pointer[table[K, V]]
	// resize is the resize of this table, set once by the writer that
	// starts it; nil until then. It points to next's made, or, while a
	// large next table is allocated, to a record of its own.
	resize atomic.Pointer[Resize]
	// made is the resize that made this table: its Resize is set before
	// the table is stored in the next field of the one it resizes, the
	// rest by the goroutine that publishes it, which returns it.
	made Done

	claimed  atomic.Int64 // buckets claimed for moving, a step at a time
	moved    atomic.Int64 // buckets moved
	spent    atomic.Int64 // nanoseconds spent moving
	overflow atomic.Int64 // overflow buckets allocated in this table
	// waits counts the writes that found the resize started and next not
	// yet allocated; see awaitNext.
	waits atomic.Int64
}

// oneBucket is a table of one bucket, allocated as one object; oneWord
// is one of the word layout.
type oneBucket[K comparable, V any] struct {
	t table[K, V]
	b [1]bucket[K, V]
}

type oneWord[K comparable, V any] struct {
	t table[K, V]
	b [1]wbucket
}

// newTable returns an empty table of the given head buckets (a power of
// two) hashing with hs, of generation gen. A table of one bucket is one
// allocation.
func newTable[K comparable, V any](buckets int, hs hasher, gen uint64) *table[K, V] {
	var t *table[K, V]
	switch {
	case buckets == 1 && hs.words:
		o := new(oneWord[K, V])
		t = &o.t
		t.words = o.b[:]
	case buckets == 1:
		o := new(oneBucket[K, V])
		t = &o.t
		t.buckets = o.b[:]
	case hs.words:
		t = &table[K, V]{words: make([]wbucket, buckets)}
	default:
		t = &table[K, V]{buckets: make([]bucket[K, V], buckets)}
	}
	t.mask, t.gen, t.hasher = uint64(buckets-1), gen, hs
	return t
}

// Init sets up an empty m as c says. It panics if c.Stripes is not a
// power of two or c.Step is negative.
func (m *Map[K, V]) Init(c Config) {
	if c.Stripes < 1 || c.Stripes&(c.Stripes-1) != 0 || c.Step < 0 {
		panic("table: Init with a Config of Stripes not a power of two or a negative Step")
	}
	m.stripes = c.Stripes
	m.step = stepBuckets(c.Step)
	hs := newHasher[K, V](!c.Entries)
	m.cur.Store(newTable[K, V](hs.loadFactor().bucketsFor(c.Capacity), hs, 0))
}

// table returns m's table, making the first one if m has none.
func (m *Map[K, V]) table() *table[K, V] {
	if t := m.cur.Load(); t != nil {
		return t
	}
	// Of the writers racing to make the first table, the first to store
	// it wins; the others use that one.
	m.cur.CompareAndSwap(nil, newTable[K, V](1, newHasher[K, V](true), 0))
	return m.cur.Load()
}

// Get returns the value stored for k and whether it was present. It takes
// no lock and writes no shared memory.
func (m *Map[K, V]) Get(k K) (v V, ok bool) {
	// This is hash, load and lookup by hand: as methods they would not
	// inline here, and the calls cost a tenth of a Get.
	t := m.cur.Load()
	if t == nil {
		return v, false
	}
	if t.words != nil {
		// The word layout: see wline. A reader reads a line again if a
		// removal from it ran between its loads of the line's control word.
		kw := intBits(k)
		h := mixInt(kw, t.intSeed)
		w := h2(h)
		l := t.headLine(h)
		c := l.ctrl.Load()
		for c&forwarded != 0 {
			t = t.next.Load()
			l = t.headLine(h)
			c = l.ctrl.Load()
		}
		for {
			torn := false
			for hits := wordMatches(c, w); hits != 0; hits &= hits - 1 {
				s := slotAt(l, hits)
				if s.k.Load() != kw {
					continue
				}
				vw := s.v.Load()
				if (l.ctrl.Load()^c)&seqBits == 0 {
					return fromWord[V](vw), true
				}
				torn = true
				break
			}
			if !torn {
				if c&chainBit(w) == 0 {
					return v, false
				}
				if l = l.next.Load(); l == nil {
					return v, false
				}
			}
			c = l.ctrl.Load()
		}
	}
	var h uint64
	if t.intKey {
		h = mixInt(intBits(k), t.intSeed)
	} else {
		h = maphash.Comparable(t.seed, k)
	}
	w := h2(h)
	b := &t.buckets[h&t.mask]
	meta := b.meta.Load()
	for meta&forwarded != 0 {
		t = t.next.Load()
		b = &t.buckets[h&t.mask]
		meta = b.meta.Load()
	}
	for {
		for hits := matches(meta, w); hits != 0; hits &= hits - 1 {
			if e := b.slots[slotOf(hits)].Load(); e != nil && e.Key == k {
				return e.Val, true
			}
		}
		if b = b.next.Load(); b == nil {
			return v, false
		}
		meta = b.meta.Load()
	}
}

// load returns the entry for k, which has hash h, or nil, starting at t.
// It takes no lock.
func load[K comparable, V any](t *table[K, V], k K, h uint64) *Entry[K, V] {
	for {
		b := &t.buckets[h&t.mask]
		meta := b.meta.Load()
		if meta&forwarded == 0 {
			e, _, _ := b.lookup(meta, k, h)
			return e
		}
		t = t.next.Load()
	}
}

// lockBucket locks and returns the head bucket for hash h in t or, if it
// has moved, in the table it moved to.
func lockBucket[K comparable, V any](t *table[K, V], h uint64) (*table[K, V], *bucket[K, V]) {
	for {
		b := &t.buckets[h&t.mask]
		b.mu.Lock()
		if b.meta.Load()&forwarded == 0 {
			return t, b
		}
		b.mu.Unlock()
		t = t.next.Load()
	}
}

// size returns t's head buckets.
func (t *table[K, V]) size() int { return int(t.mask) + 1 }

// Words reports whether m keeps its pairs in its buckets as words (the
// word layout) rather than in entries; false until m has a table.
func (m *Map[K, V]) Words() bool {
	t := m.cur.Load()
	return t != nil && t.words != nil
}

// Stripes returns the number of counter stripes that the counts spread over
// once writers contend.
func (m *Map[K, V]) Stripes() int {
	if m.stripes == 0 {
		return DefaultStripes()
	}
	return m.stripes
}
