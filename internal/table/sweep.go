package table

// DeleteFunc removes every pair for which del returns true and returns how
// many it removed. It visits each head bucket once, as Range does, also
// while the table resizes, and calls del for each pair with the pair's
// bucket locked, so del must not use the map; a pair stored in a bucket
// after its visit is not considered. A pair whose key is not equal to
// itself (a NaN) stays, as delete leaves it in a native map. The removals
// are counted as Delete's are but report no check due: the caller checks
// once the sweep ends. If del panics, the pairs it approved before stay
// removed and counted, and no lock is held. O(Len + table size).
func (m *Map[K, V]) DeleteFunc(del func(K, V) bool) (deleted int) {
	t := m.cur.Load()
	if t == nil {
		return 0
	}
	sweep := func(t *table[K, V], j, class, mask uint64) {
		filter := t.mask < mask
		if t.words != nil {
			for side := range t.words[j].lines {
				m.sweepWords(t, &t.words[j].lines[side], filter, class, mask, del, &deleted)
			}
			return
		}
		m.sweepEntries(t, &t.buckets[j], filter, class, mask, del, &deleted)
	}
	for i := range t.size() {
		m.eachBucket(t, uint64(i), t.mask, sweep)
	}
	return deleted
}

// sweepWords sweeps the chain of head line head, whose lock the caller
// holds; only the pairs of the class if filter.
func (m *Map[K, V]) sweepWords(t *table[K, V], head *wline, filter bool, class, mask uint64, del func(K, V) bool, deleted *int) {
	// An unlinked line keeps its link, so the walk goes on from it.
	for l := head; l != nil; l = l.next.Load() {
		for hits := l.ctrl.Load() & wordHighs; hits != 0; hits &= hits - 1 {
			i := slotOf(hits)
			kw := l.kv[i].k.Load()
			h := mixInt(kw, t.intSeed)
			if filter && h&mask != class || !del(keyOf[K](kw), fromWord[V](l.kv[i].v.Load())) {
				continue
			}
			t.removeWords(head, l, i, false)
			m.add(h, -1)
			*deleted++
		}
	}
}

// sweepEntries sweeps the chain of head bucket head, whose lock the caller
// holds; only the entries of the class if filter.
func (m *Map[K, V]) sweepEntries(t *table[K, V], head *bucket[K, V], filter bool, class, mask uint64, del func(K, V) bool, deleted *int) {
	for b := head; b != nil; b = b.next.Load() {
		for hits := b.meta.Load() & metaHighs; hits != 0; hits &= hits - 1 {
			i := slotOf(hits)
			e := b.slots[i].Load()
			if e.Key != e.Key {
				continue
			}
			var h uint64
			if filter {
				if h = t.hash(e.Key); h&mask != class {
					continue
				}
			}
			if !del(e.Key, e.Val) {
				continue
			}
			if !filter {
				h = t.hash(e.Key)
			}
			t.removeEntry(head, b, i)
			m.add(h, -1)
			*deleted++
		}
	}
}
