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
	if t.mask < mask {
		// t's bucket holds the class along with others.
		return m.collectBucket(buf, t, class&t.mask, class, mask)
	}
	// The class spans t's buckets class, class+mask+1, ...
	for j := class; j <= t.mask; j += mask + 1 {
		buf = m.collectBucket(buf, t, j, j, t.mask)
	}
	return buf
}

// collectBucket appends to buf the pairs of t's bucket j whose hashes h
// have h&mask == class, copied under its lock, or collects them from the next table if the
// bucket has moved.
func (m *Map[K, V]) collectBucket(buf []Entry[K, V], t *table[K, V], j, class, mask uint64) []Entry[K, V] {
	filter := t.mask < mask
	if t.words != nil {
		b := &t.words[j]
		b.lock()
		if b.lines[0].ctrl.Load()&forwarded != 0 {
			b.unlock()
			return m.collect(buf, t.next.Load(), class, mask)
		}
		buf = appendWords(buf, t, b, filter, class, mask)
		b.unlock()
		return buf
	}
	head := &t.buckets[j]
	head.mu.Lock()
	if head.meta.Load()&forwarded != 0 {
		head.mu.Unlock()
		return m.collect(buf, t.next.Load(), class, mask)
	}
	for b := head; b != nil; b = b.next.Load() {
		for hits := b.meta.Load() & metaHighs; hits != 0; hits &= hits - 1 {
			e := b.slots[slotOf(hits)].Load()
			if !filter || t.entryHash(e)&mask == class {
				buf = append(buf, *e)
			}
		}
	}
	head.mu.Unlock()
	return buf
}
