package shrinkmap

import (
	"reflect"
	"time"
)

// migration is an incremental compaction in progress: a paused iteration
// over cur, resumed by each Set and Delete to copy a bounded number of
// entries into next, the fresh table.
//
// cur stays complete throughout, so that Get is one lookup in one table, and
// every write goes to both tables, so that next never holds a key cur does
// not, nor a stale value: when next holds as many entries as cur, it holds
// them all and becomes cur. A range loop over a Go map cannot be paused,
// and restarting one rescans what it has seen; a reflect.MapIter can, and
// it is plain memory: no coroutine or goroutine, so it works the same on a
// goroutine locked to its OS thread, and a map dropped mid-migration is
// collected with it.
type migration[K comparable, V any] struct {
	iter *reflect.MapIter
	key  reflect.Value // settable, addressing k
	val  reflect.Value // settable, addressing v
	k    K
	v    V

	entries   int           // live entries when the compaction started
	before    int64         // estimated table bytes when it started
	nextSized int           // entries next's table was made or has grown for
	busy      time.Duration // time spent in steps, if a hook wants it
	reason    ShrinkReason  // why it started
}

// copyStep copies up to step entries of src that dst does not hold yet into
// dst (an entry set during the migration is in both already), and reports
// whether src has no more.
func (mg *migration[K, V]) copyStep(dst map[K]V, step int) (done bool) {
	for n := 0; n < step; {
		if !mg.iter.Next() {
			return true
		}
		mg.key.SetIterKey(mg.iter)
		mg.val.SetIterValue(mg.iter)
		held := len(dst)
		dst[mg.k] = mg.v
		if len(dst) > held {
			n++
		}
	}
	return false
}

// presizeBytes bounds the table that an incremental compaction allocates
// when it starts: about as long to clear as one step takes to copy.
const presizeBytes = 256 << 10

// startMigration makes a fresh table and starts copying the live entries
// into it, step by step. The table is sized for the live entries, or for
// the WithCapacity floor if larger, but no larger than presizeBytes up
// front: a larger one would be allocated and cleared inside one operation.
// Past that it grows as entries arrive.
func (m *ShrinkMap[K, V]) startMigration(reason ShrinkReason) {
	x := m.x
	live := len(m.cur)
	sized := max(x.cfg.capacity, min(live, entriesWithin(presizeBytes, x.group)))
	if x.pressure.under {
		// A table that grows as entries arrive ends up larger than one
		// made for them: near the memory limit, pay for the allocation.
		sized = max(x.cfg.capacity, live)
	}
	mg := &migration[K, V]{entries: live, before: m.tableBytes(), nextSized: sized, reason: reason}
	mg.iter = reflect.ValueOf(m.cur).MapRange()
	mg.key = reflect.ValueOf(&mg.k).Elem()
	mg.val = reflect.ValueOf(&mg.v).Elem()
	x.next = make(map[K]V, sized)
	x.mig, x.skip = mg, 0
	x.hist.compacted(m.Len())
	m.refast()
	m.publish(false)
}

// advance copies the next step of entries and ends the migration once
// next holds every entry.
func (m *ShrinkMap[K, V]) advance() {
	x := m.x
	if len(x.next) < len(m.cur) {
		start := m.hookStart()
		x.mig.copyStep(x.next, x.cfg.step)
		x.mig.busy += m.since(start)
		m.grew() // next grew; Len, and so Peak, did not change
	}
	if len(x.next) == len(m.cur) {
		m.finishMigration()
	}
}

// finishMigration makes next cur and keeps the old table as the spare.
func (m *ShrinkMap[K, V]) finishMigration() {
	x := m.x
	mg := x.mig
	x.mig = nil
	x.spare.keep(m.cur, x.curSized, len(x.next))
	m.cur, x.next = x.next, nil
	x.curSized = mg.nextSized
	m.compacted(ShrinkEvent{
		Entries:     mg.entries,
		BytesBefore: mg.before,
		Duration:    mg.busy,
		Incremental: true,
		Reason:      mg.reason,
	})
}

// finishNow copies every entry the migration in progress has yet to copy
// and completes it.
func (m *ShrinkMap[K, V]) finishNow() {
	x := m.x
	start := m.hookStart()
	for len(x.next) < len(m.cur) && !x.mig.copyStep(x.next, len(m.cur)-len(x.next)) {
	}
	x.mig.busy += m.since(start)
	m.grew()
	m.finishMigration()
}

// deleteMigrating is Delete during an incremental compaction: it deletes k
// from both tables and takes a step.
func (m *ShrinkMap[K, V]) deleteMigrating(k K) {
	x := m.x
	n := len(m.cur)
	delete(m.cur, k)
	delete(x.next, k)
	if len(m.cur) < n {
		x.removed++
		x.hist.deleted(m.Len())
	}
	m.advance()
}
