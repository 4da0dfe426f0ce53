package table

// Range calls yield with each key-value pair until it returns false, in no
// specified order (see the package doc). It never calls yield with a lock
// held, so yield may use the map. It promises, like sync.Map.Range:
//   - each key present in the map for the whole iteration is yielded
//     exactly once, also while the table resizes;
//   - no key is yielded more than once (each NaN entry counts as its own
//     key), and a key stored or deleted during the iteration may or may
//     not be yielded;
//   - each yielded value is one the key held at some point during the
//     iteration.
func (m *Map[K, V]) Range(yield func(K, V) bool) {
	t := m.cur.Load()
	if t == nil {
		return
	}
	var buf []Entry[K, V]
	for i := range t.size() {
		buf = m.collect(buf[:0], t, uint64(i), t.mask)
		for _, e := range buf {
			if !yield(e.Key, e.Val) {
				return
			}
		}
	}
}

// collect appends to buf the entries whose hashes h have h&mask == class,
// each read from the table that holds it now, starting the search at t.
func (m *Map[K, V]) collect(buf []Entry[K, V], t *table[K, V], class, mask uint64) []Entry[K, V] {
	m.eachBucket(t, class, mask, func(t *table[K, V], j, class, mask uint64) {
		buf = appendBucket(buf, t, j, class, mask)
	})
	return buf
}

// eachBucket calls f with each head bucket that holds pairs whose hashes h
// have h&mask == class, locked, in the table that holds them now, starting
// the search at t: f gets the bucket's table and index and the class and
// mask that its pairs are to be filtered by when the bucket holds other
// classes too (t.mask < mask). It unlocks the bucket also if f panics.
func (m *Map[K, V]) eachBucket(t *table[K, V], class, mask uint64, f func(t *table[K, V], j, class, mask uint64)) {
	if t.mask < mask {
		m.lockedBucket(t, class&t.mask, class, mask, f)
		return
	}
	for j := class; j <= t.mask; j += mask + 1 {
		m.lockedBucket(t, j, j, t.mask, f)
	}
}

// lockedBucket calls f with t's bucket j locked, or goes on to the next
// table if the bucket has moved, for eachBucket.
func (m *Map[K, V]) lockedBucket(t *table[K, V], j, class, mask uint64, f func(t *table[K, V], j, class, mask uint64)) {
	if t.words != nil {
		b := &t.words[j]
		b.lock()
		if b.lines[0].ctrl.Load()&forwarded != 0 {
			b.unlock()
			m.eachBucket(t.next.Load(), class, mask, f)
			return
		}
		defer b.unlock()
	} else {
		head := &t.buckets[j]
		head.mu.Lock()
		if head.meta.Load()&forwarded != 0 {
			head.mu.Unlock()
			m.eachBucket(t.next.Load(), class, mask, f)
			return
		}
		defer head.mu.Unlock()
	}
	f(t, j, class, mask)
}

// appendBucket appends to buf the pairs of t's bucket j, which the caller
// has locked; only those whose hashes h have h&mask == class if the bucket
// holds other classes too.
func appendBucket[K comparable, V any](buf []Entry[K, V], t *table[K, V], j, class, mask uint64) []Entry[K, V] {
	filter := t.mask < mask
	if t.words != nil {
		return appendWords(buf, t, &t.words[j], filter, class, mask)
	}
	for b := &t.buckets[j]; b != nil; b = b.next.Load() {
		for hits := b.meta.Load() & metaHighs; hits != 0; hits &= hits - 1 {
			e := b.slots[slotOf(hits)].Load()
			if !filter || t.entryHash(e)&mask == class {
				buf = append(buf, *e)
			}
		}
	}
	return buf
}
