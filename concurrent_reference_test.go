package shrinkmap_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shrinkmap/shrinkmap"
)

// refKind is a kind of call that TestConcurrentMatchesReference makes.
type refKind int

const (
	refSet refKind = iota
	refGet
	refHas
	refDelete
	refGetOrSet
	refGetAndDelete
	refSwap
	refComputeUpdate // Compute whose function returns UpdateOp
	refComputeDelete // ... DeleteOp
	refComputeCancel // ... CancelOp
	refCompareAndSwap
	refCompareAndDelete
	refGetOrCompute
	refLen
	refStats
	refAll
	refDeleteFunc // of the worker's own keys whose value is a multiple of 4
	refShrink
	refClear // only when one worker runs: it removes the others' keys
	refKinds
)

var refNames = [refKinds]string{"Set", "Get", "Has", "Delete", "GetOrSet", "GetAndDelete", "Swap",
	"Compute/update", "Compute/delete", "Compute/cancel", "CompareAndSwap", "CompareAndDelete", "GetOrCompute",
	"Len", "Stats", "All", "DeleteFunc", "Shrink", "Clear"}

func (k refKind) String() string { return refNames[k] }

// refKeyed reports whether calls of kind k name a key, which may be
// present or absent.
func (k refKind) keyed() bool { return k <= refGetOrCompute }

// refGrow and refDrain weigh the kinds of call in a worker's two phases,
// out of about 10,000: a phase's own kinds take most of the calls, so that
// the live keys reach the phase's end, and iterations, Shrink and Clear,
// which take time in proportion to the map, are rare. Shrink comes only
// while the map grows, so that a drain runs from its peak to where the
// default policy compacts; Clear comes at the end of each drain.
var (
	refGrow = [refKinds]int{refSet: 2000, refGet: 800, refHas: 400, refDelete: 100, refGetOrSet: 1500, refGetAndDelete: 100, refSwap: 1500,
		refComputeUpdate: 1000, refComputeDelete: 50, refComputeCancel: 300, refCompareAndSwap: 400, refCompareAndDelete: 50, refGetOrCompute: 800,
		refLen: 200, refStats: 200, refAll: 20, refDeleteFunc: 4, refShrink: 6}
	refDrain = [refKinds]int{refSet: 50, refGet: 800, refHas: 400, refDelete: 2500, refGetOrSet: 50, refGetAndDelete: 2000, refSwap: 50,
		refComputeUpdate: 50, refComputeDelete: 1500, refComputeCancel: 300, refCompareAndSwap: 100, refCompareAndDelete: 1000, refGetOrCompute: 50,
		refLen: 200, refStats: 200, refAll: 20, refDeleteFunc: 10}
)

// refCounts counts the calls a run made by kind, split by whether their
// key was present, and what the map did meanwhile.
type refCounts struct {
	calls [refKinds][2]int // [kind][1 if the key was present]
	// matched counts the CompareAndSwap and CompareAndDelete calls that
	// found the value they compared with.
	matched [2]int
	// migratingCalls counts the calls after which Stats().Migrating was
	// set (one worker only: Stats is then exact).
	migratingCalls int
}

func (c *refCounts) add(o refCounts) {
	for k := range c.calls {
		c.calls[k][0] += o.calls[k][0]
		c.calls[k][1] += o.calls[k][1]
	}
	c.migratingCalls += o.migratingCalls
	c.matched[0] += o.matched[0]
	c.matched[1] += o.matched[1]
}

// refMap is the reference: a native map under a mutex, shared by the
// workers, each of which uses only its own keys.
type refMap struct {
	mu sync.Mutex
	m  map[int]int
}

// refWorker makes the given number of random calls on keys [lo, lo+span)
// of c and of ref, growing its live keys to 90% of span and draining them
// to 10% in turn, and checks every result against ref's. alone says it
// is the only worker: it then also calls Clear (at the end of each drain),
// and checks Len, Stats and whole iterations exactly; otherwise it checks
// what holds whatever the other workers do. It stops at the first
// mismatch, which it reports with t.Errorf, and returns what it counted.
func refWorker(t *testing.T, c *shrinkmap.Concurrent[int, int], ref *refMap, seed uint64, lo, span, calls, total int, alone bool) refCounts {
	var n refCounts
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	live, grow := 0, true
	pick := func(w *[refKinds]int) refKind {
		sum := 0
		for _, x := range w {
			sum += x
		}
		x := r.IntN(sum)
		for k, wk := range w {
			if x < wk {
				return refKind(k)
			}
			x -= wk
		}
		panic("unreachable")
	}
	fail := func(i int, kind refKind, k int, format string, args ...any) refCounts {
		t.Errorf("worker at %d, call %d (%v of %d): %s", lo, i, kind, k, fmt.Sprintf(format, args...))
		return n
	}
	for i := range calls {
		var kind refKind
		switch {
		case grow && live > span*9/10:
			grow = false
			kind = pick(&refDrain)
		case !grow && live < span/10:
			// A drain has ended: the next fill starts from nothing.
			grow, kind = true, refClear
			if !alone {
				kind = refShrink
			}
		case grow:
			kind = pick(&refGrow)
		default:
			kind = pick(&refDrain)
		}
		k, v := lo+r.IntN(span), r.IntN(1_000_000)
		ref.mu.Lock()
		old, had := ref.m[k]
		ref.mu.Unlock()
		if kind.keyed() {
			n.calls[kind][btoi(had)]++
		} else {
			n.calls[kind][0]++
		}
		// want is ref's result, got the map's, for the calls that return
		// a value and a bool.
		var got, want struct {
			v  int
			ok bool
		}
		set := func(v int) {
			ref.mu.Lock()
			ref.m[k] = v
			ref.mu.Unlock()
			if !had {
				live++
			}
		}
		del := func() {
			ref.mu.Lock()
			delete(ref.m, k)
			ref.mu.Unlock()
			if had {
				live--
			}
		}
		switch kind {
		case refSet:
			c.Set(k, v)
			set(v)
		case refGet:
			got.v, got.ok = c.Get(k)
			want.v, want.ok = old, had
		case refHas:
			got.ok, want.ok = c.Has(k), had
		case refDelete:
			c.Delete(k)
			del()
		case refGetOrSet:
			got.v, got.ok = c.GetOrSet(k, v)
			want.v, want.ok = old, had
			if !had {
				want.v = v
				set(v)
			}
		case refGetAndDelete:
			got.v, got.ok = c.GetAndDelete(k)
			want.v, want.ok = old, had
			del()
		case refSwap:
			got.v, got.ok = c.Swap(k, v)
			want.v, want.ok = old, had
			set(v)
		case refComputeUpdate, refComputeDelete, refComputeCancel:
			op := map[refKind]shrinkmap.ComputeOp{refComputeUpdate: shrinkmap.UpdateOp, refComputeDelete: shrinkmap.DeleteOp, refComputeCancel: shrinkmap.CancelOp}[kind]
			var fOld int
			var fLoaded, called bool
			got.v, got.ok = c.Compute(k, func(o int, loaded bool) (int, shrinkmap.ComputeOp) {
				fOld, fLoaded, called = o, loaded, true
				return o + v, op
			})
			if !called || fOld != old || fLoaded != had {
				return fail(i, kind, k, "called f(%d, %v) (called: %v); want f(%d, %v)", fOld, fLoaded, called, old, had)
			}
			switch op {
			case shrinkmap.UpdateOp:
				want.v, want.ok = old+v, true
				set(old + v)
			case shrinkmap.DeleteOp:
				del()
			default:
				want.v, want.ok = old, had
			}
		case refCompareAndSwap, refCompareAndDelete:
			// Half the calls compare with the value held, half with one
			// no key holds.
			cmp := old
			if r.IntN(2) == 0 {
				cmp = -1
			}
			want.ok = had && cmp == old
			if want.ok {
				n.matched[kind-refCompareAndSwap]++
			}
			if kind == refCompareAndSwap {
				got.ok = c.CompareAndSwap(k, cmp, v)
				if want.ok {
					set(v)
				}
			} else if got.ok = c.CompareAndDelete(k, cmp); want.ok {
				del()
			}
		case refGetOrCompute:
			called := false
			got.v, got.ok = c.GetOrCompute(k, func() int { called = true; return v })
			want.v, want.ok = old, had
			if !had {
				want.v = v
				set(v)
			}
			if called == had {
				return fail(i, kind, k, "called f: %v with the key present: %v; want f called only for an absent key", called, had)
			}
		case refDeleteFunc:
			removed, msg := refDeleteOwn(c, ref, lo, span)
			if msg != "" {
				return fail(i, kind, k, "%s", msg)
			}
			live -= removed
		case refLen:
			if l := c.Len(); alone && l != live || l < 0 || l > total {
				return fail(i, kind, k, "Len() = %d; want %d alone, or within [0, %d]", l, live, total)
			}
		case refStats:
			s := c.Stats()
			if alone && s.Len != live || s.Peak < s.Len || s.Len > total || !s.Migrating && s.MigrationLeft != 0 {
				return fail(i, kind, k, "Stats() = %+v; want Len %d alone (or at most %d), Peak >= Len and MigrationLeft 0 unless Migrating", s, live, total)
			}
		case refAll:
			if msg := refCheckAll(c, ref, lo, span, total, alone); msg != "" {
				return fail(i, kind, k, "%s", msg)
			}
		case refShrink:
			c.Shrink()
			if l := c.Len(); alone && l != live {
				return fail(i, kind, k, "Len() after Shrink() = %d; want %d", l, live)
			}
		case refClear:
			c.Clear()
			ref.mu.Lock()
			clear(ref.m)
			ref.mu.Unlock()
			live = 0
		}
		if got != want {
			return fail(i, kind, k, "returned %d, %v; want %d, %v", got.v, got.ok, want.v, want.ok)
		}
		if alone && c.Stats().Migrating {
			n.migratingCalls++
		}
	}
	return n
}

// refDeleteOwn calls DeleteFunc with a predicate that approves the keys of
// the worker's own range [lo, lo+span) whose value is a multiple of 4, and
// checks that it was called once for each own key, with ref's value (no
// other goroutine writes them), and that it left ref's own keys but those.
// It removes them from ref too and returns how many it removed, and what
// is wrong, or "".
func refDeleteOwn(c *shrinkmap.Concurrent[int, int], ref *refMap, lo, span int) (removed int, msg string) {
	own := func(k int) bool { return lo <= k && k < lo+span }
	approve := func(k, v int) bool { return own(k) && v%4 == 0 }
	want := make(map[int]int)
	ref.mu.Lock()
	for k, v := range ref.m {
		if own(k) {
			want[k] = v
		}
	}
	ref.mu.Unlock()
	seen := make(map[int]bool)
	c.DeleteFunc(func(k, v int) bool {
		if !own(k) {
			return false
		}
		if w, ok := want[k]; (!ok || w != v || seen[k]) && msg == "" {
			msg = fmt.Sprintf("DeleteFunc called its predicate with %d=%d (seen before: %v); want %d (present: %v), each key once", k, v, seen[k], w, ok)
		}
		seen[k] = true
		return approve(k, v)
	})
	if msg != "" {
		return 0, msg
	}
	if len(seen) != len(want) {
		return 0, fmt.Sprintf("DeleteFunc called its predicate for %d own keys; want all %d", len(seen), len(want))
	}
	ref.mu.Lock()
	defer ref.mu.Unlock()
	for k, v := range want {
		got, ok := c.Get(k)
		if approve(k, v) {
			delete(ref.m, k)
			removed++
		}
		if _, wantOK := ref.m[k]; ok != wantOK || ok && got != v {
			return removed, fmt.Sprintf("after DeleteFunc, Get(%d) = %d, %v; want %d, %v", k, got, ok, v, wantOK)
		}
	}
	return removed, ""
}

// refCheckAll checks an iteration over c against ref: every key of the
// worker's own range [lo, lo+span) yielded once with ref's value, and no
// other key of it, since no other goroutine writes them; every other key
// at most once and within [0, total), or, if alone, exactly ref's pairs.
// It returns what is wrong, or "".
func refCheckAll(c *shrinkmap.Concurrent[int, int], ref *refMap, lo, span, total int, alone bool) string {
	own := make(map[int]int)
	ref.mu.Lock()
	for k, v := range ref.m {
		if alone || lo <= k && k < lo+span {
			own[k] = v
		}
	}
	ref.mu.Unlock()
	seen := make(map[int]bool)
	for k, v := range c.All() {
		if seen[k] {
			return fmt.Sprintf("All() yielded key %d twice", k)
		}
		seen[k] = true
		if k < 0 || k >= total {
			return fmt.Sprintf("All() yielded key %d, outside [0, %d)", k, total)
		}
		if !alone && (k < lo || k >= lo+span) {
			continue
		}
		if w, ok := own[k]; !ok || w != v {
			return fmt.Sprintf("All() yielded %d=%d; want %d (present: %v)", k, v, w, ok)
		}
		delete(own, k)
	}
	if len(own) > 0 {
		return fmt.Sprintf("All() missed %d keys present throughout", len(own))
	}
	return ""
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestConcurrentMatchesReference makes random calls of every kind on a
// Concurrent and on a native map under a mutex and checks every result
// against the reference's: from one goroutine, which also checks Len,
// Stats and whole iterations exactly and calls Clear, and from several on
// disjoint key ranges. It counts the calls by kind, each with its key
// present and absent, and the compactions, and fails if any never ran.
func TestConcurrentMatchesReference(t *testing.T) {
	calls := 100_000
	if shrinkmap.RaceEnabled || testing.Short() {
		calls = 20_000
	}
	for _, cfg := range []struct {
		name string
		opts []shrinkmap.Option
		// compacts says the parallel runs compact too: the policy
		// compacts whenever the map may. (The default policy waits for
		// the whole map to drain to a quarter, which workers out of
		// phase seldom do.)
		compacts  bool
		migrating bool // the single worker finds the map mid-resize
	}{
		{name: "default"},
		{name: "always/step=1", opts: []shrinkmap.Option{shrinkmap.WithPolicy(always), shrinkmap.WithIncremental(1)}, compacts: true, migrating: true},
		{name: "always/step=0/stripes=1", opts: []shrinkmap.Option{shrinkmap.WithPolicy(always), shrinkmap.WithIncremental(0), shrinkmap.WithCounterStripes(1)}, compacts: true},
	} {
		for _, workers := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/workers=%d", cfg.name, workers), func(t *testing.T) {
				var autos, incremental atomic.Int64
				c := shrinkmap.NewConcurrent[int, int](append(cfg.opts, shrinkmap.WithShrinkHook(func(e shrinkmap.ShrinkEvent) {
					if !e.Manual {
						autos.Add(1)
						if e.Incremental {
							incremental.Add(1)
						}
					}
				}))...)
				ref := &refMap{m: make(map[int]int)}
				span := calls / 40 / workers // about four fills and drains a run
				total := span * workers
				counts := make([]refCounts, workers)
				var wg sync.WaitGroup
				for w := range workers {
					goWait(&wg, func() {
						counts[w] = refWorker(t, c, ref, uint64(w+1), w*span, span, calls/workers, total, workers == 1)
					})
				}
				wg.Wait()
				if t.Failed() {
					return
				}
				if msg := refCheckAll(c, ref, 0, total, total, true); msg != "" {
					t.Fatalf("after the workers finished: %s", msg)
				}
				if c.Len() != len(ref.m) {
					t.Fatalf("Len() after the workers finished = %d; want %d", c.Len(), len(ref.m))
				}

				var sum refCounts
				for _, n := range counts {
					sum.add(n)
				}
				t.Logf("calls by kind [key absent, present]: %v; %v CompareAndSwap, CompareAndDelete matched; %d calls mid-resize; %d automatic compactions, %d incremental; %+v",
					sum.calls, sum.matched, sum.migratingCalls, autos.Load(), incremental.Load(), c.Stats())
				for k := range refKinds {
					switch {
					case k == refClear && workers > 1:
					case k.keyed() && (sum.calls[k][0] == 0 || sum.calls[k][1] == 0):
						t.Errorf("%v calls with the key absent, present: %v; want some of each", k, sum.calls[k])
					case sum.calls[k][0]+sum.calls[k][1] == 0:
						t.Errorf("no %v call", k)
					}
				}
				if sum.matched[0] == 0 || sum.matched[1] == 0 {
					t.Errorf("CompareAndSwap, CompareAndDelete calls that found the value they compared with: %v; want some of each", sum.matched)
				}
				if workers == 1 || cfg.compacts {
					if autos.Load() == 0 {
						t.Errorf("no automatic compaction")
					}
				}
				if cfg.migrating && incremental.Load() == 0 {
					t.Errorf("no incremental compaction")
				}
				if cfg.migrating && workers == 1 && sum.migratingCalls == 0 {
					t.Errorf("no call found the map resizing")
				}
			})
		}
	}
}
