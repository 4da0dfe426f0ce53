package table

// The operations of a Map of the word layout, which Map's methods call for
// a table whose words are set.

// storeWords is Store for the word layout: it allocates nothing but the
// overflow line a crowded chain may need.
func (m *Map[K, V]) storeWords(t *table[K, V], k K, v V) (old V, loaded bool, n Note) {
	kw := intBits(k)
	h := mixInt(kw, t.intSeed)
	t, head := lockWords(t, h)
	grew := false
	if l, i := head.find(kw, h2(h)); l != nil {
		old, loaded = fromWord[V](l.kv[i].v.Swap(toWord(v))), true
		head.unlock()
	} else {
		grew = t.addWords(head, kw, toWord(v), h2(h), true)
	}
	if !loaded {
		m.inserted(t, h, grew)
	}
	return old, loaded, Note{Done: m.step1()}
}

// loadOrStoreWords is LoadOrStore for the word layout.
func (m *Map[K, V]) loadOrStoreWords(t *table[K, V], k K, v V) (actual V, loaded bool, n Note) {
	if actual, loaded = m.Get(k); loaded {
		return actual, true, n
	}
	kw := intBits(k)
	h := mixInt(kw, t.intSeed)
	t, head := lockWords(t, h)
	if l, i := head.find(kw, h2(h)); l != nil {
		actual = fromWord[V](l.kv[i].v.Load())
		head.unlock()
		return actual, true, n
	}
	grew := t.addWords(head, kw, toWord(v), h2(h), true)
	m.inserted(t, h, grew)
	return v, false, Note{Done: m.step1()}
}

// deleteWords is Delete for the word layout.
func (m *Map[K, V]) deleteWords(t *table[K, V], k K) (old V, loaded bool, n Note) {
	if _, ok := m.Get(k); !ok {
		return old, false, Note{Done: m.step1()}
	}
	kw := intBits(k)
	h := mixInt(kw, t.intSeed)
	t, head := lockWords(t, h)
	if l, i := head.find(kw, h2(h)); l != nil {
		old, loaded = fromWord[V](l.kv[i].v.Load()), true
		t.removeWords(head, l, i, true)
	} else {
		head.unlock()
	}
	if loaded {
		n.Deletes = m.deleted(h)
	}
	n.Done = m.step1()
	return old, loaded, n
}

// computeWords is Compute for the word layout.
func (m *Map[K, V]) computeWords(t *table[K, V], k K, f func(old V, loaded bool) (V, Op)) (actual V, ok bool, n Note) {
	kw := intBits(k)
	h := mixInt(kw, t.intSeed)
	t, head := lockWords(t, h)
	actual, ok, delta, grew := computeWordsLocked(t, head, kw, h, f)
	return actual, ok, m.computed(t, h, delta, grew)
}

// computeWordsLocked does Compute's work on the chain of head line head,
// which the caller has locked and which it unlocks, also if f panics, as
// computeLocked does for the entry layout.
func computeWordsLocked[K comparable, V any](t *table[K, V], head *wline, kw, h uint64, f func(V, bool) (V, Op)) (actual V, ok bool, delta int, grew bool) {
	defer head.unlock()
	l, i := head.find(kw, h2(h))
	if l != nil {
		actual, ok = fromWord[V](l.kv[i].v.Load()), true
	}
	v, op := f(actual, ok)
	switch {
	case op == Update && l != nil:
		l.kv[i].v.Store(toWord(v))
		return v, true, 0, false
	case op == Update:
		return v, true, 1, t.addWords(head, kw, toWord(v), h2(h), false)
	case op == Remove && l != nil:
		t.removeWords(head, l, i, false)
		var zero V
		return zero, false, -1, false
	case op == Remove:
		var zero V
		return zero, false, 0, false
	}
	return actual, ok, 0, false
}

// moveWords copies the pairs of t's head bucket i into nt, locking each
// head of nt it adds to if lock, or drops them if drop, and marks both of
// its lines forwarded; as move does for the entry layout.
func (m *Map[K, V]) moveWords(t, nt *table[K, V], i int, drop, lock bool) {
	b := &t.words[i]
	b.lock()
	for side := range b.lines {
		for l := &b.lines[side]; l != nil; l = l.next.Load() {
			for hits := l.ctrl.Load() & wordHighs; hits != 0; hits &= hits - 1 {
				s := &l.kv[slotOf(hits)]
				kw := s.k.Load()
				h := mixInt(kw, t.intSeed)
				if drop {
					m.add(h, -1)
					continue
				}
				d := nt.headLine(h)
				if lock {
					d.lock()
				}
				nt.addWords(d, kw, s.v.Load(), h2(h), lock)
			}
		}
	}
	// The second line first, so that a walk that finds the first line
	// forwarded finds the second forwarded too (see walkWords).
	for _, side := range [2]int{1, 0} {
		c := &b.lines[side].ctrl
		c.Store((c.Load() | forwarded) &^ locked)
	}
}

// appendWords appends to buf the pairs of b, which the caller has locked,
// only those whose hashes h have h&mask == class if filter.
func appendWords[K comparable, V any](buf []Entry[K, V], t *table[K, V], b *wbucket, filter bool, class, mask uint64) []Entry[K, V] {
	for side := range b.lines {
		for l := &b.lines[side]; l != nil; l = l.next.Load() {
			for hits := l.ctrl.Load() & wordHighs; hits != 0; hits &= hits - 1 {
				s := &l.kv[slotOf(hits)]
				kw := s.k.Load()
				if !filter || mixInt(kw, t.intSeed)&mask == class {
					buf = append(buf, Entry[K, V]{keyOf[K](kw), fromWord[V](s.v.Load())})
				}
			}
		}
	}
	return buf
}
