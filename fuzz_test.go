package shrinkmap

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzShrinkMap decodes an operation stream from the fuzz input and runs it
// on a ShrinkMap and on a plain map through the model tests' harness, which
// checks Get, Len, Stats, the hook and the policy after every operation and
// compares whole contents after every decoded operation.
//
// The input starts with four configuration bytes:
//
//	0: policy, mod 5: RatioPolicy{0.9, 0}, WastedBytesPolicy{0}, a PolicyFunc
//	   that always agrees, Never, the default
//	1: incremental step, mod 5: 1, 7, 64, the default, 0 (copy at once)
//	2: bit 7: WithCapacity((bits 0-4) * 128); bit 6: the hook panics on every
//	   other call; bit 5: the policy panics on every third call
//	3: key type: even uint16, odd float64 (NaN operations on)
//
// and goes on with operations, one byte each, followed by their arguments
// (see fuzzRun). Single-byte keys force overwrites and deletes of present
// keys; fill and drain operations move thousands of keys at once, so that a
// short input reaches DefaultMinIncremental live entries, compactions and
// long migrations.
func FuzzShrinkMap(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzShrinkMap(t, data) })
}

// fuzzShrinkMap runs one input of FuzzShrinkMap and returns what it
// exercised.
func fuzzShrinkMap(t *testing.T, data []byte) fuzzCoverage {
	in := &fuzzInput{data: data}
	cfg := fuzzConfig(in)
	if in.byte()&1 == 0 {
		return fuzzRun(t, in, modelKeys[uint16]{name: "uint16", key: func(id int) uint16 { return uint16(id) }}, cfg)
	}
	return fuzzRun(t, in, modelKeys[float64]{name: "float64", key: func(id int) float64 { return float64(uint16(id)) }, nan: fuzzNaN}, cfg)
}

// fuzzCoverage counts what FuzzShrinkMap inputs exercised, for
// TestFuzzSeedsCover.
type fuzzCoverage struct {
	ops    [16]int            // operations by their low 4 bits
	sweeps int                // fuzzCheck operations that swept
	clears int                // fuzzClear operations that cleared
	body   [fuzzBodyKinds]int // loop-body actions by kind
	floats int                // inputs with float64 keys
	// deleteFuncs counts the fuzzClear operations that called DeleteFunc
	// and deleteFuncRemoved the entries these removed.
	deleteFuncs, deleteFuncRemoved int
	// hookPanics and policyPanics count the calls told to panic.
	hookPanics, policyPanics int

	// harness holds the model harness's counts.
	harness struct {
		ops, migratingOps, migrations, finished, autos, panics, nanSets, iterations, pulls, sweepEnds int
	}
}

func (c *fuzzCoverage) add(o fuzzCoverage) {
	for i := range c.ops {
		c.ops[i] += o.ops[i]
	}
	for i := range c.body {
		c.body[i] += o.body[i]
	}
	c.sweeps += o.sweeps
	c.clears += o.clears
	c.deleteFuncs += o.deleteFuncs
	c.deleteFuncRemoved += o.deleteFuncRemoved
	c.floats += o.floats
	c.hookPanics += o.hookPanics
	c.policyPanics += o.policyPanics
	h, oh := &c.harness, o.harness
	h.ops += oh.ops
	h.migratingOps += oh.migratingOps
	h.migrations += oh.migrations
	h.finished += oh.finished
	h.autos += oh.autos
	h.panics += oh.panics
	h.nanSets += oh.nanSets
	h.iterations += oh.iterations
	h.pulls += oh.pulls
	h.sweepEnds += oh.sweepEnds
}

func fuzzNaN(*rand.Rand) float64 { return math.NaN() }

// fuzzInput reads the fuzz input; past its end it reads zeros.
type fuzzInput struct {
	data []byte
	pos  int
}

func (in *fuzzInput) more() bool { return in.pos < len(in.data) }

func (in *fuzzInput) byte() byte {
	if !in.more() {
		return 0
	}
	in.pos++
	return in.data[in.pos-1]
}

// next returns the next n bytes (fewer at the end) as an input of their own.
func (in *fuzzInput) next(n int) *fuzzInput {
	n = min(n, len(in.data)-in.pos)
	in.pos += n
	return &fuzzInput{data: in.data[in.pos-n : in.pos]}
}

func (in *fuzzInput) uint16() int {
	return int(in.byte())<<8 | int(in.byte())
}

// fuzzConfig decodes the first three configuration bytes.
func fuzzConfig(in *fuzzInput) modelConfig {
	cfg := modelConfig{name: "fuzz"}
	switch in.byte() % 5 {
	case 0:
		cfg.policy = RatioPolicy{Threshold: 0.9}
	case 1:
		cfg.policy = WastedBytesPolicy{}
	case 2:
		cfg.policy = PolicyFunc(func(Stats) bool { return true })
	case 3:
		cfg.policy = Never()
	}
	cfg.step = [...]int{1, 7, 64, modelDefaultStep, 0}[in.byte()%5]
	flags := in.byte()
	if flags&0x80 != 0 {
		cfg.capacity = int(flags&0x1f) * 128
	}
	if flags&0x40 != 0 {
		cfg.hookPanics = func(n int) bool { return n%2 == 0 }
	}
	if flags&0x20 != 0 {
		cfg.policyPanics = func(n int) bool { return n%3 == 0 }
	}
	return cfg
}

// Fuzz operations: the low 4 bits of an operation byte; the high 4 bits
// refine some of them.
const (
	fuzzSet    = iota // key byte: Set
	fuzzSet2          // key byte: Set
	fuzzDelete        // key byte: Delete
	fuzzGet           // key byte: Get, or Has if bit 4
	fuzzNaN1          // Set(NaN) for float64 keys; Set(key byte) for uint16
	fuzzNaN2          // Get(NaN), Has(NaN) or Delete(NaN); for uint16, Delete(key byte)
	fuzzFill          // n, start (2 bytes each): Set start .. start+n-1 (n mod 1<<15, +1)
	fuzzDrain         // n (2 bytes): Delete up to n present keys
	fuzzShrink        // Shrink
	fuzzClear         // Clear if the high bits are 0; if 1, mod, rem (1 byte each): DeleteFunc of the values rem mod (mod % 16), none for mod 0; else Get(key byte)
	fuzzAll           // n (1 byte), n body bytes: range over All, each yield reading body bytes (see fuzzBody)
	fuzzPull          // the same through iter.Pull2
	fuzzGets          // n, key (1 byte each): Get(key) n times, which must not move a migration along
	fuzzClone         // compare a Clone
	fuzzChurn         // n (1 byte), start (2 bytes): n times Set(start+i) and Delete(start+i/2)
	fuzzCheck         // compare the whole content now if the high bits are 0; else sweep (see modelHarness.sweep) keeping one in (high bits)
)

// fuzzMaxOps bounds the map operations one input runs.
const fuzzMaxOps = 1 << 17

// fuzzRun decodes and runs operations until the input ends, and returns
// what they exercised.
func fuzzRun[K comparable](t *testing.T, in *fuzzInput, keys modelKeys[K], cfg modelConfig) fuzzCoverage {
	var cov fuzzCoverage
	if keys.nan != nil {
		cov.floats = 1
	}
	cfg.hookPanics = countingPanics(cfg.hookPanics, &cov.hookPanics)
	cfg.policyPanics = countingPanics(cfg.policyPanics, &cov.policyPanics)
	h := newModelHarness(t, keys, cfg)
	key := func() K { return keys.key(int(in.byte())) }
	budget := func(n int) int { return max(0, min(n, fuzzMaxOps-h.ops)) }
	for in.more() && h.ops < fuzzMaxOps {
		op := in.byte()
		cov.ops[op&0xf]++
		switch op & 0xf {
		case fuzzSet, fuzzSet2:
			h.set(key())
		case fuzzDelete:
			h.del(key())
		case fuzzGet:
			h.get(key(), op&0x10 != 0)
		case fuzzNaN1:
			if keys.nan == nil {
				h.set(key())
			} else {
				h.set(keys.nan(nil))
			}
		case fuzzNaN2:
			switch {
			case keys.nan == nil:
				h.del(key())
			case op&0x30 == 0:
				h.del(keys.nan(nil))
			default:
				h.get(keys.nan(nil), op&0x10 != 0)
			}
		case fuzzFill:
			n, start := in.uint16()&0x7fff+1, in.uint16()
			for i := range budget(n) {
				h.set(keys.key(start + i))
			}
		case fuzzDrain:
			for range budget(in.uint16()) {
				if len(h.list) == 0 {
					break
				}
				h.del(h.list[len(h.list)-1])
			}
		case fuzzShrink:
			h.shrink()
		case fuzzClear:
			switch op >> 4 {
			case 0:
				cov.clears++
				h.clear()
			case 1:
				mod := int(in.byte() % 16)
				cov.deleteFuncs++
				h.deleteFunc(mod, int(in.byte())%max(mod, 1))
			default:
				h.get(key(), false)
			}
		case fuzzAll, fuzzPull:
			body := in.next(int(in.byte()))
			bodyKey := func() K { return keys.key(int(body.byte())) }
			h.iterate(op&0xf == fuzzPull, func(k K, _, _ int) modelAct {
				return fuzzBody(h, body, bodyKey, k, op&0xf == fuzzPull, &cov)
			})
		case fuzzGets:
			n, k := int(in.byte()), key()
			for range budget(n) {
				h.get(k, false)
			}
		case fuzzClone:
			(&modelDriver[K]{modelHarness: h}).checkClone()
		case fuzzChurn:
			n, start := int(in.byte()), in.uint16()
			for i := range budget(n / 2) {
				h.set(keys.key(start + i))
				h.del(keys.key(start + i/2))
			}
		}
		if op&0xf == fuzzCheck && op>>4 != 0 {
			cov.sweeps++
			h.sweep(int(op >> 4))
		}
		if h.len() <= 4096 || op&0xf == fuzzCheck {
			h.checkAll()
		}
	}
	h.checkAll()
	t.Logf("%s keys: %d ops (%d mid-migration), %d migrations (%d completed), %d compactions at once, %d iterations, %d panics recovered",
		keys.name, h.ops, h.migratingOps, h.migrations, h.finished, h.autos, h.iterations, h.panics)
	cov.harness.ops, cov.harness.migratingOps, cov.harness.migrations, cov.harness.finished = h.ops, h.migratingOps, h.migrations, h.finished
	cov.harness.autos, cov.harness.panics, cov.harness.nanSets = h.autos, h.panics, h.nanSets
	cov.harness.iterations, cov.harness.pulls, cov.harness.sweepEnds = h.iterations, h.pulls, h.sweepEnds
	cov.deleteFuncRemoved = h.deleteFuncRemoved
	return cov
}

// countingPanics returns panics (a modelConfig's hookPanics or
// policyPanics), counting in *n the calls it returns true for; nil if
// panics is nil.
func countingPanics(panics func(int) bool, n *int) func(int) bool {
	if panics == nil {
		return nil
	}
	return func(i int) bool {
		p := panics(i)
		if p {
			*n++
		}
		return p
	}
}

// fuzzBody runs the loop body for one entry yielded by an iteration at k,
// as the next body byte b says (nothing once the body bytes are used up): b mod 8 is 0-1 nothing, 2 Set(key byte),
// 3 Set(k), 4 Delete(k), 5 Delete(key byte), 6 Shrink if b>>3 is 0, Clear
// if 1, else Get(k), 7 break, or panic if b is 0xff (and not pulled).
func fuzzBody[K comparable](h *modelHarness[K], in *fuzzInput, key func() K, k K, pull bool, cov *fuzzCoverage) modelAct {
	if !in.more() {
		return actContinue
	}
	b := in.byte()
	kind := fuzzBodyNothing
	defer func() { cov.body[kind]++ }()
	switch b % 8 {
	case 2:
		kind = fuzzBodySetKey
		h.set(key())
	case 3:
		kind = fuzzBodySet
		if k == k {
			h.set(k)
		}
	case 4:
		kind = fuzzBodyDelete
		h.del(k)
	case 5:
		kind = fuzzBodyDeleteKey
		h.del(key())
	case 6:
		switch b >> 3 {
		case 0:
			kind = fuzzBodyShrink
			h.shrink()
		case 1:
			kind = fuzzBodyClear
			h.clear()
		default:
			kind = fuzzBodyGet
			h.get(k, false)
		}
	case 7:
		if b == 0xff && !pull {
			kind = fuzzBodyPanic
			return actPanic
		}
		kind = fuzzBodyBreak
		return actBreak
	}
	return actContinue
}

// Loop-body actions, as fuzzBody counts them.
const (
	fuzzBodyNothing = iota
	fuzzBodySetKey
	fuzzBodySet
	fuzzBodyDelete
	fuzzBodyDeleteKey
	fuzzBodyShrink
	fuzzBodyClear
	fuzzBodyGet
	fuzzBodyBreak
	fuzzBodyPanic
	fuzzBodyKinds
)

// fuzzOps builds fuzz inputs for seeds.
type fuzzOps []byte

func (b fuzzOps) op(op byte, args ...byte) fuzzOps { return append(append(b, op), args...) }

func (b fuzzOps) fill(n, start int) fuzzOps {
	return b.op(fuzzFill, binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, uint16(n-1)), uint16(start))...)
}

func (b fuzzOps) drain(n int) fuzzOps {
	return b.op(fuzzDrain, binary.BigEndian.AppendUint16(nil, uint16(n))...)
}

// fuzzSeeds returns inputs that reach each part of the map quickly:
// migrations of every step with iterations, Shrink and Clear mid-way, a
// stop-the-world compaction, NaN keys, panicking hooks and policies, and
// plain mixed operations on a few keys.
func fuzzSeeds() [][]byte {
	// body runs an iteration whose first yields mutate the map.
	body := []byte{10, 2, 7, 3, 4, 5, 9, 0, 6 | 2<<3, 2, 11}
	migrate := func(cfg ...byte) []byte {
		return fuzzOps(cfg).fill(16384, 0).drain(2100).
			op(fuzzSet, 1).op(fuzzGet, 2).op(fuzzDelete, 3).op(fuzzNaN1).op(fuzzNaN2).
			op(fuzzAll, body...).op(fuzzPull, body...).op(fuzzGets, 200, 5).
			op(fuzzChurn, 255, 0x40, 0).op(fuzzClone).op(fuzzClear|1<<4, 7, 3).drain(2000).op(fuzzCheck).
			op(fuzzClear|1<<4, 0, 0).op(fuzzClear|1<<4, 1, 0)
	}
	mixed := fuzzOps{4, 3, 0, 1}
	for i := range 64 {
		mixed = mixed.op(byte(i*37)&0xf|byte(i)<<4, byte(i*11), byte(i*7), byte(i*5))
	}
	return [][]byte{
		migrate(0, 0, 0, 0),    // ratio, step 1
		migrate(1, 1, 0, 1),    // wasted bytes, step 7, float64 keys
		migrate(2, 2, 0x60, 0), // always, step 64, panicking hook and policy
		migrate(0, 3, 0x84, 1), // ratio, default step, capacity 512, float64 keys
		migrate(2, 4, 0, 0),    // always, copy at once
		fuzzOps{0, 0, 0, 1}.fill(16384, 0).drain(2100).op(fuzzGets, 20, 1).op(fuzzShrink).op(fuzzGets, 200, 1).
			drain(2100).op(fuzzGets, 20, 1).op(fuzzAll, 4, 6, 6|1<<3, 2, 2).drain(1000),
		fuzzOps{4, 2, 0, 0}.fill(20000, 0).fill(20000, 20000).drain(30500).op(fuzzGets, 255, 9).drain(2000),
		// Expiry sweeps: delete all, then all but one in 3, in a range.
		fuzzOps{0, 3, 0, 0}.fill(40000, 0).op(fuzzCheck|1<<4).fill(30000, 0).op(fuzzCheck|3<<4).op(fuzzGets, 50, 3),
		// A hook that panics on every other call and a policy on every
		// third, loop bodies that break and panic, and a Clear.
		fuzzOps{0, 3, 0x60, 1}.fill(3000, 0).drain(2900).fill(100, 0).
			op(fuzzAll, 3, 2, 9, 7).op(fuzzAll, 2, 4, 0xff).op(fuzzClear).fill(100, 0).op(fuzzCheck).
			fill(3000, 0).drain(2000).op(fuzzClear|1<<4, 2, 1),
		mixed,
	}
}
