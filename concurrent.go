package shrinkmap

import (
	"fmt"
	"hash/maphash"
	"iter"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"time"
	"unsafe"
)

// Concurrent is a map from K to V that is safe for concurrent use by
// multiple goroutines and gives memory back after deletes.
//
// It splits its keys over a power-of-two number of shards (see WithShards
// and DefaultShards) by a hash/maphash hash with a per-map seed. Each shard
// is a ShrinkMap under its own mutex, padded to a multiple of 128 bytes so
// that no two shards share a cache line. Get, Set, Delete and the compound
// operations (GetOrSet, GetAndDelete, Swap, Compute) lock one shard and run
// in amortized O(1) time. A compaction locks one shard only, and a large one
// is incremental (see WithIncremental), so no lock is held while a whole
// table is copied; Shrink is the exception, see there.
//
// Options apply as follows. WithPolicy, WithIncremental and WithShrinkHook
// apply to each shard separately: a policy sees one shard's Stats, and the
// hook is called once per shard compaction, under that shard's lock, so it
// must not use the map. The default policy is scaled to the whole map: each
// shard compacts once below a quarter of its peak and at
// DefaultMinTableBytes/shards estimated table bytes, so the map as a whole
// behaves like a ShrinkMap with the default policy; an explicit policy is
// used per shard unchanged. WithCapacity(n) gives each shard room for
// n/shards entries, rounded up, and the same per-shard floor. WithShards
// and WithCompactEvery are Concurrent's own.
//
// Use Concurrent when goroutines share a map that spikes. Unlike sync.Map it
// is typed and stores values unboxed, so writes do not allocate; unlike a
// map under one sync.RWMutex it spreads the lock traffic over the shards and
// gives memory back. A map owned by one goroutine is faster as a ShrinkMap. The zero value is not usable: make a
// Concurrent with NewConcurrent. A Concurrent must not be copied after first
// use (go vet reports copies). Close stops the background compaction that
// WithCompactEvery starts.
type Concurrent[K comparable, V any] struct {
	_       noCopy
	seed    maphash.Seed
	mask    uint64
	shards  []shard[K, V]
	bg      *compactor // nil without WithCompactEvery
	cleanup runtime.Cleanup
}

// cacheLine is the span of memory the shards are padded to: two 64-byte
// lines, since x86 prefetches lines in adjacent pairs.
const cacheLine = 128

// shard is one lock and the ShrinkMap it guards, padded so that shards in
// an array start cacheLine bytes apart and never share a line.
type shard[K comparable, V any] struct {
	shardBody[K, V]
	_ [shardPad]byte
}

type shardBody[K comparable, V any] struct {
	mu sync.Mutex
	m  ShrinkMap[K, V]
}

// shardPad pads a shard to a multiple of cacheLine. The size of a shardBody
// does not depend on K and V (the ShrinkMap holds maps, a slice and
// pointers), so one instantiation gives it for all.
const shardPad = (cacheLine - unsafe.Sizeof(shardBody[int, int]{})%cacheLine) % cacheLine

// DefaultShards returns the number of shards of a Concurrent made without
// WithShards: 4*GOMAXPROCS (read when it is called) rounded up to a power
// of two, and at least 16.
// An operation holds its shard's lock for tens of nanoseconds, so with four
// shards per goroutine that can run at once, two operations rarely meet on
// one lock. On the 2-core machine the package is benchmarked on, 8 to 256
// shards measured the same at 99%, 90% and 50% reads; fewer shards keep
// Len, Stats and All cheaper (each is O(shards)) and each shard's share of
// the policy's table floor larger.
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
	c := &Concurrent[K, V]{
		seed:   maphash.MakeSeed(),
		mask:   uint64(n - 1),
		shards: make([]shard[K, V], n),
	}
	scfg := shardConfig(cfg, n)
	for i := range c.shards {
		c.shards[i].m.configure(scfg)
	}
	if cfg.compactEvery > 0 {
		c.bg = &compactor{stop: make(chan struct{}), done: make(chan struct{})}
		// The goroutine holds the shards, not c, so that a map dropped
		// without Close becomes unreachable and the cleanup stops it.
		go compactLoop(c.bg, c.shards, cfg.compactEvery)
		c.cleanup = runtime.AddCleanup(c, (*compactor).halt, c.bg)
	}
	return c
}

// shardConfig returns the configuration of each of n shards of a map
// configured by cfg.
func shardConfig(cfg config, n int) config {
	cfg.capacity = (cfg.capacity + n - 1) / n
	return cfg
}

// shard returns the shard that holds k.
func (c *Concurrent[K, V]) shard(k K) *shard[K, V] {
	return &c.shards[maphash.Comparable(c.seed, k)&c.mask]
}

// Get returns the value stored for k and whether it was present.
func (c *Concurrent[K, V]) Get(k K) (V, bool) {
	s := c.shard(k)
	s.mu.Lock()
	// ShrinkMap.Get takes no migration step, runs no user code and cannot
	// panic, so the unlock needs no defer, which keeps the hot path short.
	v, ok := s.m.Get(k)
	s.mu.Unlock()
	return v, ok
}

// Has reports whether k is present.
func (c *Concurrent[K, V]) Has(k K) bool {
	_, ok := c.Get(k)
	return ok
}

// Set stores v for k. As in a native map, a key that is not equal to itself
// (a NaN) adds a new entry on every Set and can be reached only by
// iteration.
func (c *Concurrent[K, V]) Set(k K, v V) {
	s := c.shard(k)
	s.mu.Lock()
	if s.m.mig != nil {
		s.setMigrating(k, v)
		return
	}
	// Without a migration, Set runs no user code and cannot panic.
	s.m.Set(k, v)
	s.mu.Unlock()
}

func (s *shard[K, V]) setMigrating(k K, v V) {
	defer s.mu.Unlock()
	s.m.Set(k, v)
}

// Delete removes k, if present, and compacts k's shard if its policy says
// so.
func (c *Concurrent[K, V]) Delete(k K) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.Delete(k)
}

// GetOrSet returns the value stored for k and true if k is present;
// otherwise it stores v for k and returns v and false. It is atomic: of
// several goroutines calling GetOrSet for an absent key at once, exactly one
// stores its value and all get that value back.
func (c *Concurrent[K, V]) GetOrSet(k K, v V) (actual V, loaded bool) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m.Get(k); ok {
		return old, true
	}
	s.m.Set(k, v)
	return v, false
}

// GetAndDelete removes k and returns the value it had and true, or the zero
// value and false if k was absent, atomically.
func (c *Concurrent[K, V]) GetAndDelete(k K) (V, bool) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m.Get(k)
	if ok {
		s.m.Delete(k)
	}
	return v, ok
}

// Swap stores v for k and returns the previous value and true, or the zero
// value and false if k was absent, atomically.
func (c *Concurrent[K, V]) Swap(k K, v V) (previous V, loaded bool) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	previous, loaded = s.m.Get(k)
	s.m.Set(k, v)
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
// f runs with k's shard locked: other goroutines' operations on that shard
// wait for it, so keep it short, and it must not use the map (that may
// deadlock). If f panics, the panic propagates to the caller of Compute
// and the map is left as it was, with the lock released. An op other than
// the three above makes Compute panic, leaving the map as it was.
func (c *Concurrent[K, V]) Compute(k K, f func(old V, loaded bool) (V, ComputeOp)) (actual V, ok bool) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	old, loaded := s.m.Get(k)
	v, op := f(old, loaded)
	switch op {
	case CancelOp:
		return old, loaded
	case UpdateOp:
		s.m.Set(k, v)
		return v, true
	case DeleteOp:
		if loaded {
			s.m.Delete(k)
		}
		var zero V
		return zero, false
	}
	panic(fmt.Sprintf("shrinkmap: Compute function returned ComputeOp(%d); want CancelOp, UpdateOp or DeleteOp", int(op)))
}

// Len returns the number of entries, summed over the shards one at a time
// in O(shards) time. It is exact when no other goroutine writes meanwhile;
// otherwise it is not a snapshot of any one instant: each shard is counted
// at a different moment.
func (c *Concurrent[K, V]) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.m.Len()
		s.mu.Unlock()
	}
	return n
}

// Clear removes every entry and drops every shard's tables, so that their
// memory can be freed; unlike the builtin clear, which keeps the table. It
// clears the shards one at a time: an entry that another goroutine sets
// during Clear may survive it. O(shards).
func (c *Concurrent[K, V]) Clear() {
	c.eachShard((*ShrinkMap[K, V]).Clear)
}

// Shrink compacts every shard now, one at a time: it copies each shard's
// live entries into a fresh table sized for them, or releases the table of
// an empty shard (see ShrinkMap.Shrink). It runs in O(Len + table size)
// time and holds each shard's lock while it copies that shard, so
// operations on the shard wait up to O(Len/shards).
func (c *Concurrent[K, V]) Shrink() {
	c.eachShard((*ShrinkMap[K, V]).Shrink)
}

func (c *Concurrent[K, V]) eachShard(f func(*ShrinkMap[K, V])) {
	for i := range c.shards {
		c.shards[i].do(f)
	}
}

func (s *shard[K, V]) do(f func(*ShrinkMap[K, V])) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.m)
}

// Stats returns the sum of the shards' Stats, read one shard at a time, in
// O(shards) time. Len, Shrinks, TableBytes, WastedBytes and MigrationLeft
// are sums; Peak is the sum of the shards' peaks, which is at least the
// largest Len the map has had since its shards last compacted, and more if
// the shards peaked at different times; Migrating reports whether any shard
// is migrating.
func (c *Concurrent[K, V]) Stats() Stats {
	var sum Stats
	c.eachShard(func(m *ShrinkMap[K, V]) {
		s := m.Stats()
		sum.Len += s.Len
		sum.Peak += s.Peak
		sum.Shrinks += s.Shrinks
		sum.TableBytes += s.TableBytes
		sum.WastedBytes += s.WastedBytes
		sum.Migrating = sum.Migrating || s.Migrating
		sum.MigrationLeft += s.MigrationLeft
	})
	return sum
}

// All returns an iterator over the map's key-value pairs. The iteration
// order is not specified.
//
// All visits the shards one at a time: it copies a shard's entries while
// holding its lock, releases the lock and then yields them, so it never
// calls the loop body with a lock held and the body may use the map freely.
// It promises, like sync.Map.Range:
//   - each key present in the map for the whole iteration is yielded
//     exactly once;
//   - no key is yielded more than once (each NaN entry counts as its own
//     key), and a key set or deleted during the iteration may or may not
//     be yielded;
//   - each yielded value is one the key held at some point during the
//     iteration: the pairs of one shard are its contents at one instant,
//     pairs of different shards come from different instants, and a pair
//     may have been changed or deleted by the time it is yielded.
//
// A full iteration takes O(Len + table size) time and a buffer of the
// largest shard's entries; an early break or a panicking body leaves the
// map as it was.
func (c *Concurrent[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		var buf []entry[K, V]
		for i := range c.shards {
			buf = c.shards[i].snapshot(buf[:0])
			for _, e := range buf {
				if !yield(e.key, e.val) {
					return
				}
			}
		}
	}
}

// snapshot appends the shard's entries to buf.
func (s *shard[K, V]) snapshot(buf []entry[K, V]) []entry[K, V] {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf = slices.Grow(buf, s.m.Len())
	for k, v := range s.m.All() {
		buf = append(buf, entry[K, V]{k, v})
	}
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

// Close stops the background compaction that WithCompactEvery started and
// waits for its goroutine to exit. The map stays usable; it then compacts
// only inside its operations. Close is idempotent and safe to call
// concurrently; without WithCompactEvery it does nothing.
func (c *Concurrent[K, V]) Close() {
	if c.bg == nil {
		return
	}
	c.cleanup.Stop()
	c.bg.halt()
	<-c.bg.done
}

// tidySteps bounds one batch of background work on a shard: at most
// tidySteps migration steps (64 entries each by default) under one lock.
const tidySteps = 16

// compactor is the background compaction goroutine's handle. It holds no
// reference to the map, so that a dropped map can be collected.
type compactor struct {
	stop chan struct{} // closed to ask the goroutine to exit
	done chan struct{} // closed by the goroutine as it exits
	once sync.Once
}

func (b *compactor) halt() {
	b.once.Do(func() { close(b.stop) })
}

// compactLoop tidies every shard each tick until b is halted.
func compactLoop[K comparable, V any](b *compactor, shards []shard[K, V], every time.Duration) {
	defer close(b.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		for i := range shards {
			for shards[i].tidy() {
				if b.halted() {
					return
				}
				runtime.Gosched()
			}
			if b.halted() {
				return
			}
		}
	}
}

func (b *compactor) halted() bool {
	select {
	case <-b.stop:
		return true
	default:
		return false
	}
}

// tidy does one bounded batch of background work on the shard and reports
// whether a migration is still in progress.
func (s *shard[K, V]) tidy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.tidy(tidySteps)
}
