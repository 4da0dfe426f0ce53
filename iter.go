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
// iteration may or may not be yielded. A loop whose body does not write
// writes nothing to the map: any number of goroutines may range over it at
// once while none modifies it, as with a native map. A full iteration takes
// O(table size) time.
//
// The loop body may Get, Set and Delete freely, and may call Shrink or
// Clear. A loop whose body deletes is an expiry sweep: the map asks its
// policy once, when the loop ends, instead of during it, so that it never
// copies entries the same loop is about to delete; it then compacts to the
// entries left, at once if they are no more than the loop deleted (see
// [Stats.SweepEnded]). A loop that ends with an incremental compaction in
// progress whose body wrote completes it at once if few entries are left.
// A panicking body leaves the map consistent, with no entry lost or
// duplicated.
func (m *ShrinkMap[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		l := loop[K, V]{w: m.watermark()}
		defer m.endLoop(&l)
		m.yieldAll(yield, &l)
		l.done = true
	}
}

// yieldAll yields the map's entries until yield returns false, marking l
// as a sweep once the loop body has deleted.
func (m *ShrinkMap[K, V]) yieldAll(yield func(K, V) bool, l *loop[K, V]) {
	gen, table := l.w.gen, m.cur
	for k, v := range table {
		if m.generation() != gen {
			// A compaction, Clear or reuse of a spare replaced cur:
			// yield only what is still present, with its value now.
			var ok bool
			if v, ok = m.Get(k); !ok {
				continue
			}
		}
		if !yield(k, v) {
			return
		}
		m.noteSweep(l)
	}
	// Only Clear and Init remove NaN entries, and they drop the whole
	// slice. The bound taken at the start ends the loop even if the body
	// keeps adding NaN entries, as a range over a native map ends.
	for i, n := 0, m.nanCount(); i < min(n, m.nanCount()); i++ {
		e := m.x.nans[i]
		if !yield(e.key, e.val) {
			return
		}
		m.noteSweep(l)
	}
}

// noteSweep marks l as a sweep once its body has removed an entry.
func (m *ShrinkMap[K, V]) noteSweep(l *loop[K, V]) {
	if l.x == nil && m.x != nil && m.x.removed != l.w.removed {
		l.x = m.x
		l.x.sweeps++
	}
}

func (m *ShrinkMap[K, V]) nanCount() int {
	if m.x == nil {
		return 0
	}
	return len(m.x.nans)
}

// A loop is one iteration over the map: what it read of the map before its
// first yield, to tell afterwards whether its body wrote, and the state
// whose sweeps it counts in once its body has removed an entry.
type loop[K comparable, V any] struct {
	w    watermark[K, V]
	x    *state[K, V] // the state whose sweeps it incremented; nil if none
	done bool         // it ended without a panic
}

// watermark is what an iteration reads of the map before its first yield
// (a compaction, a removal, an entry added or a migration step change it).
type watermark[K comparable, V any] struct {
	gen, removed, cur, next int
	mig                     *migration[K, V]
}

func (m *ShrinkMap[K, V]) watermark() watermark[K, V] {
	w := watermark[K, V]{cur: len(m.cur)}
	if x := m.x; x != nil {
		w.gen, w.removed, w.next, w.mig = x.gen, x.removed, len(x.next), x.mig
	}
	return w
}

// endLoop runs when a loop over the map ends, also by a panic in its body.
// After a sweep, the outermost one to end without a panic asks the policy
// (see sweepEnded); after another loop whose body wrote, a migration in
// progress with few entries left completes.
func (m *ShrinkMap[K, V]) endLoop(l *loop[K, V]) {
	x := l.x
	switch {
	case x != nil:
		if x.sweeps--; x.sweeps == 0 && x == m.x && l.done {
			m.sweepEnded(x.removed - l.w.removed)
		}
	case l.done && m.watermark() != l.w:
		m.settle()
	}
}

// settle completes an incremental compaction in progress at once if it has
// few entries left to copy (see All).
func (m *ShrinkMap[K, V]) settle() {
	if m.x == nil || m.x.mig == nil || m.incremental(len(m.cur)-len(m.x.next)) {
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

// DeleteFunc deletes every entry for which del returns true, as
// maps.DeleteFunc does for a native map (and, as there, an entry whose key
// is a NaN stays: no Delete reaches it). It is an expiry sweep (see All):
// the map asks its policy once, at the end, and compacts to the entries
// left. A panic in del propagates and leaves the map consistent, without
// the entries del approved before it. O(table size).
func (m *ShrinkMap[K, V]) DeleteFunc(del func(K, V) bool) {
	for k, v := range m.All() {
		if del(k, v) {
			m.Delete(k)
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
	x := m.state()
	if n := len(src); n > x.curSized {
		m.cur = make(map[K]V, n)
		x.curSized = n
		m.refast()
	}
	m.Insert(maps.All(src))
	return m
}

// Clone returns a new map with m's configuration and a copy of its entries
// (a shallow copy: values are assigned, not deep-copied), in a fresh table
// sized for them; its Stats start anew, and it has no name (see WithName).
// Clone only reads m. O(Len).
func (m *ShrinkMap[K, V]) Clone() *ShrinkMap[K, V] {
	c := new(ShrinkMap[K, V])
	if m.x == nil {
		if len(m.cur) > 0 {
			c.cur = maps.Clone(m.cur)
			c.fast = true
		}
		return c
	}
	cfg := m.x.cfg
	cfg.name, cfg.named = "", false
	x := c.newState(cfg)
	if n := max(len(m.cur), x.cfg.capacity); n > 0 {
		c.cur = make(map[K]V, n)
		x.curSized = n
	}
	maps.Copy(c.cur, m.cur)
	x.nans = append([]entry[K, V](nil), m.x.nans...)
	x.hist.peak = c.Len()
	x.hist.resetRecordAt()
	c.refast()
	return c
}
