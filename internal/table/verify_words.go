package table

import (
	"fmt"
	"slices"
)

// wsnap is one line of a forwarded head as a Verifier saw it.
type wsnap struct {
	l    *wline
	ctrl uint64 // without the lock bit
	kv   [wordSlots][2]uint64
	next *wline
}

// walkWords is walk for a table of the word layout.
func (w *walker[K, V]) walkWords(tab *table[K, V], which int) error {
	for j := range tab.words {
		b := &tab.words[j]
		c0, c1 := b.lines[0].ctrl.Load(), b.lines[1].ctrl.Load()
		frozen := func() error {
			if c1&forwarded == 0 {
				return fmt.Errorf("bucket %d of the table of generation %d: its first line is forwarded, its second is not", j, tab.gen)
			}
			return w.checkFrozenWords(tab, b, j)
		}
		fwd := c0&forwarded != 0
		if err := w.checkHead(tab, j, (c0|c1)&locked != 0, fwd, frozen); err != nil {
			return err
		}
		w.v.words = w.v.words[:0]
		for side := range b.lines {
			for l := &b.lines[side]; l != nil; l = l.next.Load() {
				isHead := l == &b.lines[side]
				if !isHead && w.quiet {
					w.overflows[which]++
				}
				if err := w.checkLine(tab, uint64(j), uint64(side), l, isHead, fwd); err != nil {
					return err
				}
			}
			if err := w.checkChainBits(tab, j, side, &b.lines[side]); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkFrozenWords is checkFrozen for head bucket b, bucket j of tab.
func (w *walker[K, V]) checkFrozenWords(tab *table[K, V], b *wbucket, j int) error {
	var lines []wsnap
	for side := range b.lines {
		for l := &b.lines[side]; l != nil; l = l.next.Load() {
			s := wsnap{l: l, ctrl: l.ctrl.Load() &^ locked, next: l.next.Load()}
			for i := range s.kv {
				s.kv[i] = [2]uint64{l.kv[i].k.Load(), l.kv[i].v.Load()}
			}
			lines = append(lines, s)
		}
	}
	if w.v.frozenWords == nil {
		w.v.frozenWords = make(map[*table[K, V]]map[int][]wsnap)
	}
	seen := w.v.frozenWords[tab]
	if seen == nil {
		seen = make(map[int][]wsnap)
		w.v.frozenWords[tab] = seen
	}
	if first, ok := seen[j]; !ok {
		seen[j] = lines
	} else if !slices.Equal(first, lines) {
		return fmt.Errorf("forwarded bucket %d of the table of generation %d changed", j, tab.gen)
	}
	return nil
}

// checkLine checks line l, of side side of tab's head bucket j: its
// control word's bits, and each live pair's place, meta byte and
// uniqueness when quiet and not forwarded (fwd).
func (w *walker[K, V]) checkLine(tab *table[K, V], j, side uint64, l *wline, isHead, fwd bool) error {
	c := l.ctrl.Load()
	allowed := wordMeta | chainBits | seqBits
	if isHead {
		allowed |= forwarded | locked
	}
	if c&^allowed != 0 {
		return fmt.Errorf("line %d of bucket %d of the table of generation %d: control word %#x has stray bits", side, j, tab.gen, c)
	}
	if !isHead && c&chainBits != chainBits {
		return fmt.Errorf("overflow line of line %d of bucket %d of the table of generation %d: control word %#x lacks chain bits", side, j, tab.gen, c)
	}
	for i := range wordSlots {
		byt := c >> (8 * i) & 0xff
		if byt == 0 {
			continue
		}
		kw := l.kv[i].k.Load()
		h := mixInt(kw, tab.intSeed)
		if h&tab.mask != j || lineOf(h) != side {
			return fmt.Errorf("key %v in line %d of bucket %d of the table of generation %d; its hash selects line %d of bucket %d", keyOf[K](kw), side, j, tab.gen, lineOf(h), h&tab.mask)
		}
		if !w.quiet || fwd {
			continue
		}
		if byt != h2(h) {
			return fmt.Errorf("key %v in bucket %d of the table of generation %d has meta byte %#x; want %#x", keyOf[K](kw), j, tab.gen, byt, h2(h))
		}
		if tab == w.nt && w.t.words[h&w.t.mask].lines[0].ctrl.Load()&forwarded == 0 {
			return fmt.Errorf("key %v in the next table of generation %d, but its bucket %d in the table is not forwarded", keyOf[K](kw), tab.gen, h&w.t.mask)
		}
		if slices.Contains(w.v.words, kw) {
			return fmt.Errorf("key %v is live twice, in bucket %d of the table of generation %d", keyOf[K](kw), j, tab.gen)
		}
		w.v.words = append(w.v.words, kw)
		w.v.live++
	}
	return nil
}

// checkChainBits checks, when quiet, that head line head, of side side of
// tab's head bucket j, has the chain bits of the pairs in its overflow
// lines set, and no others.
func (w *walker[K, V]) checkChainBits(tab *table[K, V], j, side int, head *wline) error {
	if !w.quiet {
		return nil
	}
	if got, want := head.ctrl.Load()&chainBits, head.chainBits(); got != want {
		return fmt.Errorf("line %d of bucket %d of the table of generation %d: chain bits %#x; its overflow lines hold pairs of %#x", side, j, tab.gen, got, want)
	}
	return nil
}
