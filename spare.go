package shrinkmap

import (
	"maps"
	"weak"
)

// spareCheckEvery is how many Sets a map with a spare table lets pass
// between checks that the spare is still alive (a check costs a runtime
// call): a map whose spare the collector took goes back to its fast path
// within that many Sets.
const spareCheckEvery = 256

// A spare is the table a compaction gave up, held only weakly: until the
// next garbage collection frees it, a map that grows back past its fresh
// table reuses it instead of growing a new one, so that a refill right
// after a drain costs about what it costs a native map that kept its
// table; a map that stays drained gives it to the collector. No goroutine
// or timer is involved: the collector decides when the memory goes.
type spare[K comparable, V any] struct {
	table weak.Pointer[map[K]V]
	sized int // entries the table was made or has grown for; 0 if none
	// adoptAt is the Len at which a Set of a new key reuses the table:
	// twice the entries the compaction kept, so that a map that works at
	// its drained level never takes it back, and a sixteenth of its size,
	// so that a few entries more do not pay for a scan of all of it.
	adoptAt int
	check   int // Sets until the next check that the table is alive
}

// held reports whether s may hold a table.
func (s *spare[K, V]) held() bool { return s.sized > 0 }

// keep makes t, a table sized for sized entries that no write will reach
// again, the spare of a map that keeps live entries, unless the spare held
// is larger and alive, or t is a single group (as cheap to make again as to
// reuse).
func (s *spare[K, V]) keep(t map[K]V, sized, live int) {
	if t == nil || sized <= groupSlots || s.held() && s.sized >= sized && s.table.Value() != nil {
		if s.held() {
			s.adoptAt = max(2*live+1, s.sized/16)
		}
		return
	}
	p := new(map[K]V)
	*p = t
	*s = spare[K, V]{table: weak.Make(p), sized: sized, adoptAt: max(2*live+1, sized/16), check: spareCheckEvery}
}

// setBesideSpare is Set while a spare may be held: a new key that brings
// Len to the spare's adoptAt, if cur's table is smaller, first moves the
// entries into the spare, if the collector has not taken it. Every spareCheckEvery calls it checks
// whether the spare is alive, and drops it if not.
func (m *ShrinkMap[K, V]) setBesideSpare(k K, v V) {
	if x := m.x; x.spare.held() {
		if x.spare.check--; x.spare.check <= 0 && x.spare.table.Value() == nil {
			x.spare = spare[K, V]{}
		} else if x.spare.check <= 0 {
			x.spare.check = spareCheckEvery
		}
		if len(m.cur)+1 >= x.spare.adoptAt && x.spare.sized > max(x.curSized, len(m.cur)) {
			if _, ok := m.cur[k]; !ok {
				m.adoptSpare()
			}
		}
	}
	m.cur[k] = v
	m.refast()
}

// adoptSpare makes the spare, if alive, cur: it deletes the entries that
// cur no longer holds and sets cur's entries in it. An entry present
// throughout keeps its slot (only its value is written), so that an
// iteration over the spare's table in progress yields it once.
func (m *ShrinkMap[K, V]) adoptSpare() {
	x := m.x
	p, sized := x.spare.table.Value(), x.spare.sized
	x.spare = spare[K, V]{}
	if p == nil {
		return
	}
	t := *p
	for k := range t {
		if _, ok := m.cur[k]; !ok {
			delete(t, k)
		}
	}
	maps.Copy(t, m.cur)
	m.cur = t
	x.curSized = sized
	x.gen++
	x.reused++
	x.skip = 0
}
