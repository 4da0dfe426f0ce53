package shrinkmap

import (
	"iter"
	"runtime"
	"time"
)

// migration is an incremental compaction in progress: a paused range over
// the old table, resumed by each map operation to move a bounded number of
// entries into the new one.
//
// A range over a Go map cannot be paused, and restarting one rescans the
// slots already emptied, so the tail of a migration would cost whole-table
// scans. iter.Pull keeps one range suspended in a coroutine instead: each
// step resumes it where it stopped, so the whole migration scans the old
// table once. The coroutine holds only the two tables, never the
// ShrinkMap, so a map dropped mid-migration becomes unreachable and a
// runtime cleanup stops the coroutine, freeing it and the old table.
type migration struct {
	next     func() (struct{}, bool)
	stop     func()
	cleanup  runtime.Cleanup
	entries  int           // live entries when the compaction started
	before   int64         // estimated table bytes when it started
	oldBytes int64         // estimated bytes of the old table
	busy     time.Duration // time spent in steps, if a hook wants it
}

// moveEntries returns a sequence that moves src's entries into dst,
// pausing after each step of them.
func moveEntries[K comparable, V any](src, dst map[K]V, step int) iter.Seq[struct{}] {
	return func(yield func(struct{}) bool) {
		n := 0
		for k, v := range src {
			dst[k] = v
			delete(src, k)
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
// when it starts: about as long to clear as one step takes to move.
const presizeBytes = 256 << 10

// startMigration makes a fresh table and starts moving the live entries
// into it, step by step. The table is sized for the live entries, or for
// the WithCapacity floor if larger, but no larger than presizeBytes up
// front: a larger one would be allocated and cleared inside one operation.
// Past that it grows as entries arrive.
func (m *ShrinkMap[K, V]) startMigration() {
	live := len(m.cur) + len(m.old)
	mig := &migration{
		entries:  live,
		before:   m.tableBytes(),
		oldBytes: m.tableBytes(),
	}
	sized := max(m.cfg.capacity, min(live, entriesWithin(presizeBytes, m.group)))
	m.old, m.cur = m.cur, make(map[K]V, sized)
	mig.next, mig.stop = iter.Pull(moveEntries(m.old, m.cur, m.cfg.step))
	mig.cleanup = runtime.AddCleanup(m, func(stop func()) { stop() }, mig.stop)
	m.mig = mig
	m.reset(sized)
}

// advance moves the next step of entries, unless an iteration is in
// progress (entries must not change tables under it), and ends the
// migration when the old table is empty.
func (m *ShrinkMap[K, V]) advance() {
	if m.iterating > 0 {
		return
	}
	if len(m.old) > 0 {
		start := m.clock()
		_, more := m.mig.next()
		m.mig.busy += m.since(start)
		m.grew() // cur grew; Len, and so Peak, did not change
		if more && len(m.old) > 0 {
			return
		}
	}
	m.finishMigration()
}

func (m *ShrinkMap[K, V]) finishMigration() {
	mig := m.mig
	m.stopMigration()
	m.old = nil
	m.shrinks++
	m.notify(ShrinkEvent{
		Entries:     mig.entries,
		BytesBefore: mig.before,
		BytesAfter:  m.tableBytes(),
		Duration:    mig.busy,
		Incremental: true,
	})
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

// setMigrating updates k where it is, so that entries change tables only by
// migration: an iteration then meets each entry once. The caller advances
// the migration once it has recorded the insert, so that a panicking hook
// cannot leave Peak behind.
func (m *ShrinkMap[K, V]) setMigrating(k K, v V) {
	if _, ok := m.old[k]; ok {
		m.old[k] = v
	} else {
		m.cur[k] = v
	}
}

func (m *ShrinkMap[K, V]) deleteMigrating(k K) {
	n := m.Len()
	delete(m.cur, k)
	delete(m.old, k)
	if m.Len() < n {
		m.deletes++
	}
	m.advance()
}

// tidy does background work on an idle map: it moves up to steps steps of
// an incremental compaction, or, with none in progress, consults the policy
// as a Delete would. It reports whether a migration is still in progress;
// during an iteration it does nothing, so a caller must not loop on it while
// iterating the same map.
func (m *ShrinkMap[K, V]) tidy(steps int) bool {
	for ; m.mig != nil && steps > 0; steps-- {
		m.advance()
	}
	if m.mig == nil && m.cur != nil {
		m.grew()
		m.maybeShrink()
	}
	return m.mig != nil
}
