package table

// A Note is what a write tells its caller beyond its result: that a policy
// check is due, and that it published a resize. Most writes return the
// zero Note.
type Note struct {
	// Deletes is, when a check is due, the deletes counted on the write's
	// counter since it last reported one (see CheckEvery); 0 if none is
	// due. No check is reported due while a resize is in progress (the
	// resize's Done reports those that came due, Done.Skipped), nor in a
	// table of one head bucket.
	Deletes int
	// Done is the resize that the write's step published, or nil.
	Done *Done
}

// An Op says what Compute does with the value its function returns.
type Op uint8

const (
	Keep   Op = iota // leave the map as it was
	Update           // store the value, adding the key if absent
	Remove           // remove the key, if present
)

// Store stores v for k and returns the value it replaced and true, or the
// zero value and false if k was absent. A key not equal to itself (a NaN)
// adds an entry on every Store.
func (m *Map[K, V]) Store(k K, v V) (old V, loaded bool, n Note) {
	t := m.table()
	if t.words != nil {
		return m.storeWords(t, k, v)
	}
	e := &Entry[K, V]{k, v}
	h := t.entryHash(e)
	t, head := lockBucket(t, h)
	prev, at, i := head.lookup(head.meta.Load(), k, h)
	grew := t.put(head, at, i, e, h)
	head.mu.Unlock()
	if prev == nil {
		m.inserted(t, h, grew)
		return old, false, Note{Done: m.step1()}
	}
	return prev.Val, true, Note{Done: m.step1()}
}

// LoadOrStore returns the value stored for k and true if k is present;
// otherwise it stores v for k and returns v and false, atomically. A
// present key is read without a lock. A NaN key is stored, as by Store.
func (m *Map[K, V]) LoadOrStore(k K, v V) (actual V, loaded bool, n Note) {
	if k != k {
		_, _, n = m.Store(k, v)
		return v, false, n
	}
	t := m.table()
	if t.words != nil {
		return m.loadOrStoreWords(t, k, v)
	}
	h := t.hash(k)
	if e := load(t, k, h); e != nil {
		return e.Val, true, n
	}
	t, head := lockBucket(t, h)
	if e, _, _ := head.lookup(head.meta.Load(), k, h); e != nil {
		head.mu.Unlock()
		return e.Val, true, n
	}
	grew := t.add(head, &Entry[K, V]{k, v}, h)
	head.mu.Unlock()
	m.inserted(t, h, grew)
	return v, false, Note{Done: m.step1()}
}

// Delete removes k and returns its value and true, or the zero value and
// false if k was absent, in which case it takes no lock (and a map with no
// table gets none).
func (m *Map[K, V]) Delete(k K) (old V, loaded bool, n Note) {
	t := m.cur.Load()
	if t == nil {
		return old, false, n
	}
	if t.words != nil {
		return m.deleteWords(t, k)
	}
	h := t.hash(k)
	if load(t, k, h) == nil {
		return old, false, Note{Done: m.step1()}
	}
	t, head := lockBucket(t, h)
	e, at, i := head.lookup(head.meta.Load(), k, h)
	if e != nil {
		t.removeEntry(head, at, i)
	}
	head.mu.Unlock()
	if e != nil {
		old, loaded = e.Val, true
		n.Deletes = m.deleted(h)
	}
	n.Done = m.step1()
	return old, loaded, n
}

// Compute calls f with k's value and whether k is present (the zero value
// and false if not), with k's bucket locked, then stores f's value, removes
// k or leaves the map as it was, as f's Op says. It returns k's value
// after that and whether k is then present. If f panics, the panic
// propagates with the lock released and the map as it was; f must not use
// the map. For a NaN key f runs with no lock held and sees an absent key,
// and Update adds an entry.
func (m *Map[K, V]) Compute(k K, f func(old V, loaded bool) (V, Op)) (actual V, ok bool, n Note) {
	if k != k {
		var zero V
		v, op := f(zero, false)
		if op != Update {
			return zero, false, n
		}
		_, _, n = m.Store(k, v)
		return v, true, n
	}
	t := m.table()
	if t.words != nil {
		return m.computeWords(t, k, f)
	}
	h := t.hash(k)
	t, head := lockBucket(t, h)
	actual, ok, delta, grew := computeLocked(t, head, k, h, f)
	return actual, ok, m.computed(t, h, delta, grew)
}

// computed counts a Compute's change of delta entries with hash h in t
// (grew reports an added overflow bucket), moves the write's step, and
// returns the Note of both.
func (m *Map[K, V]) computed(t *table[K, V], h uint64, delta int, grew bool) (n Note) {
	switch {
	case delta > 0:
		m.inserted(t, h, grew)
	case delta < 0:
		n.Deletes = m.deleted(h)
	}
	n.Done = m.step1()
	return n
}

// computeLocked does Compute's work on the chain headed by head, which the
// caller has locked and which it unlocks, also if f panics. delta is the
// change in the number of entries; grew reports an added overflow bucket.
func computeLocked[K comparable, V any](t *table[K, V], head *bucket[K, V], k K, h uint64, f func(V, bool) (V, Op)) (actual V, ok bool, delta int, grew bool) {
	defer head.mu.Unlock()
	e, at, i := head.lookup(head.meta.Load(), k, h)
	if e != nil {
		actual, ok = e.Val, true
	}
	v, op := f(actual, ok)
	switch op {
	case Update:
		grew = t.put(head, at, i, &Entry[K, V]{k, v}, h)
		if e == nil {
			delta = 1
		}
		return v, true, delta, grew
	case Remove:
		if e != nil {
			t.removeEntry(head, at, i)
			delta = -1
		}
		var zero V
		return zero, false, delta, false
	}
	return actual, ok, 0, false
}

// inserted counts a new entry with hash h, added to t, and if that took an
// overflow bucket checks t's load: a crowded bucket is the sign that the
// load may be high. Summing the counters costs O(stripes) and reads lines
// that other writers change, so it is skipped while the writer's own
// stripe puts the map well below t's threshold (see nearGrowth).
func (m *Map[K, V]) inserted(t *table[K, V], h uint64, grew bool) {
	c, n := m.added(h)
	if grew && m.nearGrowth(t, c, n) {
		m.maybeGrow(t)
	}
}
