package shrinkmap

import (
	"fmt"
	"hash/maphash"
	"iter"
	"math"
	"math/bits"
	"runtime"
	"sync/atomic"
	"weak"
)

// Concurrent is a map from K to V that is safe for concurrent use by
// multiple goroutines and gives memory back after deletes.
//
// It is a hash table of its own: buckets of five entries, hashed by
// hash/maphash with a per-map seed. Get and Has take no lock and write no
// shared memory, so readers never contend, not even on one key. Set,
// Delete and the compound operations (GetOrSet, GetAndDelete, Swap,
// Compute) lock the one bucket that holds the key; Delete and GetAndDelete
// of an absent key lock nothing. Every operation runs in amortized O(1)
// time. Each write of a value stores a newly allocated entry, so a Get
// that races a Set returns the old or the new value whole, for any V.
//
// The table grows past 3/4 full and compacts when its Policy says so (see
// WithPolicy; the policy sees the whole map's Stats, computed from striped
// counters), into a table sized for the live entries and at least the
// WithCapacity floor. Both resizes are incremental: while one runs, every
// write first moves a bounded stride of buckets into the new table (see
// WithIncremental), readers follow moved buckets to the new table, and no
// goroutine waits for the whole copy; the last move publishes the new
// table and the old one is left to the garbage collector. Shrink and Clear
// are the exceptions: they finish the resize they start.
//
// Options apply as follows. WithPolicy's policy is consulted with the
// whole map's Stats (see Stats for what they mean here) after about every
// Len/8 deletes, and only when a table sized for the live entries would
// have fewer buckets than the current one; never during a resize, and
// never by Get. WithCapacity(n) sizes the first table for n entries and is
// the floor below which automatic compaction does not go; Clear keeps that
// size, Shrink ignores it. WithIncremental(step) makes each write during a
// resize move step buckets (64 at DefaultStep, up to 5 entries each), and
// step 0 makes the write that starts a resize do it all. WithShrinkHook's hook runs on the
// goroutine whose write moved the last bucket of a compaction, with no
// lock held. WithShards sets the number of counter stripes and
// WithCompactEvery starts a background goroutine; both are Concurrent's
// own.
//
// Use Concurrent when goroutines share a map that spikes. Unlike sync.Map
// it is typed, and gives back a drained table as a whole; unlike a map
// under one sync.RWMutex, readers do not touch a shared lock. A map owned
// by one goroutine is faster as a ShrinkMap. The zero value is not usable:
// make a Concurrent with NewConcurrent. A Concurrent must not be copied
// after first use (go vet reports copies). Close stops the background
// compaction that WithCompactEvery starts.
type Concurrent[K comparable, V any] struct {
	_     noCopy
	table atomic.Pointer[ctable[K, V]]
	seed  maphash.Seed
	// intKey reports whether K is an integer type, hashed by mixing its
	// bits with intSeed instead of by maphash.
	intKey  bool
	intSeed uint64

	stripes    []cstripe
	stripeMask uint64

	cfg config
	// stride is the buckets a write moves during a resize; MaxInt64 moves
	// them all at once.
	stride int64

	bg      *compactor // nil without WithCompactEvery
	cleanup runtime.Cleanup

	// The fields above are read by every operation; these change now and
	// then, on a cache line of their own.
	_ [cacheLine]byte
	// quota is the deletes a stripe counts between policy checks.
	quota   atomic.Int64
	shrinks atomic.Int64
	pol     cpolicy // the policy's history, updated at each check
}

// cacheLine is the span of memory the counter stripes are padded to: two
// 64-byte lines, since x86 prefetches lines in adjacent pairs.
const cacheLine = 128

// DefaultShards returns the number of counter stripes of a Concurrent made
// without WithShards: 4*GOMAXPROCS (read when it is called) rounded up to a
// power of two, and at least 16. Each write adds to one stripe, picked by
// the key's hash, so that writers on different cores rarely share a
// counter's cache line; Len and Stats sum them in O(stripes).
func DefaultShards() int {
	return max(16, 1<<bits.Len(uint(4*runtime.GOMAXPROCS(0)-1)))
}

// NewConcurrent returns an empty map configured by opts (see Concurrent for
// how the options apply). It panics with a message naming the field, the
// value and the allowed range if an option is invalid. With
// WithCompactEvery it starts the background goroutine that Close stops.
func NewConcurrent[K comparable, V any](opts ...Option) *Concurrent[K, V] {
	cfg := newConfig(opts)
	n := cfg.shards
	if n == 0 {
		n = DefaultShards()
	}
	seed := maphash.MakeSeed()
	c := &Concurrent[K, V]{
		seed:       seed,
		intKey:     isIntKey[K](),
		intSeed:    maphash.Comparable(seed, uint64(0x5eed)),
		stripes:    make([]cstripe, n),
		stripeMask: uint64(n - 1),
		cfg:        cfg,
		stride:     strideFor(cfg.step),
	}
	c.quota.Store(1)
	c.table.Store(newTable[K, V](bucketsFor(cfg.capacity)))
	if cfg.compactEvery > 0 {
		c.bg = &compactor{stop: make(chan struct{}), done: make(chan struct{})}
		// The goroutine holds the map weakly, so that a map dropped without
		// Close becomes unreachable and the cleanup stops it.
		go compactLoop(c.bg, weak.Make(c), cfg.compactEvery)
		c.cleanup = runtime.AddCleanup(c, (*compactor).halt, c.bg)
	}
	return c
}

// strideFor returns the buckets a write moves during a resize for
// WithIncremental(step): step of them (up to 5*step entries), or all of
// them for step 0. At DefaultStep a write moves a bounded few microseconds'
// worth, and a table of 2^k buckets finishes resizing after 2^k/64 writes,
// so that a map that is mostly read does not keep readers following moved
// buckets for long.
func strideFor(step int) int64 {
	if step == 0 {
		return math.MaxInt64
	}
	return int64(step)
}

// hash returns the hash of k. It is small enough to inline.
func (c *Concurrent[K, V]) hash(k K) uint64 {
	if c.intKey {
		return mixInt(intBits(k), c.intSeed)
	}
	return c.hashAny(k)
}

// hashAny returns the maphash hash of k.
func (c *Concurrent[K, V]) hashAny(k K) uint64 {
	return maphash.Comparable(c.seed, k)
}

// entryHash returns the hash by which e is placed: its key's, or for a key
// not equal to itself (a NaN), which the runtime hashes at random, one
// derived from e's address.
func (c *Concurrent[K, V]) entryHash(e *centry[K, V]) uint64 {
	if e.key != e.key {
		return ptrHash(e)
	}
	return c.hash(e.key)
}

// lockBucket locks and returns the head bucket for hash h in t or, if it
// has moved, in the table it moved to.
func (c *Concurrent[K, V]) lockBucket(t *ctable[K, V], h uint64) (*ctable[K, V], *cbucket[K, V]) {
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

// load returns the entry for k, which has hash h, or nil. It takes no lock.
func (c *Concurrent[K, V]) load(k K, h uint64) *centry[K, V] {
	t := c.table.Load()
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

// Get returns the value stored for k and whether it was present. It takes
// no lock and writes no shared memory.
func (c *Concurrent[K, V]) Get(k K) (v V, ok bool) {
	// This is hash, load and lookup by hand: the compiler inlines none of
	// them, and the calls cost a tenth of a Get.
	var h uint64
	if c.intKey {
		h = mixInt(intBits(k), c.intSeed)
	} else {
		h = maphash.Comparable(c.seed, k)
	}
	w := h2(h)
	t := c.table.Load()
	b := &t.buckets[h&t.mask]
	meta := b.meta.Load()
	for meta&forwarded != 0 {
		t = t.next.Load()
		b = &t.buckets[h&t.mask]
		meta = b.meta.Load()
	}
	for {
		for m := matches(meta, w); m != 0; m &= m - 1 {
			if e := b.slots[slotOf(m)].Load(); e != nil && e.key == k {
				return e.val, true
			}
		}
		if b = b.next.Load(); b == nil {
			return v, false
		}
		meta = b.meta.Load()
	}
}

// Has reports whether k is present, as Get does.
func (c *Concurrent[K, V]) Has(k K) bool {
	_, ok := c.Get(k)
	return ok
}

// Set stores v for k. As in a native map, a key that is not equal to itself
// (a NaN) adds a new entry on every Set and can be reached only by
// iteration.
func (c *Concurrent[K, V]) Set(k K, v V) {
	c.store(k, v)
}

// store stores v for k and returns the entry it replaced, nil if k was
// absent.
func (c *Concurrent[K, V]) store(k K, v V) *centry[K, V] {
	e := &centry[K, V]{k, v}
	h := c.entryHash(e)
	t, head := c.lockBucket(c.table.Load(), h)
	old, at, i := head.lookup(head.meta.Load(), k, h)
	grew := t.put(head, at, i, e, h)
	head.mu.Unlock()
	if old == nil {
		c.inserted(t, h, grew)
	}
	c.helpResize()
	return old
}

// inserted counts a new entry with hash h, added to t, and checks t's load
// if that took an overflow bucket.
func (c *Concurrent[K, V]) inserted(t *ctable[K, V], h uint64, grew bool) {
	c.added(h)
	if grew {
		c.maybeGrow(t)
	}
}

// Delete removes k, if present, and compacts the map if its policy says so
// (see Concurrent). Deleting an absent key locks nothing.
func (c *Concurrent[K, V]) Delete(k K) {
	c.GetAndDelete(k)
}

// GetOrSet returns the value stored for k and true if k is present;
// otherwise it stores v for k and returns v and false. It is atomic: of
// several goroutines calling GetOrSet for an absent key at once, exactly one
// stores its value and all get that value back. A present key is read
// without a lock.
func (c *Concurrent[K, V]) GetOrSet(k K, v V) (actual V, loaded bool) {
	if k != k {
		c.Set(k, v)
		return v, false
	}
	h := c.hash(k)
	if e := c.load(k, h); e != nil {
		return e.val, true
	}
	t, head := c.lockBucket(c.table.Load(), h)
	if e, _, _ := head.lookup(head.meta.Load(), k, h); e != nil {
		head.mu.Unlock()
		return e.val, true
	}
	grew := t.add(head, &centry[K, V]{k, v}, h)
	head.mu.Unlock()
	c.inserted(t, h, grew)
	c.helpResize()
	return v, false
}

// GetAndDelete removes k and returns the value it had and true, or the zero
// value and false if k was absent, atomically. An absent key is found
// absent without a lock.
func (c *Concurrent[K, V]) GetAndDelete(k K) (V, bool) {
	var zero V
	h := c.hash(k)
	if c.load(k, h) == nil {
		c.helpResize()
		return zero, false
	}
	_, head := c.lockBucket(c.table.Load(), h)
	e, at, i := head.lookup(head.meta.Load(), k, h)
	if e != nil {
		at.remove(i)
	}
	head.mu.Unlock()
	if e != nil {
		c.deleted(h)
	}
	c.helpResize()
	if e == nil {
		return zero, false
	}
	return e.val, true
}

// Swap stores v for k and returns the previous value and true, or the zero
// value and false if k was absent, atomically.
func (c *Concurrent[K, V]) Swap(k K, v V) (previous V, loaded bool) {
	old := c.store(k, v)
	if old == nil {
		return previous, false
	}
	return old.val, true
}

// A ComputeOp tells Compute what to do with the value its function returns.
type ComputeOp int

const (
	// CancelOp leaves the map as it was: an absent key stays absent and a
	// present one keeps its value. It is the zero ComputeOp.
	CancelOp ComputeOp = iota
	// UpdateOp stores the returned value for the key, adding it if absent.
	UpdateOp
	// DeleteOp removes the key, if present.
	DeleteOp
)

// Compute reads, decides and writes the entry for k atomically: it calls f
// with k's value and whether k is present (the zero value and false if
// not), then stores f's returned value (UpdateOp), removes k (DeleteOp) or
// leaves the map as it was (CancelOp), as f's returned op says. It returns
// k's value after the operation and whether k is then present.
//
// For example, this counts occurrences of a word:
//
//	c.Compute(word, func(n int, _ bool) (int, ComputeOp) { return n + 1, UpdateOp })
//
// f runs with k's bucket locked: other goroutines' writes to the keys of
// that bucket (a handful) wait for it, so keep it short, and it must not
// use the map (that may deadlock); Gets never wait. If f panics, the panic
// propagates to the caller of Compute and the map is left as it was, with
// the lock released. An op other than the three above makes Compute panic,
// leaving the map as it was. For a key not equal to itself (a NaN), f runs
// with no lock held, always sees an absent key, and UpdateOp adds an entry.
func (c *Concurrent[K, V]) Compute(k K, f func(old V, loaded bool) (V, ComputeOp)) (actual V, ok bool) {
	if k != k {
		var zero V
		v, op := f(zero, false)
		switch op {
		case CancelOp, DeleteOp:
			return zero, false
		case UpdateOp:
			c.Set(k, v)
			return v, true
		}
		panic(badOp(op))
	}
	h := c.hash(k)
	t, head := c.lockBucket(c.table.Load(), h)
	actual, ok, delta, grew := computeLocked(t, head, k, h, f)
	switch {
	case delta > 0:
		c.inserted(t, h, grew)
	case delta < 0:
		c.deleted(h)
	}
	c.helpResize()
	return actual, ok
}

// computeLocked does Compute's work on the chain headed by head, which the
// caller has locked and which it unlocks, also if f panics. delta is the
// change in the number of entries; grew reports an added overflow bucket.
func computeLocked[K comparable, V any](t *ctable[K, V], head *cbucket[K, V], k K, h uint64, f func(V, bool) (V, ComputeOp)) (actual V, ok bool, delta int, grew bool) {
	defer head.mu.Unlock()
	e, at, i := head.lookup(head.meta.Load(), k, h)
	if e != nil {
		actual, ok = e.val, true
	}
	v, op := f(actual, ok)
	switch op {
	case CancelOp:
		return actual, ok, 0, false
	case UpdateOp:
		grew = t.put(head, at, i, &centry[K, V]{k, v}, h)
		if e == nil {
			delta = 1
		}
		return v, true, delta, grew
	case DeleteOp:
		if e != nil {
			at.remove(i)
			delta = -1
		}
		var zero V
		return zero, false, delta, false
	}
	panic(badOp(op))
}

func badOp(op ComputeOp) string {
	return fmt.Sprintf("shrinkmap: Compute function returned ComputeOp(%d); want CancelOp, UpdateOp or DeleteOp", int(op))
}

// Len returns the number of entries, summed over the counter stripes in
// O(stripes) time. It is exact when no other goroutine writes meanwhile;
// otherwise it is not a snapshot of any one instant.
func (c *Concurrent[K, V]) Len() int {
	return c.count()
}

// Clear removes every entry and replaces the table with an empty one sized
// for the WithCapacity floor, so that the old one's memory can be freed;
// unlike the builtin clear, which keeps the table. It first finishes any
// resize in progress, then visits every bucket: O(Len + table size) time.
// An entry that another goroutine sets during Clear may survive it.
func (c *Concurrent[K, V]) Clear() {
	c.resizeNow(clearKind)
}

// Shrink compacts the map now: it finishes any resize in progress, then
// moves the live entries into a fresh table sized for them (ignoring the
// WithCapacity floor), in O(Len + table size) time on the calling
// goroutine. Other goroutines' operations do not wait for it: readers and
// writers follow the buckets it has moved, and writers help move the rest.
func (c *Concurrent[K, V]) Shrink() {
	c.resizeNow(compactKind)
}

// Stats returns the map's Stats, computed in O(stripes) time from the
// counter stripes and the table; under concurrent writes they are not a
// snapshot of one instant. For a Concurrent map:
//   - Peak is the sum of the stripes' peaks, which is at least the largest
//     Len since the last compaction or Clear, and more if the stripes
//     peaked at different times;
//   - TableBytes counts the bucket arrays (of both tables during a
//     resize), the overflow buckets, and one entry object per live entry;
//   - WastedBytes is the bytes of head buckets beyond those of a table
//     sized for Len (overflow buckets are not counted);
//   - Migrating reports a resize in progress, growth or compaction, and
//     MigrationLeft the old table's buckets it has yet to move;
//   - DrainedFrom, LowDeletes, Refills and MemoryPressure are those of the
//     last policy check (about every Len/8 deletes, see WithPolicy), which
//     sees the map's counts and peak, not each operation: a drain's end and
//     a refill count from the peak, and the deletes since the previous
//     check count as drained if the map is drained at the check.
func (c *Concurrent[K, V]) Stats() Stats {
	s := c.statsOf(c.table.Load())
	c.pol.mu.Lock()
	c.pol.fill(&s)
	c.pol.mu.Unlock()
	return s
}

// All returns an iterator over the map's key-value pairs. The iteration
// order is not specified.
//
// All visits the table one bucket at a time: it copies a bucket's entries
// while holding its lock, releases the lock and then yields them, so it
// never calls the loop body with a lock held and the body may use the map
// freely. It promises, like sync.Map.Range:
//   - each key present in the map for the whole iteration is yielded
//     exactly once, also while the table resizes;
//   - no key is yielded more than once (each NaN entry counts as its own
//     key), and a key set or deleted during the iteration may or may not
//     be yielded;
//   - each yielded value is one the key held at some point during the
//     iteration.
//
// A full iteration takes O(Len + table size) time; an early break or a
// panicking body leaves the map as it was.
func (c *Concurrent[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		t := c.table.Load()
		var buf []*centry[K, V]
		for i := range t.buckets {
			buf = c.collect(buf[:0], t, uint64(i), t.mask)
			for _, e := range buf {
				if !yield(e.key, e.val) {
					return
				}
			}
		}
	}
}

// collect appends to buf the entries whose hashes h have h&mask == class,
// each read from the table that holds it now, starting the search at t.
func (c *Concurrent[K, V]) collect(buf []*centry[K, V], t *ctable[K, V], class, mask uint64) []*centry[K, V] {
	if t.mask < mask {
		// t's bucket holds the class along with others.
		return c.collectBucket(buf, t, class&t.mask, class, mask)
	}
	// The class spans t's buckets class, class+mask+1, ...
	for j := class; j <= t.mask; j += mask + 1 {
		buf = c.collectBucket(buf, t, j, j, t.mask)
	}
	return buf
}

// collectBucket appends to buf the entries of t's bucket j whose hashes h
// have h&mask == class, or collects them from the next table if the
// bucket has moved.
func (c *Concurrent[K, V]) collectBucket(buf []*centry[K, V], t *ctable[K, V], j, class, mask uint64) []*centry[K, V] {
	head := &t.buckets[j]
	head.mu.Lock()
	if head.meta.Load()&forwarded != 0 {
		head.mu.Unlock()
		return c.collect(buf, t.next.Load(), class, mask)
	}
	filter := t.mask < mask
	for b := head; b != nil; b = b.next.Load() {
		for m := b.meta.Load() & metaHighs; m != 0; m &= m - 1 {
			e := b.slots[slotOf(m)].Load()
			if !filter || c.entryHash(e)&mask == class {
				buf = append(buf, e)
			}
		}
	}
	head.mu.Unlock()
	return buf
}

// Keys returns an iterator over the map's keys, with the promises of All.
func (c *Concurrent[K, V]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) {
		c.All()(func(k K, _ V) bool { return yield(k) })
	}
}

// Values returns an iterator over the map's values, with the promises of
// All.
func (c *Concurrent[K, V]) Values() iter.Seq[V] {
	return func(yield func(V) bool) {
		c.All()(func(_ K, v V) bool { return yield(v) })
	}
}
