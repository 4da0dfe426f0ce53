package shrinkmap

// ShrinkMap is a map from K to V that gives memory back after deletes.
//
// It wraps a native Go map, tracks its live count and its peak since the
// last compaction, and when its [Policy] says so copies the live entries
// into a fresh table so that the old one can be freed. Get, Set and Delete
// run in amortized O(1) time, compaction included; a large compaction is
// incremental (see [WithIncremental]), so no single call pays for a whole
// copy.
//
// The zero value is an empty map with the default policy, ready to use;
// [ShrinkMap.Init] configures one in place. A ShrinkMap must not be copied
// after first use (go vet reports copies).
//
// Concurrency is as for a native map. Get, Has, Len, All, Keys, Values,
// Stats, Clone, MarshalJSON and GobEncode write nothing to the map, so any
// number of goroutines may call them at once (under a sync.RWMutex's RLock,
// say) while none writes. Every other method, and a loop over All whose body
// writes, needs the map to itself. Use [Concurrent] for a map shared with
// writers.
type ShrinkMap[K comparable, V any] struct {
	_ noCopy

	// cur holds every entry whose key equals itself; nil until the first
	// Set. During an incremental compaction it stays complete.
	cur map[K]V
	// x holds everything Get and most Sets never read; nil until the map
	// is configured or first deletes, so that a small map costs little more
	// than a native one.
	x *state[K, V]
	// fast reports whether a Set may write to cur alone: cur is made, no
	// compaction is in progress and no spare table waits to be reused.
	fast bool
}

// state is the part of a ShrinkMap that its fast paths do not read.
type state[K comparable, V any] struct {
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

	nans  []entry[K, V]    // entries whose key is not equal to itself (NaN): no lookup finds them
	next  map[K]V          // the fresh table of an incremental compaction; nil otherwise
	mig   *migration[K, V] // the incremental compaction in progress; nil otherwise
	spare spare[K, V]      // the table the last compaction gave up, until the next GC
	// sweeps counts the loops over All in progress whose body removed an
	// entry: while one runs, compaction waits for the loop's end.
	sweeps  int
	removed int // entries Delete has removed, ever: loops compare it
	reused  int // spare tables reused
	// skip is how many more Deletes may pass without calling maybeShrink:
	// a lower bound, computed by it, on the deletes before the policy
	// could be asked. skipped is the skip it last set.
	skip, skipped int
	pub           *publication // where a named map publishes; nil if unnamed
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
	if len(opts) > 0 {
		m.configure(newMapConfig(opts), 0)
	}
	return m
}

// Init empties m and configures it by opts, in place, as if it had just
// been made by New(opts...), and returns m; like container/list's Init, it
// makes a ShrinkMap held by value (a struct field) configurable. Its Stats
// start anew. It panics like New on invalid options, leaving m unchanged.
// Iterations in progress yield nothing more. O(1).
func (m *ShrinkMap[K, V]) Init(opts ...Option) *ShrinkMap[K, V] {
	cfg := newMapConfig(opts)
	gen, removed := m.generation()+1, 0
	if m.x != nil {
		removed = m.x.removed
	}
	m.unregister()
	*m = ShrinkMap[K, V]{}
	m.configure(cfg, gen)
	m.x.removed = removed
	return m
}

// configure gives a zero ShrinkMap the configuration cfg, sizing its table
// for cfg's capacity, with gen as its generation.
func (m *ShrinkMap[K, V]) configure(cfg config, gen int) {
	x := m.newState(cfg)
	x.gen = gen
	if cfg.capacity > 0 {
		m.cur = make(map[K]V, cfg.capacity)
		x.curSized = cfg.capacity
		m.fast = true
	}
	if cfg.named {
		m.register(x)
	}
}

// newState gives m a state configured by cfg, sized for the entries m
// holds, and returns it.
func (m *ShrinkMap[K, V]) newState(cfg config) *state[K, V] {
	x := &state[K, V]{cfg: cfg, group: groupBytes[K, V](), curSized: len(m.cur)}
	x.hist.resetRecordAt()
	m.x = x
	return x
}

// state returns m's state, giving m the default one first if it has none.
func (m *ShrinkMap[K, V]) state() *state[K, V] {
	if m.x == nil {
		return m.newState(defaultConfig())
	}
	return m.x
}

// generation returns the count of table replacements iterators compare.
func (m *ShrinkMap[K, V]) generation() int {
	if m.x == nil {
		return 0
	}
	return m.x.gen
}

// refast recomputes fast.
func (m *ShrinkMap[K, V]) refast() {
	x := m.x
	m.fast = m.cur != nil && (x == nil || x.mig == nil && !x.spare.held())
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
func (m *ShrinkMap[K, V]) Set(k K, v V) {
	// The fast path leaves recording how far the map grew (Peak, and the
	// size cur's table has grown for) to the next Delete or read of them,
	// which sees the same maximum, since only Sets raise it.
	if m.fast && k == k {
		m.cur[k] = v
		return
	}
	m.setSlow(k, v)
}

func (m *ShrinkMap[K, V]) setSlow(k K, v V) {
	x := m.x
	switch {
	case k != k:
		x = m.state()
		x.nans = append(x.nans, entry[K, V]{k, v})
	case x == nil:
		// The first Set of an unconfigured map: a native map, no state.
		m.cur = map[K]V{k: v}
		m.fast = true
		return
	case x.mig != nil:
		m.cur[k] = v
		x.next[k] = v
		m.grew()
		m.advance()
		return
	case m.cur == nil:
		m.cur = make(map[K]V, x.cfg.capacity)
		x.curSized = x.cfg.capacity
		fallthrough
	default:
		m.setBesideSpare(k, v)
	}
	m.grew()
}

// Delete removes k, if present, and compacts the map if its policy says so.
// Delete of a NaN key removes nothing, as in a native map.
func (m *ShrinkMap[K, V]) Delete(k K) {
	x := m.x
	if x == nil || x.mig != nil || len(m.cur) > x.curSized {
		m.deleteSlow(k)
		return
	}
	n := len(m.cur) + len(x.nans)
	if n >= x.hist.recordAt && x.hist.record(n, n) {
		x.skip = 0
	}
	delete(m.cur, k)
	if len(m.cur)+len(x.nans) < n {
		x.removed++
		x.hist.deleted(n - 1)
		if x.skip > 0 {
			x.skip--
		} else if x.sweeps == 0 {
			m.maybeShrink()
		}
	}
}

// deleteSlow is Delete on a map without state, with its table grown since
// the last Delete, or migrating.
func (m *ShrinkMap[K, V]) deleteSlow(k K) {
	if m.x == nil && len(m.cur) == 0 {
		return
	}
	m.state()
	m.grew()
	m.x.skip = 0
	if m.x.mig != nil {
		m.deleteMigrating(k)
		return
	}
	n := len(m.cur)
	delete(m.cur, k)
	if len(m.cur) < n {
		m.x.removed++
		m.x.hist.deleted(m.Len())
		m.maybeShrink()
	}
}

// grew records the sizes the map has grown to: Peak, and the entries cur's
// table (and next's) has grown for. Each Delete and each reader of them
// calls it first.
func (m *ShrinkMap[K, V]) grew() {
	x := m.x
	if n := len(m.cur); n > x.curSized {
		x.curSized = n
	}
	if x.mig != nil {
		x.mig.nextSized = max(x.mig.nextSized, len(x.next))
	}
	if x.hist.grew(m.Len()) {
		x.skip = 0
	}
	m.publish(false)
}

// Len returns the number of entries.
func (m *ShrinkMap[K, V]) Len() int {
	if m.x == nil {
		return len(m.cur)
	}
	return len(m.cur) + len(m.x.nans)
}

// Clear removes every entry and drops the tables, so that their memory can
// be freed; unlike the builtin clear, which keeps the table. It ends any
// incremental compaction and resets Peak to 0. O(1).
func (m *ShrinkMap[K, V]) Clear() {
	x := m.state()
	x.mig, x.spare = nil, spare[K, V]{}
	m.cur, x.next, x.nans = nil, nil, nil
	x.curSized, x.skip = 0, 0
	x.hist.cleared()
	x.gen++
	m.refast()
	m.publish(true)
}

// Shrink compacts the map now: it abandons any incremental compaction and
// copies the live entries into a fresh table sized for them, ignoring the
// WithCapacity floor. On an empty map it releases the table entirely. It
// runs in O(table size) time and always copies at once; it is safe to call
// during an iteration, which then goes on over the entries still present.
func (m *ShrinkMap[K, V]) Shrink() {
	m.state()
	m.grew()
	m.compactNow(0, ReasonManual)
}

// Stats returns a snapshot of the map's occupancy and history. It writes
// nothing to the map, so it may run alongside other readers. O(1).
func (m *ShrinkMap[K, V]) Stats() Stats {
	x := m.x
	if x == nil {
		x = &state[K, V]{group: groupBytes[K, V]()}
		x.hist.resetRecordAt()
	}
	table := tableBytes(max(x.curSized, len(m.cur)), x.group)
	if x.mig != nil {
		table += tableBytes(max(x.mig.nextSized, len(x.next)), x.group)
	}
	return m.stats(x, table, tableBytes(len(m.cur), x.group))
}

// stats returns the Stats of a map with state x whose tables take table
// bytes, of which a fresh table for the live entries would take fresh.
func (m *ShrinkMap[K, V]) stats(x *state[K, V], table, fresh int64) Stats {
	s := Stats{
		Len:            m.Len(),
		Shrinks:        x.shrinks,
		TableBytes:     table,
		WastedBytes:    max(0, table-fresh),
		MemoryPressure: x.pressure.under,
	}
	x.hist.fill(&s)
	if x.mig != nil {
		s.Migrating = true
		s.MigrationLeft = len(m.cur) - len(x.next)
	}
	return s
}
