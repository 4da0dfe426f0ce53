package shrinkmap

import (
	"maps"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"testing/quick"
)

// TestConcurrentMatchesReference applies random call sequences to a
// Concurrent and to a native map under a mutex, and compares the results.

// concCall is one call in a random sequence applied by concApply.
type concCall struct {
	Op, Key, Val int
}

const concOps = 10

// Generate makes random calls on a few keys, so that sequences revisit
// them, with Shrink and Clear rare.
func (concCall) Generate(r *rand.Rand, _ int) reflect.Value {
	c := concCall{Op: r.IntN(concOps), Key: r.IntN(40), Val: r.IntN(1000)}
	if (c.Op == 8 || c.Op == 9) && r.IntN(8) != 0 {
		c.Op = 0
	}
	return reflect.ValueOf(c)
}

// concRef is the reference implementation: a native map under a mutex.
type concRef struct {
	mu sync.Mutex
	m  map[int]int
}

// concResult is what one call returned.
type concResult struct {
	V  int
	OK bool
}

// applyConcurrent applies calls to a Concurrent map made with opts, checking
// its table's invariants after each, and returns each call's result and the
// final contents.
func applyConcurrent(t *testing.T, opts []Option, calls []concCall) ([]concResult, map[int]int) {
	c := NewConcurrent[int, int](opts...)
	verify := newConcVerifier(c)
	res := make([]concResult, len(calls))
	for i, call := range calls {
		var r concResult
		switch k, v := call.Key, call.Val; call.Op {
		case 0:
			c.Set(k, v)
		case 1:
			r.V, r.OK = c.Get(k)
		case 2:
			c.Delete(k)
		case 3:
			r.V, r.OK = c.GetOrSet(k, v)
		case 4:
			r.V, r.OK = c.GetAndDelete(k)
		case 5:
			r.V, r.OK = c.Swap(k, v)
		case 6:
			r.V, r.OK = c.Compute(k, func(old int, loaded bool) (int, ComputeOp) {
				switch {
				case !loaded:
					return v, UpdateOp
				case old%3 == 0:
					return 0, DeleteOp
				case old%3 == 1:
					return old + v, UpdateOp
				}
				return 0, CancelOp
			})
		case 7:
			r.V, r.OK = c.Len(), c.Has(k)
		case 8:
			c.Shrink()
		case 9:
			c.Clear()
		}
		verify.quiet(t, "call %d, %+v", i, call)
		res[i] = r
	}
	return res, maps.Collect(c.All())
}

// applyRef applies calls to the reference map.
func applyRef(calls []concCall) ([]concResult, map[int]int) {
	ref := &concRef{m: make(map[int]int)}
	res := make([]concResult, len(calls))
	for i, call := range calls {
		ref.mu.Lock()
		var r concResult
		k, v := call.Key, call.Val
		old, had := ref.m[k]
		switch call.Op {
		case 0:
			ref.m[k] = v
		case 1:
			r.V, r.OK = old, had
		case 2:
			delete(ref.m, k)
		case 3:
			if !had {
				ref.m[k] = v
				old = v
			}
			r.V, r.OK = old, had
		case 4:
			delete(ref.m, k)
			r.V, r.OK = old, had
		case 5:
			ref.m[k] = v
			r.V, r.OK = old, had
		case 6:
			switch {
			case !had:
				ref.m[k] = v
				r.V, r.OK = v, true
			case old%3 == 0:
				delete(ref.m, k)
			case old%3 == 1:
				ref.m[k] = old + v
				r.V, r.OK = old+v, true
			default:
				r.V, r.OK = old, true
			}
		case 7:
			r.V, r.OK = len(ref.m), had
		case 8:
		case 9:
			clear(ref.m)
		}
		ref.mu.Unlock()
		res[i] = r
	}
	return res, ref.m
}

// TestConcurrentMatchesReference checks with testing/quick that random
// call sequences give the same results, call by call, and leave the same
// contents, on Concurrent and on a native map under a mutex, also when the
// table is forced through resizes.
func TestConcurrentMatchesReference(t *testing.T) {
	cfg := &quick.Config{MaxCount: concSize(500, 100)}
	for name, opts := range map[string][]Option{
		"default": nil,
		"forced":  concForced,
		"stw":     {WithPolicy(concAlways), WithIncremental(0), WithCounterStripes(1)},
	} {
		t.Run(name, func(t *testing.T) {
			f := func(calls []concCall) ([]concResult, map[int]int) { return applyConcurrent(t, opts, calls) }
			if err := quick.CheckEqual(f, applyRef, cfg); err != nil {
				t.Error(err)
			}
		})
	}
}
