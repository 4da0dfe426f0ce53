package shrinkmap_test

import (
	"iter"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/require"
)

// The contract suite: the semantics ShrinkMap and Concurrent share (those
// of a native map, plus compaction), checked by one suite run over several
// constructors of each, as the tests of Go's HashTrieMap run one suite
// over several constructors. Each map's own behavior (ShrinkMap's
// stricter iteration, Clone and Init; Concurrent's compound operations and
// goroutines) is tested in its own files.

// contractMap is the API the two maps share.
type contractMap[K comparable, V any] interface {
	Get(k K) (V, bool)
	Has(k K) bool
	Set(k K, v V)
	Delete(k K)
	Len() int
	All() iter.Seq2[K, V]
	Keys() iter.Seq[K]
	Values() iter.Seq[V]
	Shrink()
	Clear()
	Stats() shrinkmap.Stats
}

var (
	_ contractMap[int, int] = (*shrinkmap.ShrinkMap[int, int])(nil)
	_ contractMap[int, int] = (*shrinkmap.Concurrent[int, int])(nil)
)

// contractCtor makes the maps of one configuration: the zero ShrinkMap,
// New(opts...) or NewConcurrent(opts...).
type contractCtor struct {
	name       string
	zero       bool
	concurrent bool
	opts       []shrinkmap.Option
	// resizes reports that a drain of contractN entries finds the map
	// migrating (for a Concurrent, resizing) for many operations; the
	// suite then requires that it met the map in that state.
	resizes bool
}

// contractNew returns an empty map made by c.
func contractNew[K comparable, V any](c contractCtor) contractMap[K, V] {
	switch {
	case c.zero:
		return new(shrinkmap.ShrinkMap[K, V])
	case c.concurrent:
		return shrinkmap.NewConcurrent[K, V](c.opts...)
	}
	return shrinkmap.New[K, V](c.opts...)
}

// contractN is the entries the suite fills a map with: enough that the
// default policy compacts a drain (at a quarter of them) incrementally,
// over DefaultMinIncremental entries. Under the race detector it is half
// that, at which only the always policy (at about a half) does.
var contractN = func() int {
	if shrinkmap.RaceEnabled {
		return 20_000
	}
	return 40_000
}()

// contractCtors are the configurations the suite runs over: the defaults,
// the zero ShrinkMap, a step of one entry (one bucket, for Concurrent)
// that keeps a migration going for as many operations as it has entries,
// and a policy that compacts whenever the map may, with incremental and
// at-once compactions. The zero Concurrent is not usable (NewConcurrent
// makes one), so it is not among them.
func contractCtors() []contractCtor {
	eager := shrinkmap.WithPolicy(always)
	step1, step0 := shrinkmap.WithIncremental(1), shrinkmap.WithIncremental(0)
	return []contractCtor{
		{name: "ShrinkMap/New", resizes: !shrinkmap.RaceEnabled},
		{name: "ShrinkMap/zero", zero: true, resizes: !shrinkmap.RaceEnabled},
		{name: "ShrinkMap/step=1", opts: []shrinkmap.Option{step1}, resizes: !shrinkmap.RaceEnabled},
		{name: "ShrinkMap/always/step=1", opts: []shrinkmap.Option{eager, step1}, resizes: true},
		{name: "ShrinkMap/always/step=0", opts: []shrinkmap.Option{eager, step0}},
		{name: "Concurrent/New", concurrent: true},
		{name: "Concurrent/always/step=1", concurrent: true, opts: []shrinkmap.Option{eager, step1}, resizes: true},
		{name: "Concurrent/always/step=0", concurrent: true, opts: []shrinkmap.Option{eager, step0}},
	}
}

func TestContract(t *testing.T) {
	for _, ctor := range contractCtors() {
		t.Run(ctor.name, func(t *testing.T) { testContract(t, ctor) })
	}
}

// testContract runs the suite on maps made by ctor.
func testContract(t *testing.T, ctor contractCtor) {
	t.Run("zero values", func(t *testing.T) { contractZeroValues(t, ctor) })
	t.Run("NaN keys/float64", func(t *testing.T) {
		contractNaN(t, ctor, func(i int) float64 { return float64(i) }, math.NaN)
	})
	t.Run("NaN keys/struct", func(t *testing.T) {
		contractNaN(t, ctor,
			func(i int) contractNaNKey { return contractNaNKey{float64(i), "k"} },
			func() contractNaNKey { return contractNaNKey{math.NaN(), "nan"} })
	})
	t.Run("Stats", func(t *testing.T) { contractStats(t, ctor) })
	t.Run("delete in the loop body", func(t *testing.T) { contractDeleteInBody(t, ctor) })
	t.Run("set in the loop body", func(t *testing.T) { contractSetInBody(t, ctor) })
	t.Run("early break", func(t *testing.T) { contractEarlyBreak(t, ctor) })
	t.Run("Clear", func(t *testing.T) { contractClear(t, ctor) })
	t.Run("Shrink", func(t *testing.T) { contractShrink(t, ctor) })
}

// contractFill sets keys lo .. lo+n-1 of m and want to ten times the key.
func contractFill(m contractMap[float64, int], want map[float64]int, lo, n int) {
	for i := lo; i < lo+n; i++ {
		m.Set(float64(i), 10*i)
		want[float64(i)] = 10 * i
	}
}

// contractSame checks that m holds exactly want, through Len, All (each
// key once, with its value), Keys, Values, Get and Has.
func contractSame(t *testing.T, m contractMap[float64, int], want map[float64]int) {
	t.Helper()
	require.Equal(t, len(want), m.Len(), "Len()")
	seen := make(map[float64]bool, len(want))
	for k, v := range m.All() {
		// Plain comparisons first: testify's are slow in a loop.
		if w, ok := want[k]; seen[k] || !ok || w != v {
			require.False(t, seen[k], "All() yielded key %v twice", k)
			require.True(t, ok, "All() yielded %v=%d, which is not in the map", k, v)
			require.Equal(t, w, v, "All() value of key %v", k)
		}
		seen[k] = true
	}
	require.Len(t, seen, len(want), "keys All() yielded")
	require.Equal(t, slices.Sorted(maps.Keys(want)), slices.Sorted(m.Keys()), "sorted Keys()")
	require.Equal(t, slices.Sorted(maps.Values(want)), slices.Sorted(m.Values()), "sorted Values()")
	for k, w := range want {
		if v, ok := m.Get(k); !ok || v != w || !m.Has(k) {
			require.Equal(t, []any{w, true, true}, []any{v, ok, m.Has(k)}, "Get(%v) and Has(%v)", k, k)
		}
	}
}

// contractSettle deletes an absent key, which moves a migration along,
// until m is not migrating, and returns its Stats then.
func contractSettle[K comparable](t *testing.T, m contractMap[K, int], absent K) shrinkmap.Stats {
	t.Helper()
	for i := 0; ; i++ {
		s := m.Stats()
		if !s.Migrating {
			return s
		}
		require.Less(t, i, 1<<22, "Stats() = %+v after %d Deletes of an absent key; want the migration finished", s, i)
		m.Delete(absent)
	}
}

// contractPrepare fills a map made by ctor with keys 0 .. contractN-1 and
// deletes them from key 0 up: a third at least, then on until the map is
// migrating or keeps a fifth. It returns the map and its model.
func contractPrepare(t *testing.T, ctor contractCtor) (contractMap[float64, int], map[float64]int) {
	t.Helper()
	m := contractNew[float64, int](ctor)
	want := make(map[float64]int, contractN)
	contractFill(m, want, 0, contractN)
	contractSettle(t, m, -1)
	for i := 0; i < contractN*4/5; i++ {
		if i >= contractN/3 && m.Stats().Migrating {
			break
		}
		m.Delete(float64(i))
		delete(want, float64(i))
	}
	if ctor.resizes {
		s := m.Stats()
		require.True(t, s.Migrating, "Stats() = %+v after deleting %d of %d entries; want a migration in progress", s, contractN-len(want), contractN)
	}
	return m, want
}

// requireStatsSane checks what holds of every map's Stats at any time.
func requireStatsSane(t *testing.T, s shrinkmap.Stats, what string) {
	t.Helper()
	if s.Peak < s.Len || s.WastedBytes < 0 || s.WastedBytes > s.TableBytes || s.Shrinks < 0 || (!s.Migrating && s.MigrationLeft != 0) {
		require.Failf(t, "Stats() inconsistent", "%s: Stats() = %+v; want Peak >= Len, 0 <= WastedBytes <= TableBytes, Shrinks >= 0 and MigrationLeft 0 unless Migrating", what, s)
	}
}

func contractZeroValues(t *testing.T, ctor contractCtor) {
	m := contractNew[float64, int](ctor)
	fresh := m.Stats()
	require.Equal(t, shrinkmap.Stats{TableBytes: fresh.TableBytes}, fresh, "Stats() of an empty map: zero but for the table")
	v, ok := m.Get(0)
	require.Equal(t, []any{0, false}, []any{v, ok}, "Get(0) of an empty map")
	require.False(t, m.Has(0), "Has(0) of an empty map")
	m.Delete(0)
	contractSame(t, m, map[float64]int{})

	// The zero key and value are an entry like any other.
	m.Set(0, 0)
	v, ok = m.Get(0)
	require.Equal(t, []any{0, true}, []any{v, ok}, "Get(0) after Set(0, 0)")
	contractSame(t, m, map[float64]int{0: 0})
	// -0 == 0: the same key, as in a native map.
	negZero := math.Copysign(0, -1)
	m.Set(negZero, 5)
	v, ok = m.Get(0)
	require.Equal(t, []any{5, true}, []any{v, ok}, "Get(0) after Set(-0, 5)")
	contractSame(t, m, map[float64]int{0: 5})
	m.Delete(negZero)
	require.False(t, m.Has(0), "Has(0) after Delete(-0)")
	contractSame(t, m, map[float64]int{})

	shrinks := m.Stats().Shrinks // a policy may compact the emptied map
	m.Shrink()
	s := m.Stats()
	require.Equal(t, []any{0, 0, shrinks + 1, fresh.TableBytes, int64(0), false}, []any{s.Len, s.Peak, s.Shrinks, s.TableBytes, s.WastedBytes, s.Migrating},
		"Len, Peak, Shrinks, TableBytes, WastedBytes and Migrating after Shrink of an emptied map (Stats() = %+v)", s)
	m.Set(1, 1)
	contractSame(t, m, map[float64]int{1: 1})
}

// contractNaNKey is a struct key that holds a NaN.
type contractNaNKey struct {
	F float64
	S string
}

// contractNaN checks keys not equal to themselves, as a native map treats
// them: each Set adds an entry that no lookup or Delete finds, that All,
// Keys, Values and Len count, and that compactions keep until Clear.
func contractNaN[K comparable](t *testing.T, ctor contractCtor, key func(int) K, nan func() K) {
	m := contractNew[K, int](ctor)
	plain := map[K]int{} // the entries whose key equals itself
	var nans []int       // the values of the NaN entries
	check := func(what string) {
		t.Helper()
		require.Equal(t, len(plain)+len(nans), m.Len(), "%s: Len()", what)
		seen := map[K]bool{}
		gotNaN := []int{}
		for k, v := range m.All() {
			if k != k {
				gotNaN = append(gotNaN, v)
				continue
			}
			if w, ok := plain[k]; seen[k] || !ok || w != v {
				require.False(t, seen[k], "%s: All() yielded %v twice", what, k)
				require.Equal(t, []any{w, true}, []any{v, ok}, "%s: All() yielded %v", what, k)
			}
			seen[k] = true
		}
		require.Len(t, seen, len(plain), "%s: keys equal to themselves All() yielded", what)
		require.Equal(t, slices.Sorted(slices.Values(append([]int{}, nans...))), slices.Sorted(slices.Values(gotNaN)), "%s: sorted values of the NaN entries All() yielded", what)
		keys := 0
		for k := range m.Keys() {
			if k != k {
				keys++
			}
		}
		require.Equal(t, len(nans), keys, "%s: NaN keys Keys() yielded", what)
		require.Len(t, slices.Collect(m.Values()), len(plain)+len(nans), "%s: Values()", what)
	}
	setNaN := func(v int) {
		m.Set(nan(), v)
		nans = append(nans, v)
	}

	setNaN(1)
	setNaN(2)
	m.Set(key(1), 3)
	plain[key(1)] = 3
	check("Set(NaN, 1), Set(NaN, 2), Set(1, 3)")
	v, ok := m.Get(nan())
	require.Equal(t, []any{0, false}, []any{v, ok}, "Get(NaN)")
	require.False(t, m.Has(nan()), "Has(NaN)")
	m.Delete(nan())
	check("Delete(NaN), which removes nothing")

	// Grow and drain through compactions, adding NaN entries all along,
	// and some while the map migrates.
	for i := 2; i < contractN; i++ {
		m.Set(key(i), i)
		plain[key(i)] = i
		if i%5000 == 0 {
			setNaN(-i)
		}
	}
	contractSettle(t, m, key(-1))
	check("after the fill")
	midMigration := 0
	for i := range contractN - 100 {
		m.Delete(key(i))
		delete(plain, key(i))
		if midMigration < 5 && m.Stats().Migrating {
			setNaN(1_000_000 + i)
			midMigration++
		}
	}
	if ctor.resizes {
		require.Positive(t, midMigration, "Set(NaN) calls mid-migration; want some")
	}
	s := contractSettle(t, m, key(-1))
	require.Positive(t, s.Shrinks, "Stats().Shrinks after draining %d of %d entries", contractN-100, contractN)
	check("after the drain")
	m.Shrink()
	check("after Shrink")
	m.Delete(nan())
	check("Delete(NaN) after Shrink")

	m.Clear()
	plain, nans = map[K]int{}, nil
	check("after Clear")
	setNaN(3)
	check("Set(NaN) after Clear")
}

func contractStats(t *testing.T, ctor contractCtor) {
	m := contractNew[float64, int](ctor)
	s := m.Stats()
	require.Equal(t, shrinkmap.Stats{TableBytes: s.TableBytes}, s, "Stats() of an empty map")
	fresh := s.TableBytes
	want := map[float64]int{}
	for i := range contractN / 1000 {
		contractFill(m, want, i*1000, 1000)
		s = m.Stats()
		requireStatsSane(t, s, "during the fill")
		require.Equal(t, []any{len(want), len(want), 0}, []any{s.Len, s.Peak, s.Shrinks}, "Len, Peak and Shrinks after %d Sets (Stats() = %+v)", len(want), s)
	}
	require.Equal(t, m.Len(), s.Len, "Len() and Stats().Len")
	s = contractSettle(t, m, -1)
	require.Greater(t, s.TableBytes, fresh, "Stats().TableBytes after %d Sets; want more than an empty map's", contractN)
	full := s.TableBytes
	shrinks := 0
	for i := 0; i < contractN*99/100; i++ {
		m.Delete(float64(i))
		delete(want, float64(i))
		if i%1000 != 999 {
			continue
		}
		s = m.Stats()
		requireStatsSane(t, s, "during the drain")
		require.Equal(t, len(want), s.Len, "Stats().Len after %d Deletes", i+1)
		require.Equal(t, m.Len(), s.Len, "Len() and Stats().Len")
		require.GreaterOrEqual(t, s.Shrinks, shrinks, "Stats().Shrinks after %d Deletes; want no fewer than before", i+1)
		if s.Shrinks == 0 && !s.Migrating {
			require.Equal(t, contractN, s.Peak, "Stats().Peak before any compaction started (Stats() = %+v)", s)
		}
		shrinks = s.Shrinks
	}
	s = contractSettle(t, m, -1)
	requireStatsSane(t, s, "after the drain")
	require.Positive(t, s.Shrinks, "Stats().Shrinks after draining to 1%%: %+v", s)
	require.Less(t, s.Peak, contractN, "Stats().Peak after compactions: %+v", s)
	require.Less(t, s.TableBytes, full, "Stats().TableBytes after draining to 1%% and compacting; want less than the full map's %d", full)
	contractSame(t, m, want)
}

// contractIter checks one iteration against what both maps promise: no
// key is yielded twice, each yielded value is one that the key held during
// the iteration, and each key present for all of it is yielded.
type contractIter struct {
	t     *testing.T
	m     contractMap[float64, int]
	want  map[float64]int // the model, kept current by the loop body
	start []float64       // the keys present at the start, sorted
	// held lists the values each key written in the loop body held
	// during the iteration.
	held      map[float64][]int
	removed   map[float64]bool
	yielded   map[float64]int
	migrating int // yields with a migration in progress
	rng       *rand.Rand
}

func newContractIter(t *testing.T, m contractMap[float64, int], want map[float64]int, seed uint64) *contractIter {
	return &contractIter{
		t: t, m: m, want: want, start: slices.Sorted(maps.Keys(want)),
		held: map[float64][]int{}, removed: map[float64]bool{}, yielded: map[float64]int{},
		rng: rand.New(rand.NewPCG(seed, 1)),
	}
}

// randomKey returns a key present at the start, reached or not.
func (c *contractIter) randomKey() float64 { return c.start[c.rng.IntN(len(c.start))] }

func (c *contractIter) touch(k float64) {
	if _, ok := c.held[k]; !ok {
		c.held[k] = []int{}
		if v, ok := c.want[k]; ok {
			c.held[k] = append(c.held[k], v)
		}
	}
}

func (c *contractIter) set(k float64, v int) {
	c.touch(k)
	c.held[k] = append(c.held[k], v)
	c.m.Set(k, v)
	c.want[k] = v
}

func (c *contractIter) delete(k float64) {
	c.touch(k)
	c.m.Delete(k)
	delete(c.want, k)
	c.removed[k] = true
}

// clear clears the map: what it held may or may not be yielded still.
func (c *contractIter) clear() {
	for k := range c.want {
		c.touch(k)
		c.removed[k] = true
	}
	c.m.Clear()
	clear(c.want)
}

func (c *contractIter) yield(k float64, v int) {
	c.t.Helper()
	c.yielded[k]++
	if c.yielded[k] > 1 {
		require.Failf(c.t, "key yielded twice", "All() yielded key %v %d times", k, c.yielded[k])
	}
	if held, ok := c.held[k]; ok {
		require.Contains(c.t, held, v, "All() value of key %v, written in the loop body; want one it held", k)
	} else if w, ok := c.want[k]; !ok || w != v {
		require.Equal(c.t, []any{w, true}, []any{v, ok}, "All() yielded %v, untouched by the loop body", k)
	}
	if c.m.Stats().Migrating {
		c.migrating++
	}
}

// done checks that every key present for the whole iteration was yielded.
func (c *contractIter) done() {
	c.t.Helper()
	for _, k := range c.start {
		if !c.removed[k] && c.yielded[k] != 1 {
			require.Equal(c.t, 1, c.yielded[k], "times All() yielded key %v, present for the whole iteration", k)
		}
	}
}

// requireMidMigration checks that a map whose ctor resizes was iterated
// mid-migration.
func (c *contractIter) requireMidMigration(ctor contractCtor) {
	c.t.Helper()
	if ctor.resizes {
		require.Positive(c.t, c.migrating, "yields with a migration in progress; want some")
	}
}

func contractDeleteInBody(t *testing.T, ctor contractCtor) {
	m, want := contractPrepare(t, ctor)
	before := m.Stats()
	c := newContractIter(t, m, want, 3)
	for k, v := range m.All() {
		c.yield(k, v)
		// The yielded key and one chosen at random, which may or may not
		// have been reached.
		c.delete(k)
		c.delete(c.randomKey())
	}
	c.done()
	c.requireMidMigration(ctor)
	require.Empty(t, want, "model after deleting each yielded key")
	contractSame(t, m, want)
	after := contractSettle(t, m, -1)
	require.Greater(t, after.Shrinks, before.Shrinks, "Stats() after deleting every entry in the loop body = %+v (before: %+v); want compactions", after, before)
	require.Less(t, after.TableBytes, before.TableBytes, "Stats().TableBytes after deleting every entry in the loop body (before: %+v)", before)
}

func contractSetInBody(t *testing.T, ctor contractCtor) {
	m, want := contractPrepare(t, ctor)
	c := newContractIter(t, m, want, 5)
	added := 0
	for k, v := range m.All() {
		c.yield(k, v)
		if k >= 1e6 {
			continue // added by this loop
		}
		c.set(k, v+1)                    // the yielded entry
		c.set(c.randomKey(), -1-added)   // another, reached or not
		c.set(1e6+float64(added), added) // a new one
		added++
		if m.Len() != len(want) {
			require.Equal(t, len(want), m.Len(), "Len() in the loop body")
		}
	}
	c.done()
	c.requireMidMigration(ctor)
	require.Equal(t, len(c.start), added, "entries present at the start that the loop body updated")
	contractSame(t, m, want)
}

func contractEarlyBreak(t *testing.T, ctor contractCtor) {
	m, want := contractPrepare(t, ctor)
	breaks := map[string]func() int{
		"All": func() (n int) {
			for range m.All() {
				if n++; n == 5 {
					break
				}
			}
			return n
		},
		"Keys": func() (n int) {
			for range m.Keys() {
				if n++; n == 5 {
					break
				}
			}
			return n
		},
		"Values": func() (n int) {
			for range m.Values() {
				if n++; n == 5 {
					break
				}
			}
			return n
		},
		"iter.Pull2 stopped": func() (n int) {
			next, stop := iter.Pull2(m.All())
			defer stop()
			for ; n < 5; n++ {
				if _, _, ok := next(); !ok {
					break
				}
			}
			return n
		},
	}
	for _, name := range slices.Sorted(maps.Keys(breaks)) {
		require.Equal(t, 5, breaks[name](), "%s: entries seen before the break", name)
		contractSame(t, m, want)
	}

	// A loop whose body deletes, broken early, must not hold back the
	// compactions of the drain that follows.
	before := contractSettle(t, m, -1)
	n := 0
	for k := range m.All() {
		m.Delete(k)
		delete(want, k)
		if n++; n == 5 {
			break
		}
	}
	require.Equal(t, 5, n, "entries deleted before the break")
	contractSame(t, m, want)
	keys := slices.Sorted(maps.Keys(want))
	for _, k := range keys[:len(keys)*99/100] {
		m.Delete(k)
		delete(want, k)
	}
	after := contractSettle(t, m, -1)
	require.Greater(t, after.Shrinks, before.Shrinks, "Stats() after a break and a drain to 1%% = %+v (before: %+v); want compactions", after, before)
	contractSame(t, m, want)
}

func contractClear(t *testing.T, ctor contractCtor) {
	fresh := contractNew[float64, int](ctor).Stats().TableBytes
	m, _ := contractPrepare(t, ctor)
	before := m.Stats()
	m.Clear()
	s := m.Stats()
	// A Concurrent finishes the resize in progress first, which may
	// complete a compaction; a ShrinkMap abandons it.
	if d := s.Shrinks - before.Shrinks; d < 0 || d > 1 || (d == 1 && !before.Migrating) {
		require.Failf(t, "Stats().Shrinks changed", "Stats().Shrinks after Clear = %d, before %d (%+v); want it unchanged, or one more if a migration was in progress", s.Shrinks, before.Shrinks, before)
	}
	require.Equal(t, shrinkmap.Stats{Shrinks: s.Shrinks, TableBytes: fresh}, s, "Stats() after Clear; want no entries, no history and the table of an empty map")
	contractSame(t, m, map[float64]int{})
	for i := range 10 {
		require.False(t, m.Has(float64(contractN-1-i)), "Has(%d) after Clear", contractN-1-i)
	}
	want := map[float64]int{}
	contractFill(m, want, 0, 20)
	contractSame(t, m, want)
	require.Equal(t, 20, m.Stats().Peak, "Stats().Peak after Clear and 20 Sets")

	// Clear in a loop body: what the body sets afterwards stays, and no key
	// is yielded twice.
	m, want = contractPrepare(t, ctor)
	c := newContractIter(t, m, want, 0)
	n := 0
	for k, v := range m.All() {
		c.yield(k, v)
		if n++; n == 10 {
			c.clear()
			c.set(-5, -5)
		}
	}
	c.done()
	contractSame(t, m, map[float64]int{-5: -5})
	s = m.Stats()
	require.Equal(t, []any{1, 1}, []any{s.Len, s.Peak}, "Stats().Len and Peak after Clear and a Set in the loop body (Stats() = %+v)", s)
}

func contractShrink(t *testing.T, ctor contractCtor) {
	m, want := contractPrepare(t, ctor)
	// Mid-migration (for the ctors that resize): Shrink completes it.
	before := m.Stats()
	m.Shrink()
	s := m.Stats()
	requireStatsSane(t, s, "after Shrink")
	require.False(t, s.Migrating, "Stats().Migrating after Shrink (before: %+v)", before)
	require.Greater(t, s.Shrinks, before.Shrinks, "Stats().Shrinks after Shrink (before: %+v)", before)
	require.Equal(t, []any{len(want), len(want), int64(0)}, []any{s.Len, s.Peak, s.WastedBytes}, "Len, Peak and WastedBytes after Shrink (Stats() = %+v)", s)
	contractSame(t, m, want)

	// From a settled map, drained to 1%: exactly one compaction, to a
	// smaller table.
	keys := slices.Sorted(maps.Keys(want))
	for _, k := range keys[:len(keys)*99/100] {
		m.Delete(k)
		delete(want, k)
	}
	before = contractSettle(t, m, -1)
	m.Shrink()
	s = m.Stats()
	require.Equal(t, []any{len(want), len(want), before.Shrinks + 1, false, int64(0)}, []any{s.Len, s.Peak, s.Shrinks, s.Migrating, s.WastedBytes},
		"Len, Peak, Shrinks, Migrating and WastedBytes after Shrink (Stats() = %+v, before: %+v)", s, before)
	require.LessOrEqual(t, s.TableBytes, before.TableBytes, "Stats().TableBytes after Shrink (before: %+v)", before)
	contractSame(t, m, want)

	// Shrink in a loop body that deletes and sets.
	m, want = contractPrepare(t, ctor)
	before = m.Stats()
	c := newContractIter(t, m, want, 7)
	n := 0
	for k, v := range m.All() {
		c.yield(k, v)
		switch n++; {
		case n%5000 == 10:
			m.Shrink()
		case n%3 == 0:
			c.delete(c.randomKey())
		default:
			c.set(c.randomKey(), -n)
		}
	}
	c.done()
	require.Greater(t, n, 10, "entries yielded; the test wants a Shrink in the loop body")
	require.Greater(t, m.Stats().Shrinks, before.Shrinks, "Stats().Shrinks after Shrink in the loop body (before: %+v)", before)
	contractSame(t, m, want)

	// An emptied map shrinks to the table of an empty one.
	fresh := contractNew[float64, int](ctor).Stats().TableBytes
	for k := range want {
		m.Delete(k)
	}
	m.Shrink()
	s = m.Stats()
	require.Equal(t, []any{0, 0, fresh, int64(0)}, []any{s.Len, s.Peak, s.TableBytes, s.WastedBytes}, "Len, Peak, TableBytes and WastedBytes after Shrink of an emptied map (Stats() = %+v)", s)
	contractSame(t, m, map[float64]int{})
}
