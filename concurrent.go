package shrinkmap

import (
	"fmt"
	"iter"
	"runtime"
	"sync/atomic"
	"weak"

	"github.com/shrinkmap/shrinkmap/internal/table"
)

// Concurrent is a map from K to V that is safe for concurrent use by
// multiple goroutines and gives memory back after deletes. It is a hash
// table of cache-line buckets: [Concurrent.Get] and [Concurrent.Has] take
// no lock and never block, a write locks only its key's bucket, and every
// operation runs in amortized O(1) time. Integer keys with values of at
// most a word that hold no pointers (int to int, int64 to float64, uint32
// to a small struct of numbers) are kept in the buckets themselves, so a
// lookup reads one cache line, a write locks and changes only that line
// and allocates nothing; for other types each value stored takes an
// allocation of one entry. Its [Policy] decides when it compacts; a resize
// moves a bounded step of buckets in each write that follows it (see
// [WithIncremental], whose step counts buckets here) rather than pausing
// one write for the whole copy. Unlike [sync.Map] it is typed and gives a
// drained table back whole; a map owned by one goroutine is faster as a
// [ShrinkMap]. The zero value is an empty map ready to use, as
// NewConcurrent() makes with no options; its first write allocates its
// table, also when several goroutines make it at once. Do not copy a
// Concurrent after first use. An empty or small map holds a few hundred
// bytes besides its table: its counts take one word each until two
// writers meet on them (see [WithCounterStripes]). [Concurrent.Close]
// stops the goroutine of [WithCompactEvery].
type Concurrent[K comparable, V any] struct {
	_     noCopy
	table table.Map[K, V]
	cfg   *config                     // nil for the defaults
	bg    *compactor                  // nil without WithCompactEvery
	pol   atomic.Pointer[policyState] // nil until the first policy check
	named *concurrentMetrics          // nil unless WithName
}

// DefaultCounterStripes returns the number of counter stripes of a
// Concurrent made without WithCounterStripes: 4*GOMAXPROCS (read when it
// is called) rounded up to a power of two, and at least 16. Once writers
// contend (see WithCounterStripes), each write adds to one stripe, picked
// by the key's hash, so that writers on different cores rarely share a
// counter's cache line; Len and Stats sum them in O(stripes).
func DefaultCounterStripes() int {
	return table.DefaultStripes()
}

// NewConcurrent returns an empty map configured by opts; with no options
// it is the same as a zero Concurrent, whose first write allocates the
// table. It panics with a
// message naming the field, the value and the allowed range if an option
// is invalid. The options apply as follows:
//   - [WithPolicy]'s policy is consulted with the whole map's [Stats] (see
//     [Concurrent.Stats]) after about every Len/8 deletes, and only when a
//     table sized for the live entries would have fewer buckets than the
//     current one; never during a resize, and never by Get.
//   - [WithCapacity](n) sizes the first table for n entries and is the
//     floor below which automatic compaction does not go; Clear keeps that
//     size, Shrink ignores it.
//   - [WithIncremental](step) makes each write during a resize move step
//     buckets (64 at [DefaultStep], of up to five or six entries each); step 0
//     makes the write that starts a resize move them all, and so does a
//     compaction of a table of at most 16*step buckets.
//   - [WithShrinkHook]'s hook runs on the goroutine whose call moved the
//     last bucket of a compaction, with no lock held.
//   - [WithCounterStripes] sets the number of counter stripes, and
//     [WithCompactEvery] starts a background goroutine, which Close stops;
//     both are Concurrent's own.
func NewConcurrent[K comparable, V any](opts ...Option) *Concurrent[K, V] {
	c := new(Concurrent[K, V])
	if len(opts) == 0 {
		return c
	}
	cfg := newConfig(opts)
	c.cfg = &cfg
	stripes := cfg.stripes
	if stripes == 0 {
		stripes = DefaultCounterStripes()
	}
	c.table.Init(table.Config{Capacity: cfg.capacity, Stripes: stripes, Step: cfg.step})
	if cfg.compactEvery > 0 {
		c.bg = &compactor{stop: make(chan struct{}), done: make(chan struct{})}
		// The goroutine holds the map weakly, so that a map dropped without
		// Close becomes unreachable and the cleanup stops it.
		go compactLoop(c.bg, weak.Make(c), cfg.compactEvery)
		c.bg.cleanup = runtime.AddCleanup(c, (*compactor).halt, c.bg)
	}
	if cfg.named {
		c.register(cfg.name)
	}
	return c
}

// concurrentDefaults is the configuration of a Concurrent made with no
// options, or a zero one.
var concurrentDefaults = defaultConfig()

// config returns c's configuration.
func (c *Concurrent[K, V]) config() *config {
	if c.cfg == nil {
		return &concurrentDefaults
	}
	return c.cfg
}

// Get returns the value stored for k and whether it was present. It takes
// no lock and writes no shared memory.
func (c *Concurrent[K, V]) Get(k K) (v V, ok bool) {
	return c.table.Get(k)
}

// Has reports whether k is present, as Get does.
func (c *Concurrent[K, V]) Has(k K) bool {
	_, ok := c.table.Get(k)
	return ok
}

// Set stores v for k. As in a native map, a key that is not equal to itself
// (a NaN) adds a new entry on every Set and can be reached only by
// iteration.
func (c *Concurrent[K, V]) Set(k K, v V) {
	_, _, n := c.table.Store(k, v)
	c.after(n)
}

// Delete removes k, if present, and compacts the map if its policy says so
// (see NewConcurrent). Deleting an absent key locks nothing.
func (c *Concurrent[K, V]) Delete(k K) {
	_, _, n := c.table.Delete(k)
	c.after(n)
}

// GetOrSet returns the value stored for k and true if k is present;
// otherwise it stores v for k and returns v and false. It is atomic: of
// several goroutines calling GetOrSet for an absent key at once, exactly one
// stores its value and all get that value back. A present key is read
// without a lock.
func (c *Concurrent[K, V]) GetOrSet(k K, v V) (actual V, loaded bool) {
	actual, loaded, n := c.table.LoadOrStore(k, v)
	c.after(n)
	return actual, loaded
}

// GetAndDelete removes k and returns the value it had and true, or the zero
// value and false if k was absent, atomically. An absent key is found
// absent without a lock.
func (c *Concurrent[K, V]) GetAndDelete(k K) (V, bool) {
	old, loaded, n := c.table.Delete(k)
	c.after(n)
	return old, loaded
}

// Swap stores v for k and returns the previous value and true, or the zero
// value and false if k was absent, atomically.
func (c *Concurrent[K, V]) Swap(k K, v V) (previous V, loaded bool) {
	previous, loaded, n := c.table.Store(k, v)
	c.after(n)
	return previous, loaded
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
	actual, ok, n := c.table.Compute(k, func(old V, loaded bool) (V, table.Op) {
		v, op := f(old, loaded)
		switch op {
		case CancelOp:
			return v, table.Keep
		case UpdateOp:
			return v, table.Update
		case DeleteOp:
			return v, table.Remove
		}
		panic(badOp(op))
	})
	c.after(n)
	return actual, ok
}

func badOp(op ComputeOp) string {
	return fmt.Sprintf("shrinkmap: Compute function returned ComputeOp(%d); want CancelOp, UpdateOp or DeleteOp", int(op))
}

// Len returns the number of entries, summed over the counters in
// O(stripes) time. It is exact when no other goroutine writes meanwhile;
// otherwise it is not a snapshot of any one instant.
func (c *Concurrent[K, V]) Len() int {
	return c.table.Len()
}

// Clear removes every entry and replaces the table with an empty one sized
// for the WithCapacity floor, so that the old one's memory can be freed;
// unlike the builtin clear, which keeps the table. It first finishes any
// resize in progress, then visits every bucket: O(Len + table size) time.
// It allocates only the new table, one object without WithCapacity, and
// nothing on a map that has no table yet. An entry that another goroutine
// sets during Clear may survive it.
func (c *Concurrent[K, V]) Clear() {
	c.resizeNow(table.Clear)
}

// Shrink compacts the map now: it finishes any resize in progress, then
// moves the live entries into a fresh table sized for them (ignoring the
// WithCapacity floor), in O(Len + table size) time on the calling
// goroutine. Other goroutines' operations do not wait for it: readers and
// writers follow the buckets it has moved, and writers help move the rest.
func (c *Concurrent[K, V]) Shrink() {
	c.resizeNow(table.Compact)
}

// Stats returns the map's Stats, computed in O(stripes) time from the
// counter stripes and the table; under concurrent writes they are not a
// snapshot of one instant. For a Concurrent map:
//   - Peak is the sum of the counters' peaks, which is at least the
//     largest Len since the last compaction or Clear, and more if the
//     counters peaked at different times;
//   - TableBytes counts the bucket arrays (of both tables during a
//     resize), the overflow buckets, and one entry object per live entry
//     where values are not kept in the buckets;
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
	s := statsOf(c.table.Usage())
	if p := c.pol.Load(); p != nil {
		p.mu.Lock()
		p.fill(&s)
		p.mu.Unlock()
	}
	return s
}

// statsOf returns the Stats of a map whose table has usage u, but for the
// policy's fields.
func statsOf(u table.Usage) Stats {
	return Stats{
		Len:           u.Len,
		Peak:          u.Peak,
		Shrinks:       int(u.Compactions),
		TableBytes:    u.Bytes,
		WastedBytes:   u.Wasted,
		Migrating:     u.Resize != table.None,
		MigrationLeft: u.Left,
	}
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
// panicking body leaves the map as it was. A loop during which Len fell
// (its body deleted, as an expiry sweep's does) ends as DeleteFunc does:
// a map it leaves drained compacts even if it refilled right after its
// earlier drains (see Stats.SweepEnded).
func (c *Concurrent[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		c.sweep(func() { c.table.Range(yield) })
	}
}

// Keys returns an iterator over the map's keys, with the promises of All.
func (c *Concurrent[K, V]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) {
		c.sweep(func() { c.table.Range(func(k K, _ V) bool { return yield(k) }) })
	}
}

// sweep runs loop, an iteration, and if Len fell meanwhile ends it as an
// expiry sweep of that many deletes (see sweepEnded). A panic in loop
// propagates without.
func (c *Concurrent[K, V]) sweep(loop func()) {
	before := c.table.Len()
	loop()
	if fell := before - c.table.Len(); fell > 0 {
		c.sweepEnded(fell)
	}
}

// Values returns an iterator over the map's values, with the promises of
// All.
func (c *Concurrent[K, V]) Values() iter.Seq[V] {
	return func(yield func(V) bool) {
		c.sweep(func() { c.table.Range(func(_ K, v V) bool { return yield(v) }) })
	}
}
