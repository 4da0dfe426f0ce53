package shrinkmap

import "time"

// ShrinkMap is a map from K to V that gives memory back after deletes.
//
// It wraps a native Go map, tracks its live count and its peak since the last
// compaction, and when its Policy says so copies the live entries into a
// fresh map so that the old table can be freed. Get, Set and Delete run in
// amortized O(1) time; compaction costs amortized O(1) per operation (see
// Policy). By default a large compaction is incremental: each later Set and
// Delete copies at most DefaultStep entries, so no single call pauses for a
// whole copy (see WithIncremental).
//
// The zero value is an empty map with the default policy, ready to use. A
// ShrinkMap is not safe for concurrent use by multiple goroutines; use
// Concurrent for that. A ShrinkMap must not be copied after first use (go
// vet reports copies).
type ShrinkMap[K comparable, V any] struct {
	_ noCopy

	// cur holds every entry whose key equals itself; nil until the first
	// Set. During an incremental compaction it stays complete and next, the
	// fresh table, receives copies of its entries step by step, and every
	// write goes to both; when next holds them all, it becomes cur.
	cur  map[K]V
	next map[K]V       // the fresh table of an incremental compaction; nil otherwise
	nans []entry[K, V] // entries whose key is not equal to itself (NaN): no map lookup finds them
	mig  *migration    // the incremental compaction in progress; nil otherwise

	cfg      config
	group    int64 // estimated bytes of one group of cur's table
	curSized int   // entries cur's table was made or has grown for

	// sizing caches what depends on curSized alone: cur's estimated bytes
	// and the live count under which a fresh table would be smaller.
	sizing      sizing
	sizingValid bool
	ask         askCache // the Len under which the policy is worth asking
	peak        int      // largest Len since the last compaction
	deletes     int      // deletes since the last compaction
	shrinks     int      // compactions completed
	gen         int      // bumped when Shrink or Clear replaces cur, for iterators
	iterating   int      // iterations in progress: compaction waits for them
	pending     bool     // a Delete during iteration left the policy unasked
}

type entry[K comparable, V any] struct {
	key K
	val V
}

// noCopy makes go vet's copylocks check report copies of a ShrinkMap.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// New returns an empty map configured by opts. It panics with a message
// naming the field, the value and the allowed range if an option is invalid.
func New[K comparable, V any](opts ...Option) *ShrinkMap[K, V] {
	m := new(ShrinkMap[K, V])
	m.configure(newMapConfig(opts))
	return m
}

// configure gives a zero ShrinkMap the configuration cfg, sizing its table
// for cfg's capacity.
func (m *ShrinkMap[K, V]) configure(cfg config) {
	m.cfg = cfg
	m.init()
	if cfg.capacity > 0 {
		m.cur = make(map[K]V, cfg.capacity)
		m.curSized = cfg.capacity
	}
}

// init gives a zero ShrinkMap its default configuration.
func (m *ShrinkMap[K, V]) init() {
	if m.cfg.policy == nil {
		m.cfg = defaultConfig()
	}
	if m.group == 0 {
		m.group = groupBytes[K, V]()
	}
}

// Get returns the value stored for k and whether it was present. Get is a
// native lookup in one table, also during an incremental compaction, and
// small enough for the compiler to inline.
func (m *ShrinkMap[K, V]) Get(k K) (V, bool) {
	v, ok := m.cur[k]
	return v, ok
}

// Has reports whether k is present.
func (m *ShrinkMap[K, V]) Has(k K) bool {
	_, ok := m.Get(k)
	return ok
}

// Set stores v for k. Like a native map, a key that is not equal to itself
// (a NaN) adds a new entry on every Set and can be reached only by iteration.
//
// Set's fast path is one check and the map assignment: it leaves recording
// how far the map grew (Peak, and the size cur's table has grown for) to
// the next Delete or read of them, which sees the same maximum, since only
// Sets raise it.
func (m *ShrinkMap[K, V]) Set(k K, v V) {
	if m.mig == nil && m.cur != nil && k == k {
		m.cur[k] = v
		return
	}
	m.setSlow(k, v)
}

func (m *ShrinkMap[K, V]) setSlow(k K, v V) {
	switch {
	case k != k:
		m.init()
		m.nans = append(m.nans, entry[K, V]{k, v})
	case m.mig != nil:
		m.cur[k] = v
		m.next[k] = v
		m.grew()
		m.advance()
		return
	default:
		m.init()
		if m.cur == nil {
			m.cur = make(map[K]V, m.cfg.capacity)
			m.curSized = m.cfg.capacity
		}
		m.cur[k] = v
	}
	m.grew()
}

// grew records the sizes the map has grown to: Peak, and the entries cur's
// table (and next's) has grown for. Each Delete and each reader of them
// calls it first.
func (m *ShrinkMap[K, V]) grew() {
	if n := len(m.cur); n > m.curSized {
		m.curSized = n
	}
	if m.mig != nil {
		m.mig.nextSized = max(m.mig.nextSized, len(m.next))
	}
	if n := m.Len(); n > m.peak {
		m.peak = n
	}
}

// Delete removes k, if present, and compacts the map if its policy says so.
// Delete of a NaN key removes nothing, as in a native map.
func (m *ShrinkMap[K, V]) Delete(k K) {
	m.grew()
	if m.mig != nil {
		m.deleteMigrating(k)
		return
	}
	n := len(m.cur)
	delete(m.cur, k)
	if len(m.cur) < n {
		m.deletes++
		m.maybeShrink()
	}
}

// Len returns the number of entries.
func (m *ShrinkMap[K, V]) Len() int {
	return len(m.cur) + len(m.nans)
}

// Clear removes every entry and drops the tables, so that their memory can
// be freed; unlike the builtin clear, which keeps the table. It ends any
// incremental compaction and resets Peak to 0. O(1), plus the cost of
// stopping a migration in progress.
func (m *ShrinkMap[K, V]) Clear() {
	m.stopMigration()
	m.cur, m.next, m.nans = nil, nil, nil
	m.reset(0)
	m.gen++
}

// reset starts a new history after a compaction or Clear: cur's table is
// sized for sized entries.
func (m *ShrinkMap[K, V]) reset(sized int) {
	m.curSized = sized
	m.restart()
}

// restart starts a new history: Peak is the live count, and no deletes
// have been seen since.
func (m *ShrinkMap[K, V]) restart() {
	m.peak = m.Len()
	m.deletes = 0
}

// Shrink compacts the map now: it finishes or abandons any incremental
// compaction and copies the live entries into a fresh table sized for them,
// ignoring the WithCapacity floor. On an empty map it releases the table
// entirely. It runs in O(table size) time and always copies at
// once; it is safe to call during an iteration, which then goes on over the
// entries still present.
func (m *ShrinkMap[K, V]) Shrink() {
	m.init()
	m.grew()
	m.compactNow(0, true)
}

// Stats returns a snapshot of the map's occupancy and history.
func (m *ShrinkMap[K, V]) Stats() Stats {
	m.init()
	m.grew()
	return m.stats(m.tableBytes(), tableBytes(len(m.cur), m.group))
}

// stats returns the Stats of a map whose tables take table bytes, of which a
// fresh table for the live entries would take fresh.
func (m *ShrinkMap[K, V]) stats(table, fresh int64) Stats {
	s := Stats{
		Len:         m.Len(),
		Peak:        m.peak,
		Shrinks:     m.shrinks,
		TableBytes:  table,
		WastedBytes: max(0, table-fresh),
	}
	if m.mig != nil {
		s.Migrating = true
		s.MigrationLeft = len(m.cur) - len(m.next)
	}
	return s
}

func (m *ShrinkMap[K, V]) tableBytes() int64 {
	b := m.sized().bytes
	if m.mig != nil {
		b += tableBytes(m.mig.nextSized, m.group)
	}
	return b
}

// maybeShrink starts a compaction after a Delete if it would shrink the
// table, enough deletes have paid for it and the policy agrees. It runs on
// every Delete, so it asks the policy only when the policy could say yes.
func (m *ShrinkMap[K, V]) maybeShrink() {
	if m.iterating > 0 {
		m.pending = true
		return
	}
	live := len(m.cur)
	if m.mig != nil || m.deletes < live/8 || live > m.sized().shrinkable || m.Len() >= m.askBelow() {
		return
	}
	if !m.cfg.policy.ShouldShrink(m.stats(m.tableBytes(), tableBytes(live, m.group))) {
		return
	}
	if m.incremental(live) {
		m.startMigration()
		return
	}
	m.compactNow(m.cfg.capacity, false)
}

// incremental reports whether a compaction of live entries moves them in
// steps rather than at once.
func (m *ShrinkMap[K, V]) incremental(live int) bool {
	return m.cfg.step > 0 && (live >= DefaultMinIncremental || tableBytes(live, m.group) >= DefaultMinIncrementalBytes)
}

// askCache holds the Len at and above which a map's policy does not
// compact, for the Peak and table size it was computed for.
type askCache struct {
	peak, sized, below int
	valid              bool
}

// askBelow returns the Len at and above which the policy need not be asked,
// computing it when Peak or cur's table has changed since the last call.
func (m *ShrinkMap[K, V]) askBelow() int {
	if a := m.ask; a.valid && a.peak == m.peak && a.sized == m.curSized {
		return a.below
	}
	below := shrinkBelow(m.cfg.policy, m.peak, m.sized().bytes)
	m.ask = askCache{peak: m.peak, sized: m.curSized, below: below, valid: true}
	return below
}

// compactNow copies the live entries into a fresh table sized for
// max(Len, floor) entries and drops the old ones, without modifying them:
// an iteration in progress may still be reading them.
func (m *ShrinkMap[K, V]) compactNow(floor int, manual bool) {
	start := m.clock()
	before := m.tableBytes()
	m.stopMigration()
	live := len(m.cur)
	sized := max(live, floor)
	var fresh map[K]V
	if sized > 0 {
		fresh = make(map[K]V, sized)
		for k, v := range m.cur {
			fresh[k] = v
		}
	}
	m.cur, m.next = fresh, nil
	m.reset(sized)
	m.gen++
	m.shrinks++
	m.notify(ShrinkEvent{
		Entries:     live,
		BytesBefore: before,
		BytesAfter:  m.tableBytes(),
		Duration:    m.since(start),
		Manual:      manual,
	})
}

// clock returns the time now if a hook will want durations.
func (m *ShrinkMap[K, V]) clock() time.Time {
	if m.cfg.hook == nil {
		return time.Time{}
	}
	return time.Now()
}

func (m *ShrinkMap[K, V]) since(start time.Time) time.Duration {
	if start.IsZero() {
		return 0
	}
	return time.Since(start)
}

func (m *ShrinkMap[K, V]) notify(e ShrinkEvent) {
	if m.cfg.hook != nil {
		m.cfg.hook(e)
	}
}
