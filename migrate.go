package shrinkmap

import (
	"iter"
	"runtime"
	"time"
)

// migration is an incremental compaction in progress: a paused range over
// cur, resumed by each Set and Delete to copy a bounded number of entries
// into next, the fresh table.
//
// cur stays complete throughout, so that Get is one lookup in one table, and
// every write goes to both tables, so that next never holds a key cur does
// not, nor a stale value: when next holds as many entries as cur, it holds
// them all and becomes cur. A range over a Go map cannot be paused, and
// restarting one rescans what it has seen, so the tail of a migration would
// cost whole-table scans. iter.Pull keeps one range suspended in a coroutine
// instead: each step resumes it where it stopped, so the whole migration
// scans cur's table once. The coroutine holds only the two tables, never the
// ShrinkMap, so a map dropped mid-migration becomes unreachable and a
// runtime cleanup stops the coroutine, freeing it and both tables.
type migration struct {
	step      func() (struct{}, bool)
	stop      func()
	cleanup   runtime.Cleanup
	entries   int           // live entries when the compaction started
	before    int64         // estimated table bytes when it started
	nextSized int           // entries next's table was made or has grown for
	busy      time.Duration // time spent in steps, if a hook wants it
	reason    ShrinkReason  // why it started
}

// copyEntries returns a sequence that copies src's entries into dst,
// pausing after each step of entries that dst did not hold yet (an entry
// set during the migration is in both already).
func copyEntries[K comparable, V any](src, dst map[K]V, step int) iter.Seq[struct{}] {
	return func(yield func(struct{}) bool) {
		n := 0
		for k, v := range src {
			held := len(dst)
			dst[k] = v
			if len(dst) == held {
				continue
			}
			if n++; n == step {
				n = 0
				if !yield(struct{}{}) {
					return
				}
			}
		}
	}
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
	live := len(m.cur)
	sized := max(m.cfg.capacity, min(live, entriesWithin(presizeBytes, m.group)))
	if m.pressure.under {
		// A table that grows as entries arrive ends up larger than one
		// made for them: near the memory limit, pay for the allocation.
		sized = max(m.cfg.capacity, live)
	}
	mig := &migration{entries: live, before: m.tableBytes(), nextSized: sized, reason: reason}
	m.next = make(map[K]V, sized)
	mig.step, mig.stop = iter.Pull(copyEntries(m.cur, m.next, m.cfg.step))
	mig.cleanup = runtime.AddCleanup(m, func(stop func()) { stop() }, mig.stop)
	m.mig = mig
	m.hist.compacted(m.Len())
}

// advance copies the next step of entries and ends the migration once
// next holds every entry.
func (m *ShrinkMap[K, V]) advance() {
	if len(m.next) < len(m.cur) {
		start := m.clock()
		m.mig.step()
		m.mig.busy += m.since(start)
		m.grew() // next grew; Len, and so Peak, did not change
	}
	if len(m.next) == len(m.cur) {
		m.finishMigration()
	}
}

func (m *ShrinkMap[K, V]) finishMigration() {
	mig := m.mig
	m.stopMigration()
	m.cur, m.next = m.next, nil
	m.curSized = mig.nextSized
	m.gen++
	m.shrinks++
	m.notify(ShrinkEvent{
		Entries:     mig.entries,
		BytesBefore: mig.before,
		BytesAfter:  m.tableBytes(),
		Duration:    mig.busy,
		Incremental: true,
		Reason:      mig.reason,
	})
}

// finishNow copies every entry the migration in progress has yet to copy
// and completes it.
func (m *ShrinkMap[K, V]) finishNow() {
	start := m.clock()
	for len(m.next) < len(m.cur) {
		if _, ok := m.mig.step(); !ok {
			break
		}
	}
	m.mig.busy += m.since(start)
	m.grew()
	m.finishMigration()
}

// stopMigration ends the coroutine, if any, leaving both tables as they are.
func (m *ShrinkMap[K, V]) stopMigration() {
	if m.mig == nil {
		return
	}
	m.mig.cleanup.Stop()
	m.mig.stop()
	m.mig = nil
}

// deleteMigrating is Delete during an incremental compaction: it deletes k
// from both tables and takes a step.
func (m *ShrinkMap[K, V]) deleteMigrating(k K) {
	n := len(m.cur)
	delete(m.cur, k)
	delete(m.next, k)
	if len(m.cur) < n {
		m.hist.deleted(m.Len())
	}
	m.advance()
}
