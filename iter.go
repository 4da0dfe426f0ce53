package shrinkmap

import (
	"iter"
	"maps"
)

// All returns an iterator over the map's key-value pairs. The iteration
// order is not specified.
//
// It yields each entry that is present for the whole iteration exactly once,
// and never an entry deleted before it is reached; an entry added during the
// iteration may or may not be yielded. An iteration writes nothing to the
// map: any number of goroutines may range over it at once (under a shared
// read lock, say) as long as none modifies it, as with a native map.
//
// The loop body may Get, Set and Delete freely, and may call Shrink or
// Clear. Its writes behave as outside a loop: a Delete may start a
// compaction and a Set or Delete may take a migration step; the iteration
// then goes on over the table it started with, which a compaction copies
// from but never modifies, and yields only the entries still present. When
// a loop whose body wrote to the map ends (completely or by break) while
// an incremental compaction is in progress with few entries left to copy
// (under DefaultMinIncremental entries and DefaultMinIncrementalBytes), it
// completes the compaction at once, so that deletes in an expiry loop give
// the memory back by the time the loop ends. A panicking body leaves the
// map consistent, with no entry lost or duplicated. A full iteration takes
// O(table size) time.
func (m *ShrinkMap[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		before := m.watch()
		m.yieldAll(yield)
		if m.watch() != before {
			m.settle()
		}
	}
}

// yieldAll yields the map's entries until yield returns false.
func (m *ShrinkMap[K, V]) yieldAll(yield func(K, V) bool) {
	gen, table := m.gen, m.cur
	for k, v := range table {
		if m.gen != gen {
			// A compaction or Clear replaced cur: table is now a frozen
			// copy, so yield only what is still present.
			var ok bool
			if v, ok = m.Get(k); !ok {
				continue
			}
		}
		if !yield(k, v) {
			return
		}
	}
	// Only Clear and Init remove NaN entries, and they drop the whole
	// slice. The bound taken at the start ends the loop even if the body
	// keeps adding NaN entries, as a range over a native map ends.
	for i, n := 0, len(m.nans); i < min(n, len(m.nans)); i++ {
		if !yield(m.nans[i].key, m.nans[i].val) {
			return
		}
	}
}

// watermark is what an iteration reads of the map before its first yield,
// to tell afterwards whether the loop body wrote to the map (a compaction,
// a delete, an entry added or a migration step change it). An iteration
// whose body does not write stores nothing in the map.
type watermark struct {
	gen, deletes, cur, next int
	mig                     *migration
}

func (m *ShrinkMap[K, V]) watch() watermark {
	return watermark{gen: m.gen, deletes: m.hist.deletes, cur: len(m.cur), next: len(m.next), mig: m.mig}
}

// settle completes an incremental compaction in progress at once if it has
// few entries left to copy (see All).
func (m *ShrinkMap[K, V]) settle() {
	if m.mig == nil || m.incremental(len(m.cur)-len(m.next)) {
		return
	}
	m.finishNow()
}

// Keys returns an iterator over the map's keys, with the guarantees of All.
func (m *ShrinkMap[K, V]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) {
		for k := range m.All() {
			if !yield(k) {
				return
			}
		}
	}
}

// Values returns an iterator over the map's values, with the guarantees of
// All.
func (m *ShrinkMap[K, V]) Values() iter.Seq[V] {
	return func(yield func(V) bool) {
		for _, v := range m.All() {
			if !yield(v) {
				return
			}
		}
	}
}

// Insert sets every key-value pair from seq in m, in order; a later pair
// overwrites an earlier one with the same key. O(pairs in seq).
func (m *ShrinkMap[K, V]) Insert(seq iter.Seq2[K, V]) {
	for k, v := range seq {
		m.Set(k, v)
	}
}

// Collect returns a new map, configured by opts, holding the pairs of seq.
// O(pairs in seq). It panics like New on invalid options.
func Collect[K comparable, V any](seq iter.Seq2[K, V], opts ...Option) *ShrinkMap[K, V] {
	m := New[K, V](opts...)
	m.Insert(seq)
	return m
}

// FromMap returns a new map, configured by opts, holding a copy of src's
// entries in a table sized for them up front. Unlike WithCapacity, the
// size is a hint, not a floor: the map may later compact below it. It
// panics like New on invalid options. O(len(src)).
func FromMap[K comparable, V any](src map[K]V, opts ...Option) *ShrinkMap[K, V] {
	m := New[K, V](opts...)
	if n := len(src); n > m.curSized {
		m.cur = make(map[K]V, n)
		m.curSized = n
	}
	m.Insert(maps.All(src))
	return m
}

// Clone returns a new map with m's configuration and a copy of its entries
// (a shallow copy: values are assigned, not deep-copied), in a fresh table
// sized for them; its Stats start anew. Clone only reads m. O(Len).
func (m *ShrinkMap[K, V]) Clone() *ShrinkMap[K, V] {
	c := &ShrinkMap[K, V]{cfg: m.cfg}
	c.init()
	if n := len(m.cur); n > 0 {
		c.cur = make(map[K]V, max(n, c.cfg.capacity))
		c.curSized = max(n, c.cfg.capacity)
	}
	maps.Copy(c.cur, m.cur)
	c.nans = append([]entry[K, V](nil), m.nans...)
	c.hist.peak = c.Len()
	return c
}
