package table

import (
	"hash/maphash"
	"sync/atomic"
)

// A Map is a concurrent hash table from K to V (see the package doc). It
// must be set up by Init before use and not copied after.
type Map[K comparable, V any] struct {
	cur  atomic.Pointer[table[K, V]]
	seed maphash.Seed
	// intKey reports whether K is an integer type, hashed by mixing its
	// bits with intSeed instead of by maphash.
	intKey  bool
	intSeed uint64

	stripes    []stripe
	stripeMask uint64
	// step is the head buckets a write moves during a resize; MaxInt64
	// moves them all at once.
	step int64

	// The fields above are read by every operation; these change now and
	// then, on a cache line of their own.
	_ [cacheLine]byte
	// checkEvery is the deletes a stripe counts between checks it reports
	// due.
	checkEvery  atomic.Int64
	compactions atomic.Int64 // Compact resizes published
}

// Config sets up a Map.
type Config struct {
	// Capacity is the entries the first table holds without growing.
	Capacity int
	// Stripes is the number of counter stripes: a power of two, at least 1.
	Stripes int
	// Step is the number of head buckets a write moves while a resize
	// runs, a step (each bucket with up to five entries, and its overflow
	// buckets'); 0 makes the write that starts a resize move them all.
	Step int
}

// table is one generation of the table. The fields after the padding
// change during a resize; they are kept off the line that readers load.
type table[K comparable, V any] struct {
	buckets []bucket[K, V]
	mask    uint64
	gen     uint64 // resizes published before this table
	// next is the table this one is being resized into; nil until a
	// resize starts, and while a goroutine of its own allocates it.
	next atomic.Pointer[table[K, V]]
	// resize is the resize of this table, set once by the writer that
	// starts it; nil until then.
	resize atomic.Pointer[Resize]
	_      [cacheLine]byte

	claimed  atomic.Int64 // buckets claimed for moving, a step at a time
	moved    atomic.Int64 // buckets moved
	spent    atomic.Int64 // nanoseconds spent moving
	overflow atomic.Int64 // overflow buckets allocated in this table
}

func newTable[K comparable, V any](buckets int, gen uint64) *table[K, V] {
	return &table[K, V]{buckets: make([]bucket[K, V], buckets), mask: uint64(buckets - 1), gen: gen}
}

// Init sets up an empty m as c says. It panics if c.Stripes is not a
// power of two or c.Step is negative.
func (m *Map[K, V]) Init(c Config) {
	if c.Stripes < 1 || c.Stripes&(c.Stripes-1) != 0 || c.Step < 0 {
		panic("table: Init with a Config of Stripes not a power of two or a negative Step")
	}
	m.seed = maphash.MakeSeed()
	m.intKey = isIntKey[K]()
	m.intSeed = maphash.Comparable(m.seed, uint64(0x5eed))
	m.stripes = make([]stripe, c.Stripes)
	m.stripeMask = uint64(c.Stripes - 1)
	m.step = stepBuckets(c.Step)
	m.checkEvery.Store(1)
	m.cur.Store(newTable[K, V](BucketsFor(c.Capacity), 0))
}

// Get returns the value stored for k and whether it was present. It takes
// no lock and writes no shared memory.
func (m *Map[K, V]) Get(k K) (v V, ok bool) {
	// This is hash, load and lookup by hand: the compiler inlines none of
	// them, and the calls cost a tenth of a Get.
	var h uint64
	if m.intKey {
		h = mixInt(intBits(k), m.intSeed)
	} else {
		h = maphash.Comparable(m.seed, k)
	}
	w := h2(h)
	t := m.cur.Load()
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

// load returns the entry for k, which has hash h, or nil. It takes no lock.
func (m *Map[K, V]) load(k K, h uint64) *Entry[K, V] {
	t := m.cur.Load()
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

// Stripes returns the number of counter stripes.
func (m *Map[K, V]) Stripes() int { return len(m.stripes) }
