package shrinkmap

import (
	"fmt"
	"iter"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The model tests run long random operation sequences on a ShrinkMap and
// on a plain Go map side by side, and check after every operation that the
// two agree: the value of the key touched, Len, every Stats field (Peak is
// modelled exactly), every compaction the hook reports and every question
// the policy is asked. The same harness runs the fuzz target.

// modelKeys describes a key type for the model tests.
type modelKeys[K comparable] struct {
	name string
	// key returns a distinct key for each id; ids may be negative.
	key func(id int) K
	// nan returns a key that is not equal to itself; nil if K has none.
	nan func(r *rand.Rand) K
}

var (
	modelIntKeys    = modelKeys[int]{name: "int", key: func(id int) int { return id }}
	modelStringKeys = modelKeys[string]{name: "string", key: func(id int) string { return "k" + strconv.Itoa(id) }}
	modelFloatKeys  = modelKeys[float64]{name: "float64", key: modelFloatKey, nan: modelNaN}
)

// modelFloatKey maps ids to distinct float64 keys, among them -0 (which a
// map takes as +0) and both infinities.
func modelFloatKey(id int) float64 {
	switch id {
	case 0:
		return math.Copysign(0, -1)
	case 1:
		return math.Inf(1)
	case 2:
		return math.Inf(-1)
	}
	return float64(id) / 4
}

// modelNaN returns a NaN with a random sign and payload.
func modelNaN(r *rand.Rand) float64 {
	return math.Float64frombits(0x7ff8_0000_0000_0000 | r.Uint64()&0x8007_ffff_ffff_ffff)
}

// modelDefaultStep in modelConfig.step means: no WithIncremental option.
const modelDefaultStep = -1

// modelConfig describes how a harness makes its map.
type modelConfig struct {
	name     string
	policy   Policy // nil means DefaultPolicy()
	step     int    // modelDefaultStep, or the argument of WithIncremental
	capacity int    // the argument of WithCapacity if > 0
	// hookPanics and policyPanics, if set, say whether the n-th call
	// (counting from 1) of the shrink hook or the policy panics.
	hookPanics, policyPanics func(n int) bool
}

// modelPanic is what the harness's hook, policy and loop bodies panic with.
type modelPanic string

type modelOp int

const (
	opGet modelOp = iota // Get or Has
	opSet
	opDelete
	opShrink
	opClear
	opIterEnd // an iteration ended: a small migration its body advanced completes
	opClone
)

func (op modelOp) String() string {
	return [...]string{"Get", "Set", "Delete", "Shrink", "Clear", "end of All", "Clone"}[op]
}

// advances reports whether st moves a step of a migration in progress:
// every Set and Delete does, in loop bodies too, except a Set of a NaN
// key, which only appends to the NaN entries. Get moves nothing, so that
// it stays inlinable.
func (st modelStep[K]) advances() bool {
	return st.op == opDelete || st.op == opSet && st.key == st.key
}

// modelStep is one operation, as after checks it.
type modelStep[K comparable] struct {
	op        modelOp
	key       K
	removed   bool // a Delete removed an entry
	uncopied  bool // wrote or deleted an entry a migration in progress had not copied yet
	wrote     bool // an opIterEnd whose loop body wrote and did not panic
	swept     bool // an opIterEnd of a sweep: a loop that went on after a body that removed an entry
	sweepEnd  bool // an opIterEnd of the outermost sweep, ended without a panic
	removedIn int  // for an opIterEnd, the entries removed during the loop
	sized     int  // the entries cur's table was sized for before a Delete
	inBody    bool
}

func (st modelStep[K]) String() string {
	s := st.op.String()
	if st.op <= opDelete {
		s = fmt.Sprintf("%s(%v)", s, st.key)
	}
	if st.inBody {
		s += " in an All loop body"
	}
	return s
}

// modelCall is one question the harness's policy was asked.
type modelCall struct {
	s                    Stats
	ok, panicked, inBody bool
}

// modelIter tracks one iteration in progress.
type modelIter[K comparable] struct {
	start    map[K]bool   // keys present when it started
	startNaN map[int]bool // values of the NaN entries present when it started
	gone     map[K]bool   // start keys deleted since
	cleared  bool         // Clear was called since it started
	seen     map[K]bool
	seenNaN  map[int]bool
	yields   int
	added    int  // entries added since it started
	wrote    bool // its body (or a nested one) set a non-NaN key, deleted, shrank or cleared
	removed0 int  // the harness's removals when it started
	swept    bool // it went on after a body that removed an entry: a sweep
}

// modelAct is what an iteration body does after its actions.
type modelAct int

const (
	actContinue modelAct = iota
	actBreak
	actPanic
)

// modelHarness runs operations on a ShrinkMap[K, int] and on a plain map
// side by side and checks after each one that they agree.
type modelHarness[K comparable] struct {
	t    testing.TB
	m    *ShrinkMap[K, int]
	keys modelKeys[K]

	want map[K]int    // the model: every entry whose key equals itself
	list []K          // the keys of want, for random picks
	pos  map[K]int    // the index of each key in list
	nans map[int]bool // the values of the NaN entries; every value is unique
	next int          // the last value stored

	group          int64
	step, capacity int
	peak, deletes  int   // model of Stats.Peak and of deletes since the last compaction
	removals       int   // deletes that removed an entry, ever
	sweeping       int   // iterations in progress that are sweeps
	sized          int   // max(curSized, len(cur)) after the last operation
	reused         int   // the map's count of spare tables reused, as last seen
	lowDeletes     int   // model of Stats.LowDeletes
	refills        int   // model of Stats.Refills
	refillAt       int   // the Len that counts the last compaction as undone; 0 if none
	drainedFrom    int   // model of Stats.DrainedFrom
	migEntries     int   // live entries when the migration in progress started
	migBefore      int64 // table bytes when it started
	prev           Stats
	inBody         bool
	iters          []*modelIter[K]

	calls  []modelCall   // the policy's questions during the current operation
	events []ShrinkEvent // the hook's calls during the current operation
	hooks  int           // the hook's calls so far

	// hookPanicked is set when the hook panicked, so that the driver
	// compares whole contents next. (A policy panics before anything
	// changes, and often: the checks after each operation cover it.)
	hookPanicked bool

	// Counts that the tests assert on, so that they cannot silently stop
	// covering what they are meant to.
	ops, migratingOps, migrations, finished, autos, manual, clears, panics, nanSets int
	iterations, pulls, midMigrationIters, bodyOps, checks, stopped, settled         int
	drainedStays, sweeps, concurrentReads                                           int
	sweepEnds, sweepCompactions, reuses                                             int
	// DeleteFunc calls, those that found the map migrating, entries they
	// removed.
	deleteFuncs, deleteFuncsMid, deleteFuncRemoved int
}

func newModelHarness[K comparable](t testing.TB, keys modelKeys[K], cfg modelConfig) *modelHarness[K] {
	// The model counts every refill as undoing the compaction before it:
	// freeze the clock, so that a slow test machine cannot make a refill
	// late (TestRefillWindow tests late refills).
	testClock.Store(1)
	t.Cleanup(func() { testClock.Store(0) })
	h := &modelHarness[K]{
		t: t, keys: keys,
		want: map[K]int{}, pos: map[K]int{}, nans: map[int]bool{},
		group: groupBytes[K, int](), step: cfg.step, capacity: cfg.capacity,
	}
	if h.step == modelDefaultStep {
		h.step = DefaultStep
	}
	inner := cfg.policy
	if inner == nil {
		inner = DefaultPolicy()
	}
	var asked int
	opts := []Option{
		WithPolicy(PolicyFunc(func(s Stats) bool {
			asked++
			c := modelCall{s: s, inBody: h.inBody}
			if cfg.policyPanics != nil && cfg.policyPanics(asked) {
				c.panicked = true
				h.calls = append(h.calls, c)
				panic(modelPanic("policy"))
			}
			c.ok = inner.ShouldShrink(s)
			h.calls = append(h.calls, c)
			return c.ok
		})),
		WithShrinkHook(func(e ShrinkEvent) {
			h.hooks++
			h.events = append(h.events, e)
			if cfg.hookPanics != nil && cfg.hookPanics(h.hooks) {
				panic(modelPanic("hook"))
			}
		}),
	}
	if cfg.step != modelDefaultStep {
		opts = append(opts, WithIncremental(cfg.step))
	}
	if cfg.capacity > 0 {
		opts = append(opts, WithCapacity(cfg.capacity))
	}
	h.m = New[K, int](opts...)
	h.prev = h.m.Stats()
	require.Equalf(t, tableBytes(cfg.capacity, h.group), h.prev.TableBytes,
		"New(WithCapacity(%d)).Stats().TableBytes = %d; want the estimate for %d entries", cfg.capacity, h.prev.TableBytes, cfg.capacity)
	return h
}

// len is the model's Len.
func (h *modelHarness[K]) len() int { return len(h.want) + len(h.nans) }

// do runs f, recovering the panics of the harness's own hook, policy and
// loop bodies; any other panic is a failure and goes on.
func (h *modelHarness[K]) do(f func()) (panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(modelPanic); !ok {
				panic(r)
			}
			h.panics++
			if r == modelPanic("hook") {
				h.hookPanicked = true
			}
			panicked = true
		}
	}()
	f()
	return false
}

// set stores a fresh value for k.
func (h *modelHarness[K]) set(k K) {
	h.next++
	v := h.next
	if k != k {
		h.nans[v] = true
		h.nanSets++
		h.forIters(func(it *modelIter[K]) { it.added++ })
	} else {
		if _, ok := h.want[k]; !ok {
			h.pos[k] = len(h.list)
			h.list = append(h.list, k)
			h.forIters(func(it *modelIter[K]) { it.added++ })
		}
		h.want[k] = v
		h.forIters(func(it *modelIter[K]) { it.wrote = true })
	}
	st := modelStep[K]{op: opSet, key: k, uncopied: h.uncopied(k)}
	h.do(func() { h.m.Set(k, v) })
	h.after(st)
}

// uncopied reports whether k is an entry that a migration in progress has
// not copied to its fresh table yet.
func (h *modelHarness[K]) uncopied(k K) bool {
	if h.m.xs().next == nil {
		return false
	}
	_, inCur := h.m.cur[k]
	_, inNext := h.m.xs().next[k]
	return inCur && !inNext
}

// del deletes k.
func (h *modelHarness[K]) del(k K) {
	_, present := h.want[k]
	st := modelStep[K]{op: opDelete, key: k, removed: present, sized: max(h.m.xs().curSized, len(h.m.cur))}
	if present {
		st.uncopied = h.uncopied(k)
		h.forget(k)
		h.deletes++
		if 4*h.len() < max(h.peak, h.drainedFrom) {
			h.lowDeletes++
		} else {
			h.lowDeletes = 0
		}
	}
	h.forIters(func(it *modelIter[K]) { it.wrote = true })
	h.do(func() { h.m.Delete(k) })
	h.after(st)
}

// forget removes the present key k from the model, as a removal.
func (h *modelHarness[K]) forget(k K) {
	i, last := h.pos[k], len(h.list)-1
	h.list[i] = h.list[last]
	h.pos[h.list[i]] = i
	h.list = h.list[:last]
	delete(h.pos, k)
	delete(h.want, k)
	h.removals++
	h.forIters(func(it *modelIter[K]) { it.gone[k] = true })
}

// deleteFunc calls DeleteFunc with a predicate that approves the entries
// whose value is rem modulo mod (none if mod is 0), checks each call of the
// predicate as checkYield checks a yield, and compares the map with
// maps.DeleteFunc applied to the model. DeleteFunc is a loop over All
// whose body deletes, whose steps iterate checks one by one (sweep); here
// the harness checks the outcome and the hook's calls, one per compaction
// completed, then adopts the map's compaction history. A hook or policy
// that panics ends DeleteFunc in the Delete of the last approved entry or
// at the loop's end: the entries approved before it must be gone, and those
// not yet visited stay.
// Call it outside loop bodies.
func (h *modelHarness[K]) deleteFunc(mod, rem int) {
	approve := func(_ K, v int) bool { return mod > 0 && v%mod == rem }
	want := maps.Clone(h.want)
	maps.DeleteFunc(want, approve)
	it := h.newIter()
	prev, hooks := h.prev, h.hooks
	var approved []K
	panicked := h.do(func() {
		h.m.DeleteFunc(func(k K, v int) bool {
			h.checkYield(it, k, v)
			ok := approve(k, v)
			if ok && k == k {
				approved = append(approved, k)
			}
			return ok
		})
	})
	h.deleteFuncs++
	if prev.Migrating {
		h.deleteFuncsMid++
	}
	if panicked {
		for i, k := range approved {
			if i < len(approved)-1 && h.m.Has(k) {
				h.failf("DeleteFunc ended by a panic after approving %d entries left %v (approved %d-th) in the map; want it deleted", len(approved), k, i+1)
			}
		}
		if n := len(approved); n > 0 && h.m.Has(approved[n-1]) {
			approved = approved[:n-1]
		}
		// The entries the loop had yet to visit stay, as in the map.
		want = maps.Clone(h.want)
		for _, k := range approved {
			delete(want, k)
		}
	} else {
		h.checkIterEnd(it)
	}
	for _, k := range approved {
		h.forget(k)
	}
	h.deleteFuncRemoved += len(approved)
	if !maps.Equal(h.want, want) {
		h.failf("DeleteFunc(value %% %d == %d) left %d entries; want %d, as maps.DeleteFunc leaves", mod, rem, len(h.want), len(want))
	}
	s := h.m.Stats()
	if !panicked && h.hooks-hooks != s.Shrinks-prev.Shrinks {
		h.failf("DeleteFunc called the hook %d times and completed %d compactions (Stats %+v before, %+v after); want one call per compaction", h.hooks-hooks, s.Shrinks-prev.Shrinks, prev, s)
	}
	x := h.m.xs()
	hist := x.hist // as Stats reads it: brought up to Len
	hist.grew(s.Len)
	h.peak, h.deletes, h.lowDeletes = hist.peak, hist.deletes, hist.lowDeletes
	h.refills, h.drainedFrom, h.refillAt = hist.refills, hist.drainedFrom, hist.refillAt
	if x.mig != nil {
		h.migEntries, h.migBefore = x.mig.entries, x.mig.before
	}
	h.calls, h.events = nil, nil
	h.prev, h.sized = s, max(x.curSized, len(h.m.cur))
	h.checkAll()
}

// failf fails the test now. The checks that run after every operation call
// it behind a plain comparison: a testify assertion per check would cost
// more than the operations under test.
func (h *modelHarness[K]) failf(format string, args ...any) {
	h.t.Helper()
	require.FailNowf(h.t, "the map disagrees with the model", format, args...)
}

// get looks k up with Get, or with Has if has is set.
func (h *modelHarness[K]) get(k K, has bool) {
	want, wantOK := h.want[k]
	var got int
	var ok bool
	panicked := h.do(func() {
		if has {
			ok = h.m.Has(k)
		} else {
			got, ok = h.m.Get(k)
		}
	})
	switch {
	case panicked:
	case ok != wantOK:
		h.failf("Get/Has(%v) found = %v; want %v", k, ok, wantOK)
	case ok && !has && got != want:
		h.failf("Get(%v) = %d; want %d", k, got, want)
	}
	h.after(modelStep[K]{op: opGet, key: k})
}

func (h *modelHarness[K]) shrink() {
	if h.prev.Migrating {
		h.stopped++
	}
	h.forIters(func(it *modelIter[K]) { it.wrote = true })
	h.do(h.m.Shrink)
	h.manual++
	h.after(modelStep[K]{op: opShrink})
}

func (h *modelHarness[K]) clear() {
	clear(h.want)
	clear(h.pos)
	clear(h.nans)
	h.list = h.list[:0]
	h.forIters(func(it *modelIter[K]) { it.cleared, it.wrote = true, true })
	h.clears++
	if h.prev.Migrating {
		h.stopped++
	}
	h.m.Clear()
	h.after(modelStep[K]{op: opClear})
}

// rebuild copies the model into fresh maps: a drained native map keeps its
// table, and lookups in it slow down with its tombstones.
func (h *modelHarness[K]) rebuild() {
	want := make(map[K]int, len(h.want))
	pos := make(map[K]int, len(h.pos))
	for k, v := range h.want {
		want[k] = v
	}
	for k, i := range h.pos {
		pos[k] = i
	}
	h.want, h.pos = want, pos
	h.list = append([]K(nil), h.list...)
}

func (h *modelHarness[K]) forIters(f func(*modelIter[K])) {
	for _, it := range h.iters {
		f(it)
	}
}

// after checks the map against the model after an operation, and updates
// the model's Peak and compaction state from what the map reported.
func (h *modelHarness[K]) after(st modelStep[K]) {
	h.ops++
	st.inBody = h.inBody
	s := h.m.Stats()
	prev := h.prev
	calls, events := h.calls, h.events
	h.calls, h.events = nil, nil
	n, live := h.len(), len(h.want)

	if s.Len != n || h.m.Len() != n {
		h.failf("after %v: Stats().Len = %d, Len() = %d; want %d", st, s.Len, h.m.Len(), n)
	}
	if len(events) > 1 {
		h.failf("after %v: the hook was called %d times: %+v; want at most once", st, len(events), events)
	}
	h.checkAsked(st, calls, prev)
	started := len(calls) == 1 && calls[0].ok
	if st.sweepEnd {
		h.sweepEnds++
		h.sweepCompactions += btoi(started)
	}
	if reused := h.m.xs().reused; reused != h.reused {
		h.reuses += max(0, reused-h.reused)
		h.reused = reused
	}

	switch {
	case st.op == opClear:
		if s.Migrating || s.Shrinks != prev.Shrinks || s.TableBytes != 0 || len(events) != 0 {
			h.failf("after Clear: Stats() = %+v, hook calls %+v; want no migration, Shrinks %d (Clear does not count), TableBytes 0, no hook call",
				s, events, prev.Shrinks)
		}
		h.peak, h.deletes, h.lowDeletes, h.refillAt, h.refills, h.drainedFrom = 0, 0, 0, 0, 0, 0
	case st.op == opShrink:
		if s.Migrating || s.Shrinks != prev.Shrinks+1 || s.TableBytes != tableBytes(live, h.group) {
			h.failf("after %v of %d entries: Stats() = %+v; want no migration, Shrinks %d, TableBytes %d (the estimate for Len)",
				st, live, s, prev.Shrinks+1, tableBytes(live, h.group))
		}
		want := ShrinkEvent{Entries: live, BytesBefore: prev.TableBytes, BytesAfter: s.TableBytes, Manual: true, Reason: ReasonManual}
		h.checkEvent(st, events, want)
		h.compacted(n)
	case started:
		if st.op != opDelete && !st.sweepEnd {
			h.failf("a compaction started in %v; want only after a Delete or at the end of a sweep", st)
		}
		if h.step > 0 && (live >= DefaultMinIncremental || tableBytes(live, h.group) >= DefaultMinIncrementalBytes) && !(st.sweepEnd && live <= st.removedIn) {
			if !s.Migrating || s.MigrationLeft != live || s.Shrinks != prev.Shrinks || len(events) != 0 {
				h.failf("after %v started a compaction of %d entries (at least DefaultMinIncremental, or a table of DefaultMinIncrementalBytes) with step %d: Stats() = %+v, hook calls %+v; "+
					"want Migrating, MigrationLeft = every live entry, Shrinks %d and no hook call until it completes",
					st, live, h.step, s, events, prev.Shrinks)
			}
			h.migEntries, h.migBefore = live, prev.TableBytes
			h.migrations++
		} else {
			sized := max(live, h.capacity)
			if s.Migrating || s.Shrinks != prev.Shrinks+1 || s.TableBytes != tableBytes(sized, h.group) || s.TableBytes >= prev.TableBytes {
				h.failf("after %v compacted %d entries with step %d: Stats() = %+v; want a copy at once: no migration, Shrinks %d, "+
					"TableBytes %d (the estimate for max(Len, capacity) = %d) and less than before, %d",
					st, live, h.step, s, prev.Shrinks+1, tableBytes(sized, h.group), sized, prev.TableBytes)
			}
			h.checkEvent(st, events, ShrinkEvent{Entries: live, BytesBefore: prev.TableBytes, BytesAfter: s.TableBytes, Reason: ReasonPolicy})
			h.autos++
		}
		h.compacted(n)
	case st.op == opIterEnd && prev.Migrating && (st.sweepEnd && (modelSmall(prev.MigrationLeft, h.group) || prev.MigrationLeft <= st.removedIn) ||
		!st.swept && st.wrote && modelSmall(prev.MigrationLeft, h.group)):
		if s.Migrating || s.Shrinks != prev.Shrinks+1 {
			h.failf("after %v with %d entries left to migrate: Stats() = %+v; want the migration completed at once, Shrinks %d",
				st, prev.MigrationLeft, s, prev.Shrinks+1)
		}
		h.checkEvent(st, events, ShrinkEvent{Entries: h.migEntries, BytesBefore: h.migBefore, BytesAfter: s.TableBytes, Incremental: true, Reason: ReasonPolicy})
		h.grew(n)
		h.finished++
		h.settled++
	case prev.Migrating && !s.Migrating:
		left := prev.MigrationLeft
		if st.uncopied {
			left--
		}
		if !st.advances() || s.Shrinks != prev.Shrinks+1 || left > h.step {
			h.failf("%v completed a migration with %d entries left: Stats() = %+v; want only a Set or Delete outside iterations "+
				"to complete it, moving at most step = %d entries, and Shrinks %d", st, left, s, h.step, prev.Shrinks+1)
		}
		h.checkEvent(st, events, ShrinkEvent{Entries: h.migEntries, BytesBefore: h.migBefore, BytesAfter: s.TableBytes, Incremental: true, Reason: ReasonPolicy})
		h.grew(n)
		h.finished++
	default:
		if s.Migrating != prev.Migrating || s.Shrinks != prev.Shrinks || len(events) != 0 {
			h.failf("after %v: Stats() = %+v, hook calls %+v; want no compaction: Migrating %v, Shrinks %d, no hook call",
				st, s, events, prev.Migrating, prev.Shrinks)
		}
		if s.Migrating {
			left := prev.MigrationLeft
			if st.uncopied {
				left--
			}
			want := 0
			if st.advances() {
				want = h.step
			}
			if left-s.MigrationLeft != want {
				h.failf("%v moved %d entries of a migration (MigrationLeft %d -> %d); want %d", st, left-s.MigrationLeft, prev.MigrationLeft, s.MigrationLeft, want)
			}
		}
		h.grew(n)
	}

	if s.Peak != h.peak || s.Peak < s.Len {
		h.failf("after %v: Stats().Peak = %d; want %d, the largest Len since the last compaction (Len %d)", st, s.Peak, h.peak, n)
	}
	if s.LowDeletes != h.lowDeletes || s.Refills != h.refills || s.DrainedFrom != h.drainedFrom || s.MemoryPressure {
		h.failf("after %v: Stats() = %+v; want LowDeletes %d, Refills %d, DrainedFrom %d, no MemoryPressure (no memory limit is set)",
			st, s, h.lowDeletes, h.refills, h.drainedFrom)
	}
	if s.Migrating != (h.m.xs().mig != nil) {
		h.failf("after %v: Stats().Migrating = %v, but a migration is in progress = %v", st, s.Migrating, h.m.xs().mig != nil)
	}
	if s.Migrating {
		if left := len(h.m.cur) - len(h.m.xs().next); s.MigrationLeft != left {
			h.failf("after %v: Stats().MigrationLeft = %d; want the %d entries not yet in the fresh table", st, s.MigrationLeft, left)
		}
		h.migratingOps++
	} else if s.MigrationLeft != 0 || h.m.xs().next != nil || s.TableBytes < tableBytes(live, h.group) {
		h.failf("after %v with no migration: Stats() = %+v, fresh table of %d entries; want MigrationLeft 0, no fresh table, TableBytes >= %d (the estimate for Len)",
			st, s, len(h.m.xs().next), tableBytes(live, h.group))
	}
	if s.WastedBytes < 0 || s.WastedBytes > s.TableBytes {
		h.failf("after %v: Stats().WastedBytes = %d; want in [0, TableBytes = %d]", st, s.WastedBytes, s.TableBytes)
	}
	if len(h.m.xs().nans) != len(h.nans) {
		h.failf("after %v: %d NaN entries kept; want %d", st, len(h.m.xs().nans), len(h.nans))
	}
	h.prev = s
	h.sized = max(h.m.xs().curSized, len(h.m.cur))
}

// modelRoomy reports whether a fresh table for live entries, made from one
// sized for sized, would have its headroom: when half of the old table's
// slots are over one 1024-slot part, live must be at most 7/8 of what half
// holds at 7/8 load, rounded as the map rounds.
func modelRoomy(live, sized int) bool {
	half := int(tableSlots(sized) / 2)
	if half <= maxTableSlots {
		return true
	}
	most := half * 7 / 8
	return live <= most-most/8
}

// modelSmall reports whether a migration with left entries to copy is one
// that the end of a loop whose body wrote completes at once.
func modelSmall(left int, group int64) bool {
	return left < DefaultMinIncremental && tableBytes(left, group) < DefaultMinIncrementalBytes
}

// grew records that the map holds n entries: Peak is the largest Len since
// the last compaction, and reaching half the Peak the last compaction
// started from counts one refill.
func (h *modelHarness[K]) grew(n int) {
	h.peak = max(h.peak, n)
	if 4*n >= h.drainedFrom {
		h.drainedFrom = 0 // back at a quarter of the drain's peak
	}
	if h.refillAt > 0 && n >= h.refillAt {
		h.refills++
		h.refillAt = 0
	}
	if 4*n >= max(h.peak, h.drainedFrom) {
		h.lowDeletes = 0 // not drained
	}
}

// compacted starts the model's history anew after a compaction that left
// n entries: Refills goes on counting only if the previous compaction was
// undone, and this one counts as undone once Len reaches half the peak it
// compacted from (the larger of Peak and DrainedFrom) and at least twice
// n, plus one; a compaction that leaves Len under a quarter of that peak
// keeps it as DrainedFrom.
func (h *modelHarness[K]) compacted(n int) {
	if h.refillAt > 0 {
		h.refills = 0
	}
	ref := max(h.peak, h.drainedFrom)
	h.refillAt, h.drainedFrom = 0, 0
	if ref > 0 {
		h.refillAt = max((ref+1)/2, 2*n+1)
	}
	if 4*n < ref {
		h.drainedFrom = ref // still drained: the drain goes on
	}
	h.peak, h.deletes, h.lowDeletes = n, 0, 0
}

// checkEvent checks that the hook was called once with want (its Duration
// is not checked).
func (h *modelHarness[K]) checkEvent(st modelStep[K], events []ShrinkEvent, want ShrinkEvent) {
	if len(events) == 1 {
		want.Duration = events[0].Duration
	}
	if len(events) != 1 || events[0] != want {
		h.failf("after %v: hook calls %+v; want one with %+v", st, events, want)
	}
}

// checkAsked checks that the policy was asked exactly when the documented
// rule says it is (after a Delete that removed an entry, outside
// iterations and migrations, when at least Len/8 deletes were seen since
// the last compaction and a compaction would make the table smaller), and
// with what the model expects.
func (h *modelHarness[K]) checkAsked(st modelStep[K], calls []modelCall, prev Stats) {
	live := len(h.want)
	eligible := !prev.Migrating && h.deletes >= live/8 &&
		tableBytes(max(live, h.capacity), h.group) < prev.TableBytes && modelRoomy(live, st.sized)
	var asked bool
	switch {
	case st.op == opDelete && st.removed && !prev.Migrating && h.sweeping == 0:
		asked = eligible
	case st.sweepEnd && !prev.Migrating:
		asked = eligible
	}
	if len(calls) != btoi(asked) {
		h.failf("after %v: policy asked %d times; want %d (deletes since the last compaction %d, live %d, table %d bytes, Migrating %v)",
			st, len(calls), btoi(asked), h.deletes, live, prev.TableBytes, prev.Migrating)
	}
	for _, c := range calls {
		want := prev
		want.Len, want.WastedBytes, want.LowDeletes = h.len(), c.s.WastedBytes, h.lowDeletes
		want.SweepEnded = st.sweepEnd
		if c.s != want {
			h.failf("after %v: policy asked with Stats %+v (inside a loop body: %v); want %+v", st, c.s, c.inBody, want)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkAll compares the map's whole content with the model, by All or by
// Keys and Values, and checks that the fresh table of a migration holds no
// key, or value, that the map does not, and that a full iteration changed
// nothing.
func (h *modelHarness[K]) checkAll() {
	before := h.m.Stats()
	h.checks++
	got := make(map[K]bool, len(h.want))
	values := make(map[int]bool, h.len())
	key := func(k K, how string) {
		if k != k {
			return
		}
		if _, ok := h.want[k]; !ok || got[k] {
			h.failf("%s yielded %v: in the map %v, yielded before %v; want each key in the map once", how, k, ok, got[k])
		}
		got[k] = true
	}
	value := func(v int, nan bool, how string) {
		if nan && !h.nans[v] || values[v] {
			h.failf("%s yielded value %d (NaN key %v) twice or for a NaN key it is not the value of; every value stored is unique", how, v, nan)
		}
		values[v] = true
	}
	if h.checks%3 == 0 {
		for k := range h.m.Keys() {
			key(k, "Keys()")
		}
		for v := range h.m.Values() {
			value(v, false, "Values()")
		}
	} else {
		for k, v := range h.m.All() {
			key(k, "All()")
			if k == k && h.want[k] != v {
				h.failf("All() yielded %v: %d; want %d", k, v, h.want[k])
			}
			value(v, k != k, "All()")
		}
	}
	if len(values) != h.len() || len(got) != len(h.want) {
		h.failf("a full iteration yielded %d values and %d distinct non-NaN keys; want Len = %d and %d", len(values), len(got), h.len(), len(h.want))
	}
	for k, v := range h.m.xs().next {
		if cur, ok := h.m.cur[k]; !ok || cur != v {
			h.failf("key %v is in the fresh table of a migration with %d, and in the map with %d, %v; want the same entry", k, v, cur, ok)
		}
	}
	if after := h.m.Stats(); after != before || len(h.calls)+len(h.events) > 0 {
		h.failf("a full iteration changed Stats() from %+v to %+v, asked the policy %d times, called the hook with %+v; want no change",
			before, after, len(h.calls), h.events)
	}
}

// iterate ranges over All (or, if pull, over iter.Pull2 of All), checking
// each entry yielded, and calls body after each, which may use the
// harness's operations and says whether to go on, break or panic. At the
// end of a complete iteration it checks that every entry present all along
// was yielded.
func (h *modelHarness[K]) iterate(pull bool, body func(k K, v, i int) modelAct) {
	it := h.newIter()
	h.iterations++
	if h.prev.Migrating {
		h.midMigrationIters++
	}
	outer := h.inBody
	ended := false
	// each checks one yielded entry and runs the body after it.
	each := func(k K, v int) modelAct {
		h.inBody = true
		h.checkYield(it, k, v)
		a := body(k, v, it.yields-1)
		h.inBody = outer
		if a == actContinue && !it.swept && h.removals != it.removed0 {
			it.swept = true
			h.sweeping++
		}
		return a
	}
	if pull {
		h.pulls++
		next, stop := iter.Pull2(h.m.All())
		started := false
		for {
			var k K
			var v int
			var ok bool
			if h.do(func() { k, v, ok = next() }) || !ok {
				// The iteration ended inside next, possibly with a
				// compaction whose hook panicked.
				ended = started
				break
			}
			if !started {
				started = true
				h.iters = append(h.iters, it)
			}
			if each(k, v) != actContinue {
				break
			}
		}
		h.do(stop)
		if started {
			h.iters = h.iters[:len(h.iters)-1]
			h.after(h.iterEnd(it, true))
		}
	} else {
		h.iters = append(h.iters, it)
		bodyPanicked := false
		h.do(func() {
			for k, v := range h.m.All() {
				switch each(k, v) {
				case actBreak:
					return
				case actPanic:
					bodyPanicked = true
					panic(modelPanic("loop body"))
				}
			}
			ended = true
		})
		h.iters = h.iters[:len(h.iters)-1]
		h.after(h.iterEnd(it, !bodyPanicked))
	}
	if ended && !it.cleared {
		h.checkIterEnd(it)
	}
}

// newIter returns the tracker of an iteration that starts now.
func (h *modelHarness[K]) newIter() *modelIter[K] {
	it := &modelIter[K]{
		start: make(map[K]bool, len(h.want)), startNaN: make(map[int]bool, len(h.nans)),
		gone: map[K]bool{}, seen: map[K]bool{}, seenNaN: map[int]bool{},
		removed0: h.removals,
	}
	for k := range h.want {
		it.start[k] = true
	}
	for v := range h.nans {
		it.startNaN[v] = true
	}
	return it
}

// checkIterEnd checks that an iteration that ran to its end yielded every
// entry present all along.
func (h *modelHarness[K]) checkIterEnd(it *modelIter[K]) {
	for k := range it.start {
		if !it.seen[k] && !it.gone[k] {
			h.failf("All() never yielded %v, present for the whole iteration", k)
		}
	}
	for v := range it.startNaN {
		if !it.seenNaN[v] {
			h.failf("All() never yielded the NaN entry with value %d, present for the whole iteration", v)
		}
	}
}

// iterEnd returns the step that ends iteration it, which ended without a
// panic in its body if done.
func (h *modelHarness[K]) iterEnd(it *modelIter[K], done bool) modelStep[K] {
	st := modelStep[K]{op: opIterEnd, wrote: it.wrote && done, swept: it.swept, removedIn: h.removals - it.removed0, sized: h.sized}
	if it.swept {
		h.sweeping--
		st.sweepEnd = h.sweeping == 0 && done
	}
	return st
}

// sweep ranges over All and deletes every yielded entry but one in keep
// (keep <= 1 deletes them all), as an expiry loop does, then only reads:
// the end of the loop must leave no small migration in progress (after
// checks that), and readers from several goroutines at once must see the
// model's content and change nothing.
func (h *modelHarness[K]) sweep(keep int) {
	n := 0
	h.iterate(false, func(k K, _, _ int) modelAct {
		if n++; keep <= 1 || n%keep != 0 {
			h.del(k)
		}
		return actContinue
	})
	h.sweeps++
	h.readConcurrently(4)
}

// readConcurrently runs readers goroutines at once, each reading the whole
// map (Get and Has of every model key, a full All, Len and Stats) while
// nothing writes, and fails if any saw something else than the model, or
// if the map changed. Under -race it also proves that reads write nothing.
func (h *modelHarness[K]) readConcurrently(readers int) {
	before := h.m.Stats()
	errs := make(chan string, readers)
	var wg sync.WaitGroup
	for range readers {
		goWait(&wg, func() { errs <- h.readAll() })
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		if e != "" {
			h.failf("a concurrent reader: %s", e)
		}
	}
	if after := h.m.Stats(); after != before {
		h.failf("concurrent readers changed Stats() from %+v to %+v", before, after)
	}
	h.concurrentReads++
}

// readAll reads the whole map as one reader and describes the first
// difference from the model, or returns "".
func (h *modelHarness[K]) readAll() string {
	for k, want := range h.want {
		if v, ok := h.m.Get(k); !ok || v != want || !h.m.Has(k) {
			return fmt.Sprintf("Get(%v) = %d, %v; want %d", k, v, ok, want)
		}
	}
	seen := 0
	for k, v := range h.m.All() {
		if k == k && h.want[k] != v || k != k && !h.nans[v] {
			return fmt.Sprintf("All yielded %v: %d, not in the model", k, v)
		}
		seen++
	}
	if seen != h.len() || h.m.Len() != h.len() || h.m.Stats().Len != h.len() {
		return fmt.Sprintf("All yielded %d entries, Len %d; want %d", seen, h.m.Len(), h.len())
	}
	return ""
}

// checkYield checks one entry yielded by an iteration: it is present now,
// with this value, and was not yielded before unless it was deleted since
// the iteration started.
func (h *modelHarness[K]) checkYield(it *modelIter[K], k K, v int) {
	it.yields++
	if k != k {
		if !h.nans[v] || it.seenNaN[v] && !it.cleared {
			h.failf("All() yielded a NaN key with value %d: a NaN entry's value %v, yielded before %v; want each NaN entry once", v, h.nans[v], it.seenNaN[v])
		}
		it.seenNaN[v] = true
	} else {
		want, ok := h.want[k]
		if !ok || want != v {
			h.failf("All() yielded %v: %d; want only entries present now (present %v) with their value now, %d", k, v, ok, want)
		}
		if it.seen[k] && !it.gone[k] && !it.cleared {
			h.failf("All() yielded %v twice", k)
		}
		it.seen[k] = true
	}
	if limit := len(it.start) + len(it.startNaN) + it.added; it.yields > limit {
		h.failf("All() yielded %d entries; at most %d were ever present during it", it.yields, limit)
	}
}

// modelPlan sizes a random run.
type modelPlan struct {
	large, small int // cycles of each kind
	largePeak    int // a large cycle grows to [largePeak, 1.25 largePeak) entries
	smallPeak    int // a small cycle grows to [1, smallPeak) entries
	churn        int // operations of mixed churn once a migration starts
	fullEvery    int // operations between full comparisons once Len > 64
	// largeFirst runs the large cycles first: the default policy, which
	// backs off once a refill has undone a compaction, compacts a large
	// cycle's drain at a quarter of its peak only while no refill has.
	largeFirst bool
}

// modelPlanFor returns the plan for a run. Its large cycles grow past
// 2*DefaultMinIncremental entries, so that the other policies of
// modelConfigs start incremental migrations, or, with the default policy,
// which compacts below a quarter of the peak, past 40,000 entries, and run
// first, before a refill makes the default policy wait for the map to stay
// drained (one such cycle costs as much as several others, so these runs
// make one).
// -short and -race run fewer cycles.
func modelPlanFor(defaultPolicy bool) modelPlan {
	p := modelPlan{large: 2, small: 10, largePeak: 18000, smallPeak: 3000, churn: 3000, fullEvery: 8000}
	if defaultPolicy {
		p.large, p.largePeak, p.fullEvery, p.largeFirst = 1, 40_000, 10_000, true
	}
	if testing.Short() || raceEnabled {
		p.large, p.small, p.churn = 1, 4, 1500
	}
	return p
}

// Operation kinds of the random driver.
const (
	doSetNew = iota
	doSetOld
	doDelete
	doDeleteAbsent
	doGet
	doGetAbsent
	doHas
	doSetNaN
	doNaNOp
	doKinds
)

// Operation weights of the three phases of a cycle.
var (
	modelGrow  = [doKinds]int{doSetNew: 72, doSetOld: 8, doDelete: 6, doDeleteAbsent: 2, doGet: 6, doGetAbsent: 2, doHas: 2, doSetNaN: 1, doNaNOp: 1}
	modelDrain = [doKinds]int{doSetNew: 5, doSetOld: 5, doDelete: 74, doDeleteAbsent: 3, doGet: 7, doGetAbsent: 2, doHas: 2, doSetNaN: 1, doNaNOp: 1}
	modelChurn = [doKinds]int{doSetNew: 28, doSetOld: 10, doDelete: 28, doDeleteAbsent: 4, doGet: 18, doGetAbsent: 4, doHas: 6, doSetNaN: 1, doNaNOp: 1}
)

// modelMaxNaNs bounds the NaN entries a random run keeps at once.
const modelMaxNaNs = 24

// modelDriver drives a harness with random, bursty operations.
type modelDriver[K comparable] struct {
	*modelHarness[K]
	r          *rand.Rand
	plan       modelPlan
	ids        int // ids below this may have been used
	sinceFull  int
	completing int // operations chosen to complete a migration
	// noClear and noShrink hold back random Clear and Shrink calls, which
	// would keep a cycle from its peak or reset Peak before its drain
	// reaches the policy's threshold.
	noClear, noShrink bool
	noIter            bool // holds back random iterations
}

// freshKey returns a key not in the map: half the time one used before.
func (d *modelDriver[K]) freshKey() K {
	if d.ids > 0 && d.r.IntN(2) == 0 {
		if k := d.keys.key(d.r.IntN(d.ids)); !d.has(k) {
			return k
		}
	}
	d.ids++
	return d.keys.key(d.ids - 1)
}

func (d *modelDriver[K]) has(k K) bool {
	_, ok := d.want[k]
	return ok
}

func (d *modelDriver[K]) presentKey() (K, bool) {
	if len(d.list) == 0 {
		var zero K
		return zero, false
	}
	return d.list[d.r.IntN(len(d.list))], true
}

func (d *modelDriver[K]) absentKey() K { return d.keys.key(-1 - d.r.IntN(1000)) }

func (d *modelDriver[K]) pick(w *[doKinds]int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	x := d.r.IntN(total)
	for i, wi := range w {
		if x < wi {
			return i
		}
		x -= wi
	}
	panic("unreachable")
}

// action runs one random operation with weights w, then a Get of the key it
// touched, then, now and then, an iteration, a Shrink, a Clear or a Clone,
// and a full comparison when due.
func (d *modelDriver[K]) action(w *[doKinds]int, migrating bool) {
	k, ok := d.presentKey()
	kind := d.pick(w)
	if d.prev.Migrating && d.prev.MigrationLeft <= d.step {
		// The next step completes the migration: let every kind of
		// operation take its turn at completing one, a Set of a new key
		// first.
		kind = d.completing % doKinds
		d.completing++
	}
	switch kind {
	case doSetNew:
		k = d.freshKey()
		d.set(k)
	case doSetOld:
		if !ok {
			k = d.freshKey()
		}
		d.set(k)
	case doDelete:
		if !ok {
			k = d.absentKey()
		}
		d.del(k)
	case doDeleteAbsent:
		k = d.absentKey()
		d.del(k)
	case doGet:
		d.get(k, false)
	case doGetAbsent:
		k = d.absentKey()
	case doHas:
		d.get(k, true)
	case doSetNaN, doNaNOp:
		if d.keys.nan == nil {
			k = d.absentKey()
			break
		}
		nan := d.keys.nan(d.r)
		switch {
		case d.r.IntN(2) == 0 && len(d.nans) < modelMaxNaNs:
			d.set(nan)
		case d.r.IntN(2) == 0:
			d.del(nan)
		default:
			d.get(nan, d.r.IntN(2) == 0)
		}
	}
	d.get(k, false)

	n := d.len()
	small := n < 4000
	switch {
	case !d.noIter && d.r.IntN(pick3(small, migrating, 150, 1000, 20000)) == 0:
		d.randomIteration()
	case d.r.IntN(pick3(small, migrating, 400, 1<<30, 30000)) == 0 && !d.holdShrink():
		d.shrink()
	case d.r.IntN(pick3(small, migrating, 1500, 1<<30, 100000)) == 0 && !d.holdClear():
		d.clear()
	case d.r.IntN(pick3(small, migrating, 800, 4000, 50000)) == 0:
		d.checkClone()
	case !d.noIter && d.r.IntN(pick3(small, migrating, 600, 3000, 40000)) == 0 && !d.holdDeleteFunc():
		d.randomDeleteFunc(n)
	}
	d.sinceFull++
	n = d.len()
	if n <= 64 || n <= 2048 && d.sinceFull >= 1024 || d.sinceFull >= d.plan.fullEvery || d.hookPanicked {
		d.sinceFull, d.hookPanicked = 0, false
		d.checkAll()
	}
}

// holdShrink and holdClear report whether random Shrink and Clear calls
// are held back: as noShrink and noClear say, and until the first migration
// of the run has completed by its steps.
func (d *modelDriver[K]) holdShrink() bool { return d.noShrink || d.prev.Migrating && d.finished == 0 }

func (d *modelDriver[K]) holdClear() bool { return d.noClear || d.prev.Migrating && d.finished == 0 }

// holdDeleteFunc reports whether random DeleteFunc calls are held back: a
// DeleteFunc is a loop whose body deletes, and the end of such a loop
// completes a small migration at once, so it waits, as Shrink does: while
// a large cycle grows and drains (whose compactions must migrate by steps),
// and until the first migration of the run has completed by its steps.
func (d *modelDriver[K]) holdDeleteFunc() bool { return d.holdShrink() }

// pick3 chooses a rate for small maps, for maps mid-migration, and for
// other large maps.
func pick3(small, migrating bool, s, m, l int) int {
	switch {
	case migrating:
		return m
	case small:
		return s
	}
	return l
}

// randomIteration ranges over the map with mutations in the loop body:
// about 30 body operations per iteration, sometimes an early break or a
// panicking body, sometimes through iter.Pull2.
func (d *modelDriver[K]) randomIteration() {
	n := d.len()
	rate := max(1, n/30)
	breakAt, panicAt := -1, -1
	if d.r.IntN(3) == 0 {
		breakAt = d.r.IntN(n + 1)
	}
	if d.r.IntN(6) == 0 {
		panicAt = d.r.IntN(n + 1)
	}
	pull := d.r.IntN(3) == 0
	d.iterate(pull, func(k K, v, i int) modelAct {
		if d.r.IntN(rate) == 0 {
			d.bodyAction(k, n)
		}
		switch {
		case i == breakAt:
			return actBreak
		case i == panicAt && !pull:
			return actPanic
		}
		return actContinue
	})
	d.checkAll()
}

// bodyAction runs one random operation inside an iteration that is at k
// and started with n entries.
func (d *modelDriver[K]) bodyAction(k K, n int) {
	d.bodyOps++
	x := d.r.IntN(200)
	switch {
	case x < 50:
		k = d.freshKey()
		d.set(k)
	case x < 80:
		k, _ = d.presentKey()
		d.set(k)
	case x < 90:
		if k == k {
			d.set(k)
		}
	case x < 130:
		var ok bool
		if k, ok = d.presentKey(); ok {
			d.del(k)
		}
	case x < 150:
		d.del(k)
	case x < 160:
		k = d.absentKey()
		d.del(k)
	case x < 176:
		k, _ = d.presentKey()
	case x < 182:
		// A NaN added while the iteration yields NaN entries may be
		// yielded in turn; adding one per NaN yielded need not end
		// (see TestAllEndsWhenBodyAddsNaNs), so only add before them.
		if d.keys.nan != nil && k == k && len(d.nans) < modelMaxNaNs {
			d.set(d.keys.nan(d.r))
		}
	case x < 190:
		// A nested iteration, which may itself mutate the map, once.
		stopAt := d.r.IntN(8)
		d.iterate(d.r.IntN(2) == 0, func(k K, _, i int) modelAct {
			if len(d.iters) < 3 && d.r.IntN(2) == 0 {
				d.bodyAction(k, n)
			}
			if i == stopAt {
				return actBreak
			}
			return actContinue
		})
	case x < 195:
		if !d.holdShrink() {
			d.shrink()
		}
	case x < 197:
		if !d.holdClear() && (n < 5000 || d.r.IntN(8) == 0) {
			d.clear()
		}
	}
	d.get(k, false)
}

// randomDeleteFunc calls DeleteFunc on a map of n entries with a random
// predicate: one that approves no entry, one in 97 or one in 7, or, for a
// small map, every entry.
func (d *modelDriver[K]) randomDeleteFunc(n int) {
	mods := []int{0, 97, 7, 1}
	if n >= 256 {
		mods = mods[:3]
	}
	mod := mods[d.r.IntN(len(mods))]
	d.deleteFunc(mod, d.r.IntN(max(mod, 1)))
}

// checkClone compares a Clone of the map with the model.
func (d *modelDriver[K]) checkClone() {
	t := d.t
	t.Helper()
	c := d.m.Clone()
	s := c.Stats()
	require.Equalf(t, Stats{Len: d.len(), Peak: d.len(), TableBytes: s.TableBytes, WastedBytes: s.WastedBytes}, s,
		"Clone().Stats() = %+v; want a fresh history with Len = Peak = %d", s, d.len())
	nans := 0
	for k, v := range c.All() {
		if k != k {
			if !d.nans[v] {
				d.failf("Clone().All() yielded a NaN key with value %d; want a NaN entry's value", v)
			}
			nans++
		} else if want, ok := d.want[k]; !ok || want != v {
			d.failf("Clone().All() yielded %v: %d; want %d (in the map: %v)", k, v, want, ok)
		}
	}
	require.Equalf(t, len(d.nans), nans, "Clone().All() yielded %d NaN entries; want %d", nans, len(d.nans))
	d.after(modelStep[K]{op: opClone})
}

// cycle grows the map to a random peak, then drains it. A large cycle
// holds back random Shrink and Clear calls until its drain has made the
// map compact itself, then runs a stretch of mixed churn.
func (d *modelDriver[K]) cycle(large bool) {
	var top, low int
	if large {
		top = d.plan.largePeak + d.r.IntN(d.plan.largePeak/4)
		if d.r.IntN(2) == 0 {
			low = d.r.IntN(2000)
		}
	} else {
		top = 1 + d.r.IntN(d.plan.smallPeak)
		if d.r.IntN(3) == 0 {
			top = 1 + d.r.IntN(16)
		}
		low = d.r.IntN(top/4 + 1)
	}
	d.noClear, d.noShrink = true, large
	for d.len() < top {
		d.action(&modelGrow, false)
	}
	d.noClear = large
	churned := !large
	compactions := d.autos + d.migrations
	rebuildAt := len(d.want) / 4
	for len(d.want) > low {
		d.action(&modelDrain, false)
		if !churned && d.autos+d.migrations > compactions {
			churned = true
			d.churn()
		}
		if len(d.want) < rebuildAt {
			d.rebuild()
			rebuildAt = len(d.want) / 4
		}
	}
	d.noClear, d.noShrink = false, false
	if d.r.IntN(2) == 0 {
		d.stayDrained()
	}
	d.checkAll()
	if d.r.IntN(3) == 0 {
		// An expiry sweep that deletes all, or all but one in keep.
		d.sweep([]int{0, 2, 100}[d.r.IntN(3)])
	}
}

// stayDrained keeps the map at its drained level, a Set of a new key and a
// Delete of a present one at a time, until it compacts or has made
// max(Peak, MinDrainedDeletes) deletes there and one more (after which the
// default policy compacts it whatever its refills).
func (d *modelDriver[K]) stayDrained() {
	compactions := d.autos + d.migrations
	for i := 0; i <= 2*max(d.peak, MinDrainedDeletes)+2 && d.autos+d.migrations == compactions; i++ {
		if i%2 == 0 {
			d.set(d.freshKey())
		} else if k, ok := d.presentKey(); ok {
			d.del(k)
		}
	}
	d.drainedStays++
}

// churn runs mixed operations for a while: with a migration in progress,
// its whole stretch lives through every kind of operation, iterations
// among them. Once a migration has completed by its steps in this run, a
// churn sometimes ends the next one early with a Shrink or a Clear.
func (d *modelDriver[K]) churn() {
	shrinkAt, clearAt, iterAt := -1, -1, -1
	if d.prev.Migrating {
		// Each action is two operations, each moving one step.
		during := min(d.plan.churn, d.prev.MigrationLeft/(2*d.step)+1)
		iterAt = d.r.IntN(during)
		// A read-only iteration leaves the migration alone; one whose
		// body writes (at iterAt) may complete it, if it is small.
		d.checkAll()
		if d.finished > 0 {
			// The iteration would often complete the migration first.
			iterAt = -1
			if d.r.IntN(2) == 0 {
				shrinkAt = d.r.IntN(during)
			} else {
				clearAt = d.r.IntN(during)
			}
		}
	}
	// An iteration whose body writes would often complete the migration
	// before the Shrink or Clear meant to cut it short.
	d.noIter = shrinkAt >= 0 || clearAt >= 0
	defer func() { d.noIter = false }()
	for i := range d.plan.churn {
		if i > max(shrinkAt, clearAt) {
			d.noIter = false
		}
		d.action(&modelChurn, d.prev.Migrating)
		switch i {
		case shrinkAt:
			d.shrink()
		case clearAt:
			d.clear()
		case iterAt:
			d.randomIteration()
		}
	}
}

// modelRun runs plan's cycles, large and small in random order, on a map
// made by cfg, and returns the harness for the caller's coverage checks.
func modelRun[K comparable](t *testing.T, keys modelKeys[K], cfg modelConfig, plan modelPlan, seed uint64) *modelHarness[K] {
	d := &modelDriver[K]{
		modelHarness: newModelHarness(t, keys, cfg),
		r:            rand.New(rand.NewPCG(seed, 0x5eed)),
		plan:         plan,
	}
	cycles := make([]bool, 0, plan.large+plan.small)
	for i := range plan.large + plan.small {
		cycles = append(cycles, i < plan.large)
	}
	d.r.Shuffle(len(cycles), func(i, j int) { cycles[i], cycles[j] = cycles[j], cycles[i] })
	if plan.largeFirst {
		slices.SortStableFunc(cycles, func(a, b bool) int { return btoi(b) - btoi(a) })
	}
	for i, large := range cycles {
		d.cycle(large)
		switch {
		case i == 0:
			d.clear()
		case d.r.IntN(3) == 0:
			d.shrink()
		}
	}
	for d.manual < 2 {
		// The random draws depend on the map's state (a spare table
		// reused or collected): make sure every run has its Shrinks.
		d.shrink()
	}
	for d.deleteFuncs < 2 || d.deleteFuncRemoved == 0 {
		// Likewise every run has DeleteFunc calls that remove entries: one
		// that approves every entry of a map holding at least one.
		if d.len() == 0 {
			d.set(d.freshKey())
		}
		d.deleteFunc(1, 0)
	}
	d.sweep(2) // at least one expiry sweep with concurrent readers a run
	d.clear()
	d.checkAll()
	s := d.m.Stats()
	require.Equalf(t, s.Shrinks, d.hooks, "the hook was called %d times; want once per compaction, Stats().Shrinks = %d", d.hooks, s.Shrinks)
	return d.modelHarness
}

// modelConfigs are the configurations every key type runs with: each
// built-in policy, and incremental steps 1, 7, 64, the default and 0, each
// at least once. The policies other than the default compact at small
// sizes, so that small cycles compact too.
func modelConfigs() []modelConfig {
	ratio := RatioPolicy{Threshold: 0.5, MinTableBytes: 512}
	return []modelConfig{
		{name: "default", step: modelDefaultStep},
		{name: "default/step=0", step: 0},
		{name: "ratio/step=1", policy: ratio, step: 1},
		{name: "ratio/capacity=1000", policy: ratio, step: modelDefaultStep, capacity: 1000},
		{name: "wasted/step=7", policy: WastedBytesPolicy{MaxWastedBytes: 4096}, step: 7},
		{name: "func/step=64", policy: PolicyFunc(func(s Stats) bool { return 3*s.Len < 2*s.Peak }), step: 64},
		{name: "never", policy: Never(), step: modelDefaultStep},
	}
}

// requireCovered checks that a run covered what its configuration should
// reach: compactions, migrations (observed mid-way, and completed) unless
// the policy is Never or the step 0, and iterations of every kind.
func requireCovered[K comparable](t *testing.T, h *modelHarness[K], cfg modelConfig, plan modelPlan) {
	t.Helper()
	t.Logf("%d ops (%d mid-migration), %d migrations (%d completed, %d ended by Shrink or Clear), %d compactions at once, %d Shrink, %d Clear, %d iterations (%d pulled, %d mid-migration, %d body ops), %d full checks, %d sweep ends (%d compacted), %d spare tables reused, %d DeleteFunc calls (%d mid-migration, %d entries removed)",
		h.ops, h.migratingOps, h.migrations, h.finished, h.stopped, h.autos, h.manual, h.clears, h.iterations, h.pulls, h.midMigrationIters, h.bodyOps, h.checks, h.sweepEnds, h.sweepCompactions, h.reuses, h.deleteFuncs, h.deleteFuncsMid, h.deleteFuncRemoved)
	_, never := cfg.policy.(neverPolicy)
	switch {
	case never:
		require.Zerof(t, h.autos+h.migrations, "policy Never compacted %d times by itself", h.autos+h.migrations)
	case plan.large == 0:
		// Small cycles only: the map may never get large enough to compact.
	case h.step == 0:
		require.Zerof(t, h.migratingOps, "step 0: %d operations mid-migration; want none", h.migratingOps)
		require.GreaterOrEqualf(t, h.autos, plan.large, "%d automatic compactions; want one per large cycle at least", h.autos)
	default:
		require.GreaterOrEqualf(t, h.migrations, 1, "no incremental migration started; the run no longer covers migration")
		require.GreaterOrEqualf(t, h.finished, 1, "no migration completed by its steps")
		long := 50 // an iteration whose body writes completes a small migration early
		if h.step <= 7 {
			long = 1500
		}
		require.GreaterOrEqualf(t, h.migratingOps, long, "only %d operations mid-migration; want long stretches", h.migratingOps)
		require.GreaterOrEqualf(t, h.midMigrationIters, 1, "no iteration mid-migration")
		if plan.large > 1 {
			require.GreaterOrEqualf(t, h.stopped, 1, "no Shrink or Clear mid-migration")
		}
		require.GreaterOrEqualf(t, h.autos+h.migrations, plan.large, "%d automatic compactions; want one per large cycle at least", h.autos+h.migrations)
	}
	require.GreaterOrEqualf(t, h.manual, 2, "%d Shrink calls; want several", h.manual)
	require.GreaterOrEqualf(t, h.clears, 2, "%d Clear calls; want several", h.clears)
	require.GreaterOrEqualf(t, h.pulls, 1, "no iteration through iter.Pull2")
	require.GreaterOrEqualf(t, h.sweepEnds, 1, "no sweep (a loop whose body removed entries) ended")
	require.GreaterOrEqualf(t, h.bodyOps, 20, "%d operations in loop bodies; want many", h.bodyOps)
	require.GreaterOrEqualf(t, h.deleteFuncs, 2, "%d DeleteFunc calls; want several", h.deleteFuncs)
	require.Positivef(t, h.deleteFuncRemoved, "DeleteFunc calls removed no entry")
}

// TestModel runs the model for every configuration of modelConfigs with
// int, string and float64 keys (NaN keys among them). Under the race
// detector, which slows it most, only int keys run the large cycles: the
// key type changes the hashing, not the paths between goroutines that the
// detector watches.
func TestModel(t *testing.T) {
	for i, cfg := range modelConfigs() {
		seed := uint64(i + 1)
		plan := modelPlanFor(cfg.policy == nil)
		light := plan
		if raceEnabled {
			light.large = 0
		}
		intPlan := plan
		if cfg.policy == nil && cfg.step != 0 && !testing.Short() && !raceEnabled {
			intPlan.large = 2 // so that a Shrink or Clear ends a migration of the default policy
		}
		t.Run("int/"+cfg.name, func(t *testing.T) {
			requireCovered(t, modelRun(t, modelIntKeys, cfg, intPlan, seed), cfg, intPlan)
		})
		t.Run("string/"+cfg.name, func(t *testing.T) {
			requireCovered(t, modelRun(t, modelStringKeys, cfg, light, seed), cfg, light)
		})
		t.Run("float64/"+cfg.name, func(t *testing.T) {
			h := modelRun(t, modelFloatKeys, cfg, light, seed)
			requireCovered(t, h, cfg, light)
			require.GreaterOrEqualf(t, h.nanSets, 10, "%d Set of a NaN key; want many", h.nanSets)
		})
	}
}

// TestModelPanics runs the model with a shrink hook and a policy that
// panic now and then: every operation whose hook or policy panicked must
// still have done its work, and lost nothing.
func TestModelPanics(t *testing.T) {
	plan := modelPlanFor(false)
	plan.small /= 2
	always := func(int) bool { return true }
	for i, cfg := range []modelConfig{
		{name: "step=7/hook", step: 7, hookPanics: always},
		{name: "step=64/hook+policy", step: 64, hookPanics: func(n int) bool { return n%2 == 0 }, policyPanics: func(n int) bool { return n%3 == 0 }},
		{name: "step=0/hook+policy", step: 0, hookPanics: always, policyPanics: func(n int) bool { return n%3 == 0 }},
	} {
		cfg.policy = RatioPolicy{Threshold: 0.5, MinTableBytes: 512}
		t.Run(cfg.name, func(t *testing.T) {
			var hookPanics, policyPanics int
			panicky := cfg.policyPanics != nil
			cfg.hookPanics = countingPanics(cfg.hookPanics, &hookPanics)
			cfg.policyPanics = countingPanics(cfg.policyPanics, &policyPanics)
			h := modelRun(t, modelIntKeys, cfg, plan, uint64(100+i))
			t.Logf("%d ops (%d mid-migration), %d migrations (%d completed), %d compactions at once, %d panics recovered (%d hook, %d policy)",
				h.ops, h.migratingOps, h.migrations, h.finished, h.autos, h.panics, hookPanics, policyPanics)
			require.GreaterOrEqualf(t, h.autos+h.finished, 2, "%d compactions completed; want several, each with a panicking hook", h.autos+h.finished)
			require.Positivef(t, hookPanics, "hook panics")
			if panicky {
				require.Positivef(t, policyPanics, "policy panics")
			}
			if cfg.step != 0 {
				require.Positivef(t, h.migrations, "migrations")
			}
		})
	}
}

// TestModelPeakAfterHookPanicInSet is the minimal case TestModelPanics
// found: a Set that inserts a new key and completes a migration whose hook
// panics must still count the new entry in Peak.
func TestModelPeakAfterHookPanicInSet(t *testing.T) {
	armed := false
	m := New[int, int](
		WithPolicy(RatioPolicy{Threshold: 0.9}),
		WithIncremental(1<<20), // one step moves everything
		WithShrinkHook(func(ShrinkEvent) {
			if armed {
				panic(modelPanic("hook"))
			}
		}),
	)
	for i := range 2 * DefaultMinIncremental {
		m.Set(i, i)
	}
	for i := 0; !m.Stats().Migrating; i++ {
		m.Delete(i)
	}
	armed = true
	require.PanicsWithValue(t, modelPanic("hook"), func() { m.Set(-1, -1) }, "Set(-1) completing a migration: want the hook's panic")
	s := m.Stats()
	require.Falsef(t, s.Migrating, "after Set(-1) with a step of 1<<20: Stats().Migrating = true; want the migration complete")
	require.GreaterOrEqualf(t, s.Peak, s.Len, "after Set(-1) inserted an entry and its hook panicked: Stats() = %+v; want Peak >= Len", s)
}

// TestAllEndsWhenBodyAddsNaNs: ranging over a native map whose loop body
// adds a NaN key for each NaN key yielded ends (an entry added during
// iteration may or may not be yielded); so must ranging over All.
func TestAllEndsWhenBodyAddsNaNs(t *testing.T) {
	const limit = 100_000
	native := map[float64]int{}
	m := New[float64, int]()
	for i := range 3 {
		native[math.NaN()] = i
		m.Set(math.NaN(), i)
	}
	yields := 0
	for k, v := range native {
		if yields++; yields > limit {
			break
		}
		if k != k {
			native[math.NaN()] = v
		}
	}
	require.LessOrEqualf(t, yields, limit, "ranging over a native map of 3 NaN keys, adding a NaN per NaN yielded: %d yields and counting; want an end", yields)
	yields = 0
	for k, v := range m.All() {
		if yields++; yields > limit {
			break
		}
		if k != k {
			m.Set(math.NaN(), v)
		}
	}
	require.LessOrEqualf(t, yields, limit, "ranging over All of 3 NaN entries, adding a NaN per NaN yielded: %d yields (Len now %d) and counting; want an end, as with a native map", yields, m.Len())
}

// xs returns m's state, or an empty one if m has none yet.
func (m *ShrinkMap[K, V]) xs() *state[K, V] {
	if m.x == nil {
		return &state[K, V]{}
	}
	return m.x
}
