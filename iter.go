package shrinkmap

import "iter"

// All returns an iterator over the map's key-value pairs. The iteration
// order is not specified.
//
// It yields each entry that is present for the whole iteration exactly once,
// and never an entry deleted before it is reached; an entry added during the
// iteration may or may not be yielded. The loop body may Get, Set and Delete
// freely, and may call Shrink or Clear. While an iteration is in progress the
// map does not compact itself or take migration steps; a compaction
// that a Delete in the body would have started is considered when the last
// iteration ends. An early break or a panicking body leaves the map
// consistent, with no entry lost or duplicated. An iteration that is never
// finished (an iter.Pull whose stop function is never called) keeps the map
// from compacting itself. A full iteration takes O(table size) time.
func (m *ShrinkMap[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		m.iterating++
		defer m.endIteration()
		gen, table := m.gen, m.cur
		for k, v := range table {
			if m.gen != gen {
				// Shrink or Clear replaced cur: table is now a frozen
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
		// Only Clear removes NaN entries, and it drops the whole slice. The
		// bound taken at the start ends the loop even if the body keeps
		// adding NaN entries, as a range over a native map ends.
		for i, n := 0, len(m.nans); i < min(n, len(m.nans)); i++ {
			if !yield(m.nans[i].key, m.nans[i].val) {
				return
			}
		}
	}
}

// endIteration lets the map compact again once no iteration is in progress.
func (m *ShrinkMap[K, V]) endIteration() {
	m.iterating--
	if m.iterating == 0 && m.pending {
		m.pending = false
		m.grew() // the loop body's Sets
		m.maybeShrink()
	}
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

// Clone returns a new map with m's configuration and a copy of its entries
// (a shallow copy: values are assigned, not deep-copied), in a fresh table
// sized for them; its Stats start anew. O(Len).
func (m *ShrinkMap[K, V]) Clone() *ShrinkMap[K, V] {
	m.init()
	c := &ShrinkMap[K, V]{cfg: m.cfg, group: m.group}
	if n := len(m.cur); n > 0 {
		c.cur = make(map[K]V, max(n, m.cfg.capacity))
		c.curSized = max(n, m.cfg.capacity)
	}
	c.Insert(m.All())
	return c
}
