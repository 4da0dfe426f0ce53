package table

import (
	"fmt"
	"slices"
)

// A Verifier verifies a Map's invariants (see the package doc), for tests;
// the library never calls it. It remembers the forwarded buckets it has
// seen, to verify on later calls that they never change again. The zero
// Verifier is ready to use on one Map.
type Verifier[K comparable, V any] struct {
	// frozen holds each forwarded chain as first seen, by table and head
	// bucket index, for the tables the map may still reach.
	frozen map[*table[K, V]]map[int][]link[K, V]
	// Scratch space, reused across calls: a chain being read and the live
	// keys of a chain.
	chain []link[K, V]
	keys  []K
	words []uint64 // the live key bits of a head bucket, in the word layout
	live  int64    // live entries found
	// frozenWords is frozen for tables of the word layout, by table.
	frozenWords map[*table[K, V]]map[int][]wsnap
}

// link is one bucket of a chain as a Verifier saw it.
type link[K comparable, V any] struct {
	b     *bucket[K, V]
	meta  uint64
	slots [bucketSlots]*Entry[K, V]
	next  *bucket[K, V]
}

// Verify returns the first violation of m's invariants that it finds, or
// nil. If quiet, no goroutine may use m meanwhile, and Verify also checks
// what holds only between operations: meta bytes against slots, next
// tables against the buckets they are filled from, the counters, and free
// locks. Otherwise it checks what holds at every instant, and may run
// while other goroutines use m.
func (v *Verifier[K, V]) Verify(m *Map[K, V], quiet bool) error {
	t := m.cur.Load()
	if t == nil {
		return m.verifyNoTable(quiet)
	}
	nt := t.next.Load()
	if v.frozen == nil {
		v.frozen = make(map[*table[K, V]]map[int][]link[K, V])
	}
	for tab := range v.frozen {
		if tab.gen < t.gen {
			delete(v.frozen, tab) // published: nothing reaches it
		}
	}
	for tab := range v.frozenWords {
		if tab.gen < t.gen {
			delete(v.frozenWords, tab)
		}
	}
	if err := verifyNext(m, t, nt); err != nil {
		return err
	}
	w := walker[K, V]{m: m, v: v, t: t, nt: nt, quiet: quiet}
	v.live = 0
	if err := w.walk(t, 0); err != nil {
		return err
	}
	if nt != nil {
		if err := w.walk(nt, 1); err != nil {
			return err
		}
	}
	if quiet {
		return w.counts()
	}
	return nil
}

// verifyNext checks how t, which m's table was, relates to its next table
// nt, nil if none.
func verifyNext[K comparable, V any](m *Map[K, V], t, nt *table[K, V]) error {
	switch {
	case nt == nil:
		return nil
	case t.resize.Load() == nil:
		return fmt.Errorf("table of generation %d has a next table but no resize", t.gen)
	case nt.gen != t.gen+1:
		return fmt.Errorf("next table of generation %d is of generation %d", t.gen, nt.gen)
	case (nt.resize.Load() != nil || nt.next.Load() != nil) && m.cur.Load() == t:
		// Once published, nt may resize; m's table never goes back to t.
		return fmt.Errorf("next table of generation %d resizes before it is published", nt.gen)
	}
	return nil
}

// walker is the state of one Verify.
type walker[K comparable, V any] struct {
	m     *Map[K, V]
	v     *Verifier[K, V]
	t, nt *table[K, V]
	quiet bool
	// When quiet, what the walk counts besides v.live: forwarded heads in
	// t, and overflow buckets in t and nt.
	fwdHeads  int64
	overflows [2]int64
}

// walk checks every chain of tab, which is w.t (which 0) or w.nt (1).
func (w *walker[K, V]) walk(tab *table[K, V], which int) error {
	if tab.words != nil {
		return w.walkWords(tab, which)
	}
	for j := range tab.buckets {
		head := &tab.buckets[j]
		isLocked := w.quiet && !head.mu.TryLock()
		if w.quiet && !isLocked {
			head.mu.Unlock()
		}
		fwd := head.meta.Load()&forwarded != 0
		if err := w.checkHead(tab, j, isLocked, fwd, func() error { return w.checkFrozen(tab, head, j) }); err != nil {
			return err
		}
		w.v.keys = w.v.keys[:0]
		for b := head; b != nil; b = b.next.Load() {
			if b != head && w.quiet {
				w.overflows[which]++
			}
			if err := w.checkBucket(tab, uint64(j), b, b == head, fwd); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkHead checks head bucket j of tab, of either layout, found locked
// (looked at only when quiet) and forwarded (fwd): a forwarded head needs
// a next table and its chain as first seen, which frozen checks.
func (w *walker[K, V]) checkHead(tab *table[K, V], j int, isLocked, fwd bool, frozen func() error) error {
	if w.quiet && isLocked {
		return fmt.Errorf("bucket %d of the table of generation %d is locked", j, tab.gen)
	}
	if !fwd {
		return nil
	}
	if tab.resize.Load() == nil || tab.next.Load() == nil {
		return fmt.Errorf("bucket %d of the table of generation %d is forwarded, but the table has no next table", j, tab.gen)
	}
	if err := frozen(); err != nil {
		return err
	}
	if w.quiet {
		w.fwdHeads++
	}
	return nil
}

// checkFrozen checks that the forwarded chain headed by head, bucket j of
// tab, is as it was when first seen, and remembers it if it is new.
func (w *walker[K, V]) checkFrozen(tab *table[K, V], head *bucket[K, V], j int) error {
	chain := w.v.chain[:0]
	for b := head; b != nil; b = b.next.Load() {
		l := link[K, V]{b: b, meta: b.meta.Load(), next: b.next.Load()}
		for i := range l.slots {
			l.slots[i] = b.slots[i].Load()
		}
		chain = append(chain, l)
	}
	w.v.chain = chain
	seen := w.v.frozen[tab]
	if seen == nil {
		seen = make(map[int][]link[K, V])
		w.v.frozen[tab] = seen
	}
	if first, ok := seen[j]; !ok {
		seen[j] = slices.Clone(chain)
	} else if !slices.Equal(first, chain) {
		return fmt.Errorf("forwarded bucket %d of the table of generation %d changed", j, tab.gen)
	}
	return nil
}

// checkBucket checks b, of the chain of tab's bucket j; fwd reports the
// chain forwarded.
func (w *walker[K, V]) checkBucket(tab *table[K, V], j uint64, b *bucket[K, V], isHead, fwd bool) error {
	meta := b.meta.Load()
	if stray := meta &^ metaSlots &^ forwarded; stray != 0 || (!isHead && meta&forwarded != 0) {
		return fmt.Errorf("bucket %d of the table of generation %d: meta word %#x has bits set beyond its slots' bytes", j, tab.gen, meta)
	}
	for i := range bucketSlots {
		e := b.slots[i].Load()
		byt := meta >> (8 * i) & 0xff
		if w.quiet && (byt == 0) != (e == nil) {
			return fmt.Errorf("bucket %d of the table of generation %d: slot %d holds %v under meta byte %#x", j, tab.gen, i, e, byt)
		}
		if e == nil {
			continue
		}
		h := tab.entryHash(e)
		if h&tab.mask != j {
			return fmt.Errorf("key %v in bucket %d of the table of generation %d; its hash selects bucket %d", e.Key, j, tab.gen, h&tab.mask)
		}
		if w.quiet && !fwd {
			if err := w.checkLive(tab, j, e, h, byt); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkLive checks e, with hash h under meta byte byt, in the chain of
// tab's bucket j, which is not forwarded, and counts it, when quiet.
func (w *walker[K, V]) checkLive(tab *table[K, V], j uint64, e *Entry[K, V], h, byt uint64) error {
	if byt != h2(h) {
		return fmt.Errorf("key %v in bucket %d of the table of generation %d has meta byte %#x; want %#x", e.Key, j, tab.gen, byt, h2(h))
	}
	if tab == w.nt && w.t.buckets[h&w.t.mask].meta.Load()&forwarded == 0 {
		return fmt.Errorf("key %v in the next table of generation %d, but its bucket %d in the table is not forwarded", e.Key, tab.gen, h&w.t.mask)
	}
	// A key's live entry can only be in the chain its hash selects, in t
	// if that is not forwarded and in nt if it is: a second one would be
	// in the same chain.
	if e.Key == e.Key {
		if slices.Contains(w.v.keys, e.Key) {
			return fmt.Errorf("key %v is live twice, in bucket %d of the table of generation %d", e.Key, j, tab.gen)
		}
		w.v.keys = append(w.v.keys, e.Key)
	}
	w.v.live++
	return nil
}

// counts checks the counters against what the walk found, when quiet.
func (w *walker[K, V]) counts() error {
	if err := w.m.verifyCounters(w.v.live); err != nil {
		return err
	}
	if n := w.t.overflow.Load(); n != w.overflows[0] {
		return fmt.Errorf("table of generation %d counts %d overflow buckets; it has %d", w.t.gen, n, w.overflows[0])
	}
	if w.nt != nil && w.nt.overflow.Load() != w.overflows[1] {
		return fmt.Errorf("next table counts %d overflow buckets; it has %d", w.nt.overflow.Load(), w.overflows[1])
	}
	if moved, claimed := w.t.moved.Load(), w.t.claimed.Load(); moved != w.fwdHeads || claimed < moved {
		return fmt.Errorf("table of generation %d counts %d buckets moved, %d claimed; %d are forwarded", w.t.gen, moved, claimed, w.fwdHeads)
	}
	return nil
}

// verifyNoTable checks a map that has no table yet: no counts, when quiet.
func (m *Map[K, V]) verifyNoTable(quiet bool) error {
	if !quiet {
		return nil
	}
	return m.verifyCounters(0)
}

// verifyCounters checks that the counters sum to live entries and that
// none counts more than its peak.
func (m *Map[K, V]) verifyCounters(live int64) error {
	var n int64
	var over error
	m.each(func(c *counter) {
		n += c.n.Load()
		if p := c.peak.Load(); p < c.n.Load() {
			over = fmt.Errorf("a counter counts %d entries over its peak %d", c.n.Load(), p)
		}
	})
	if n != live {
		return fmt.Errorf("counters count %d entries; %d are live", n, live)
	}
	return over
}
