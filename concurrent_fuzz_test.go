package shrinkmap

import (
	"maps"
	"math"
	"slices"
	"testing"
)

// FuzzConcurrent drives a Concurrent map from one goroutine with an
// operation stream decoded from the fuzz input, and checks every result,
// Len, and now and then the whole contents, against a native map: the
// reference for keys equal to themselves and for NaN keys alike, and
// after every operation it verifies the table's invariants (see
// table.Verifier). The first bytes pick the configuration, among them a
// step of one bucket and a policy that compacts whenever it may, so that
// operations meet the table in the middle of growths and compactions.
// Keys are few (32 values and NaN), so that buckets fill, chain and empty
// again.
func FuzzConcurrent(f *testing.F) {
	for _, seed := range fuzzConcurrentSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzConcurrentInput(t, data) })
}

// fuzzConcurrentInput runs one input of FuzzConcurrent and returns what it
// exercised.
func fuzzConcurrentInput(t *testing.T, data []byte) concFuzzCoverage {
	var cov concFuzzCoverage
	in := &concFuzzIn{data: data}
	opts := []Option{WithCounterStripes(1 << (in.byte() % 3))}
	switch in.byte() % 3 {
	case 0:
		opts = append(opts, WithPolicy(concAlways))
	case 1:
		opts = append(opts, WithPolicy(RatioPolicy{Threshold: 0.5}))
	default:
		opts = append(opts, WithPolicy(Never()))
	}
	opts = append(opts, WithIncremental(int(in.byte()%9)), WithCapacity(int(in.byte()%40)),
		WithShrinkHook(func(e ShrinkEvent) {
			if !e.Manual {
				cov.autos++
			}
		}))
	// Each input runs on a map of float64 keys, with NaNs among them, in
	// the entry layout, and again on one of int keys, in the word layout.
	ops := in.pos
	fuzzConcurrent(t, in, NewConcurrent[float64, int](opts...), floatKey, &cov)
	in.pos = ops
	fuzzConcurrent(t, in, NewConcurrent[int, int](opts...), intKey, &cov)
	return cov
}

// floatKey and intKey are the keys FuzzConcurrent decodes from a key byte:
// 32 keys, and for floatKey NaN from 250 up.
func floatKey(kb byte) float64 {
	if kb >= 250 {
		return math.NaN()
	}
	return float64(kb % 32)
}

func intKey(kb byte) int { return int(kb % 32) }

// concFuzzOps is the number of operation kinds FuzzConcurrent decodes: an
// operation byte's value modulo concFuzzOps (see fuzzConcurrentOp).
const concFuzzOps = 16

// concFuzzCoverage counts what FuzzConcurrent inputs exercised, for
// TestFuzzSeedsCover.
type concFuzzCoverage struct {
	ops      [concFuzzOps]int // operations by op % concFuzzOps
	computes [3]int           // Compute calls by the ComputeOp their function returned
	// matched counts the CompareAndSwap and CompareAndDelete calls that
	// found the value they compared with.
	matched  [2]int
	removals int // entries DeleteFunc removed
	shrinks  int // Shrink calls
	clears   int // Clear calls
	nans     int // operations on a NaN key
	autos    int // compactions the policy started
	mid      int // operations after which the map was resizing
	wordOps  int // operations on a map of the word layout
	inputs   int
}

func (c *concFuzzCoverage) add(o concFuzzCoverage) {
	for i := range c.ops {
		c.ops[i] += o.ops[i]
	}
	for i := range c.computes {
		c.computes[i] += o.computes[i]
	}
	c.matched[0] += o.matched[0]
	c.matched[1] += o.matched[1]
	c.removals += o.removals
	c.shrinks += o.shrinks
	c.clears += o.clears
	c.nans += o.nans
	c.autos += o.autos
	c.mid += o.mid
	c.wordOps += o.wordOps
	c.inputs++
}

// concFuzzIn reads a fuzz input a byte at a time, zeros past its end.
type concFuzzIn struct {
	data []byte
	pos  int
}

func (in *concFuzzIn) more() bool { return in.pos < len(in.data) }

func (in *concFuzzIn) byte() byte {
	if !in.more() {
		return 0
	}
	in.pos++
	return in.data[in.pos-1]
}

func fuzzConcurrent[K comparable](t *testing.T, in *concFuzzIn, c *Concurrent[K, int], key func(kb byte) K, cov *concFuzzCoverage) {
	model := make(map[K]int)
	verify := newConcVerifier(c)
	for step := 0; in.more(); step++ {
		op, kb := in.byte(), in.byte()
		k := key(kb)
		op %= concFuzzOps
		cov.ops[op]++
		if k != k {
			cov.nans++
		}
		switch {
		case op == 9:
			cov.computes[step%3]++
		case op == 10 && kb%8 == 0:
			cov.shrinks++
		case op == 10 && kb%8 == 1:
			cov.clears++
		}
		n := len(model)
		got, want := fuzzConcurrentOp(t, step, op, kb, k, c, model)
		if got != want {
			t.Fatalf("step %d: op %d on key %v = %v; want %v", step, op, k, got, want)
		}
		switch {
		case op == 12 && got.ok:
			cov.matched[0]++
		case op == 13 && got.ok:
			cov.matched[1]++
		case op == 15:
			cov.removals += n - len(model)
		}
		if c.Len() != len(model) {
			t.Fatalf("step %d: Len() = %d after op %d on key %v; want %d", step, c.Len(), op, k, len(model))
		}
		verify.quiet(t, "step %d, op %d on key %v", step, op, k)
		if c.table.Words() {
			cov.wordOps++
		}
		if c.Stats().Migrating {
			cov.mid++
		}
	}
	fuzzConcurrentSame(t, -1, c, model)
}

// fuzzResult is what a call returned: a value and whether it was found.
type fuzzResult struct {
	v  int
	ok bool
}

// fuzzConcurrentOp applies op to key k, with value step, on c and model,
// and returns the result c gave and the one model gives; kb is the key's
// byte, which also picks among Shrink and Clear, the value that
// CompareAndSwap and CompareAndDelete compare with (the key's if bit 5 is
// clear) and DeleteFunc's predicate (values kb mod 3 modulo 3).
func fuzzConcurrentOp[K comparable](t *testing.T, step int, op, kb byte, k K, c *Concurrent[K, int], model map[K]int) (got, want fuzzResult) {
	v := step
	old, had := model[k]
	switch op {
	case 0, 1, 2:
		c.Set(k, v)
		model[k] = v
	case 3:
		got.v, got.ok = c.Get(k)
		want = fuzzResult{old, had}
	case 4, 5:
		c.Delete(k)
		delete(model, k)
	case 6:
		got.v, got.ok = c.GetOrSet(k, v)
		want = fuzzResult{old, had}
		if !had {
			model[k] = v
			want.v = v
		}
	case 7:
		got.v, got.ok = c.GetAndDelete(k)
		delete(model, k)
		want = fuzzResult{old, had}
	case 8:
		got.v, got.ok = c.Swap(k, v)
		model[k] = v
		want = fuzzResult{old, had}
	case 9:
		got.v, got.ok = c.Compute(k, func(o int, loaded bool) (int, ComputeOp) {
			if loaded != had || o != old {
				t.Fatalf("step %d: Compute(%v) called f(%d, %v); want f(%d, %v)", step, k, o, loaded, old, had)
			}
			return v, ComputeOp(v % 3)
		})
		switch ComputeOp(v % 3) {
		case CancelOp:
			want = fuzzResult{old, had}
		case UpdateOp:
			model[k] = v
			want = fuzzResult{v, true}
		case DeleteOp:
			delete(model, k)
		}
	case 10:
		if kb%8 == 0 {
			c.Shrink()
		} else if kb%8 == 1 {
			c.Clear()
			clear(model)
		}
	case 11:
		fuzzConcurrentSame(t, step, c, model)
	case 12:
		got.ok = c.CompareAndSwap(k, fuzzCompared(kb, old), v)
		want.ok = had && kb&32 == 0
		if want.ok {
			model[k] = v
		}
	case 13:
		got.ok = c.CompareAndDelete(k, fuzzCompared(kb, old))
		want.ok = had && kb&32 == 0
		if want.ok {
			delete(model, k)
		}
	case 14:
		called := false
		got.v, got.ok = c.GetOrCompute(k, func() int { called = true; return v })
		want = fuzzResult{old, had}
		if !had {
			model[k] = v
			want.v = v
		}
		if called == had {
			t.Fatalf("step %d: GetOrCompute(%v) with the key present %v called f: %v; want f called only for an absent key", step, k, had, called)
		}
	case 15:
		del := func(_ K, v int) bool { return v%3 == int(kb%3) }
		c.DeleteFunc(del)
		maps.DeleteFunc(model, del)
		fuzzConcurrentSame(t, step, c, model)
	}
	return got, want
}

// fuzzCompared returns the value CompareAndSwap and CompareAndDelete
// compare with: the key's value old if bit 5 of the key byte kb is clear,
// else one that no entry holds.
func fuzzCompared(kb byte, old int) int {
	if kb&32 == 0 {
		return old
	}
	return -1
}

// fuzzConcurrentSame fails unless All yields model's pairs: those of keys
// equal to themselves once each, and the values of NaN entries as a
// multiset.
func fuzzConcurrentSame[K comparable](t *testing.T, step int, c *Concurrent[K, int], model map[K]int) {
	t.Helper()
	var gotNaN, wantNaN []int
	got := make(map[K]int)
	for k, v := range c.All() {
		if k != k {
			gotNaN = append(gotNaN, v)
			continue
		}
		if _, dup := got[k]; dup {
			t.Fatalf("step %d: All() yielded %v twice", step, k)
		}
		got[k] = v
	}
	for k, v := range model {
		if k != k {
			wantNaN = append(wantNaN, v)
		} else if g, ok := got[k]; !ok || g != v {
			t.Fatalf("step %d: All() yielded %v=%d (present %v); want %d", step, k, g, ok, v)
		}
	}
	slices.Sort(gotNaN)
	slices.Sort(wantNaN)
	if len(got)+len(gotNaN) != len(model) || !slices.Equal(gotNaN, wantNaN) {
		t.Fatalf("step %d: All() yielded %d pairs, NaN values %v; want %d, %v", step, len(got)+len(gotNaN), gotNaN, len(model), wantNaN)
	}
}

// fuzzConcurrentSeeds returns inputs that fill and drain the map under
// each configuration, with NaN keys among them.
func fuzzConcurrentSeeds() [][]byte {
	var seeds [][]byte
	for cfg := range 3 {
		seed := []byte{byte(cfg), byte(cfg), 1, 0}
		for k := range 32 {
			seed = append(seed, 0, byte(k)) // Set
		}
		seed = append(seed, 0, 255, 6, 251, 11, 0) // Set(NaN), GetOrSet(NaN), All
		for k := range 32 {
			seed = append(seed, 4, byte(k), 3, byte(k)) // Delete, Get
		}
		// Check, Shrink, Clear, three Computes in a row (whose functions
		// return each ComputeOp in turn), Swap, GetAndDelete, check.
		seed = append(seed, 11, 0, 10, 8, 10, 1, 9, 2, 9, 4, 9, 6, 8, 3, 7, 3, 11, 0)
		// GetOrCompute of absent and present keys, CompareAndSwap and
		// CompareAndDelete with the value held and with another one, on
		// a present key and on an absent one, then a DeleteFunc of a
		// third of the values, one of the NaN entry too.
		for k := range byte(12) {
			seed = append(seed, 14, k, 14, k)
		}
		seed = append(seed, 14, 250, 12, 1, 12, 2|32, 12, 20, 13, 3, 13, 4|32, 13, 21, 15, 0, 15, 1, 11, 0)
		seeds = append(seeds, seed)
	}
	return seeds
}
