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
// The zero value is an empty map with the default policy, ready to use; Init
// configures one in place. A ShrinkMap must not be copied after first use
// (go vet reports copies).
//
// Concurrency is as for a native map. The methods that do not change the
// contents (Get, Has, Len, All, Keys, Values, Stats, Clone, MarshalJSON and
// GobEncode) write nothing to the map: any number of goroutines may call
// them at once, say under a sync.RWMutex's RLock, while none writes. Every
// other method (Set, Delete, Insert, Shrink, Clear, Init, UnmarshalJSON,
// GobDecode) needs the map to itself, as does an iteration whose loop body
// writes. Use Concurrent for a map shared with writers.
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
	hist        history  // peak, deletes and refills, for the policy
	pressure    pressureSampler
	shrinks     int // compactions completed
	gen         int // bumped whenever cur is replaced, for iterators
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

// Init empties m and configures it by opts, in place, as if it had just
// been made by New(opts...), and returns m; like container/list's Init, it
// makes a ShrinkMap held by value (a struct field) configurable. Its Stats
// start anew. It panics like New on invalid options, leaving m unchanged.
// Iterations in progress yield nothing more. O(1), plus the cost of stopping
// a migration in progress.
func (m *ShrinkMap[K, V]) Init(opts ...Option) *ShrinkMap[K, V] {
	cfg := newMapConfig(opts)
	m.stopMigration()
	gen := m.gen + 1
	*m = ShrinkMap[K, V]{gen: gen}
	m.configure(cfg)
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
	m.hist.grew(m.Len())
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
		m.hist.deleted(m.Len())
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
	m.curSized = 0
	m.hist.cleared()
	m.gen++
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
	m.compactNow(0, ReasonManual)
}

// Stats returns a snapshot of the map's occupancy and history. It writes
// nothing to the map, so it may run alongside other readers.
func (m *ShrinkMap[K, V]) Stats() Stats {
	group := m.group
	if group == 0 {
		group = groupBytes[K, V]()
	}
	table := tableBytes(max(m.curSized, len(m.cur)), group)
	if m.mig != nil {
		table += tableBytes(max(m.mig.nextSized, len(m.next)), group)
	}
	return m.stats(table, tableBytes(len(m.cur), group))
}

// stats returns the Stats of a map whose tables take table bytes, of which
// a fresh table for the live entries would take fresh.
func (m *ShrinkMap[K, V]) stats(table, fresh int64) Stats {
	s := Stats{
		Len:            m.Len(),
		Shrinks:        m.shrinks,
		TableBytes:     table,
		WastedBytes:    max(0, table-fresh),
		MemoryPressure: m.pressure.under,
	}
	m.hist.fill(&s)
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
	live := len(m.cur)
	if m.mig != nil || live > m.sized().shrinkable {
		return
	}
	m.pressure.after(1)
	if b := m.askBound(); m.hist.deletes < live/8 || m.Len() >= b.below || m.hist.lowDeletes < b.lowDeletes {
		return
	}
	s := m.stats(m.tableBytes(), tableBytes(live, m.group))
	if !m.cfg.policy.ShouldShrink(s) {
		return
	}
	reason := reasonOf(m.cfg.policy, s)
	if m.incremental(live) {
		m.startMigration(reason)
		return
	}
	m.compactNow(m.cfg.capacity, reason)
}

// incremental reports whether a compaction of live entries moves them in
// steps rather than at once.
func (m *ShrinkMap[K, V]) incremental(live int) bool {
	return m.cfg.step > 0 && (live >= DefaultMinIncremental || tableBytes(live, m.group) >= DefaultMinIncrementalBytes)
}

// askCache holds the policy's bound (see bound) for the inputs it was
// computed from.
type askCache struct {
	key   askKey
	bound bound
	valid bool
}

// askKey is what a policy's bound depends on: the history fields it reads,
// the entries cur's table is sized for, and memory pressure.
type askKey struct {
	peak, drainedFrom, refills, sized int
	pressure                          bool
}

// askBound returns when the policy need not be asked, computing it when
// its inputs have changed since the last call.
func (m *ShrinkMap[K, V]) askBound() bound {
	h := &m.hist
	key := askKey{h.peak, h.drainedFrom, h.refills, m.curSized, m.pressure.under}
	if m.ask.valid && m.ask.key == key {
		return m.ask.bound
	}
	s := Stats{Peak: key.peak, DrainedFrom: key.drainedFrom, Refills: key.refills, TableBytes: m.sized().bytes, MemoryPressure: key.pressure}
	m.ask = askCache{key: key, bound: shrinkBound(m.cfg.policy, s), valid: true}
	return m.ask.bound
}

// compactNow copies the live entries into a fresh table sized for
// max(Len, floor) entries and drops the old ones, without modifying them:
// an iteration in progress may still be reading them.
func (m *ShrinkMap[K, V]) compactNow(floor int, reason ShrinkReason) {
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
	m.curSized = sized
	m.hist.compacted(live + len(m.nans))
	m.gen++
	m.shrinks++
	m.notify(ShrinkEvent{
		Entries:     live,
		BytesBefore: before,
		BytesAfter:  m.tableBytes(),
		Duration:    m.since(start),
		Manual:      reason == ReasonManual,
		Reason:      reason,
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
