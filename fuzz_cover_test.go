package shrinkmap

import "testing"

// TestFuzzSeedsCover runs the seeds of FuzzShrinkMap and FuzzConcurrent as
// their targets do, counts what they exercise, and fails if the seeds
// together never reach an operation, a loop-body action or a map state
// that the targets decode or promise: a fuzz target whose seeds miss one
// would pass its seed run without testing it.
func TestFuzzSeedsCover(t *testing.T) {
	t.Run("FuzzShrinkMap", func(t *testing.T) {
		seeds := fuzzSeeds()
		var cov fuzzCoverage
		for _, seed := range seeds {
			cov.add(fuzzShrinkMap(t, seed))
		}
		t.Logf("operations by kind %v (%d sweeps, %d Clear), loop-body actions by kind %v, %d of %d inputs with float64 keys, %d hook and %d policy panics; harness: %+v",
			cov.ops, cov.sweeps, cov.clears, cov.body, cov.floats, len(seeds), cov.hookPanics, cov.policyPanics, cov.harness)
		ops := [16]string{"Set", "Set (2)", "Delete", "Get", "NaN 1", "NaN 2", "fill", "drain", "Shrink", "Clear", "All", "iter.Pull2", "Gets",
			"Clone", "churn", "check"}
		for op, n := range cov.ops {
			if n == 0 {
				t.Errorf("no %s operation", ops[op])
			}
		}
		body := [fuzzBodyKinds]string{"nothing", "Set(key byte)", "Set(k)", "Delete(k)", "Delete(key byte)", "Shrink", "Clear", "Get(k)", "break", "panic"}
		for kind, n := range cov.body {
			if n == 0 {
				t.Errorf("no loop body did %s", body[kind])
			}
		}
		h := cov.harness
		for _, c := range []struct {
			what string
			n    int
		}{
			{"fuzzCheck operation that swept", cov.sweeps},
			{"fuzzClear operation that cleared", cov.clears},
			{"fuzzClear operation that called DeleteFunc", cov.deleteFuncs},
			{"entry removed by DeleteFunc", cov.deleteFuncRemoved},
			{"input with float64 keys", cov.floats},
			{"input with uint16 keys", len(seeds) - cov.floats},
			{"operation mid-migration", h.migratingOps},
			{"migration", h.migrations},
			{"migration completed", h.finished},
			{"compaction at once", h.autos},
			{"panic of a hook, policy or body recovered", h.panics},
			{"shrink hook told to panic", cov.hookPanics},
			{"policy told to panic", cov.policyPanics},
			{"Set of a NaN key", h.nanSets},
			{"iteration", h.iterations},
			{"pulled iteration", h.pulls},
			{"sweep ended", h.sweepEnds},
		} {
			if c.n == 0 {
				t.Errorf("no %s", c.what)
			}
		}
	})

	t.Run("FuzzConcurrent", func(t *testing.T) {
		var cov concFuzzCoverage
		for _, seed := range fuzzConcurrentSeeds() {
			cov.add(fuzzConcurrentInput(t, seed))
		}
		t.Logf("%+v", cov)
		for _, c := range []struct {
			what string
			n    int
		}{
			{"Set", cov.ops[0] + cov.ops[1] + cov.ops[2]},
			{"Get", cov.ops[3]},
			{"Delete", cov.ops[4] + cov.ops[5]},
			{"GetOrSet", cov.ops[6]},
			{"GetAndDelete", cov.ops[7]},
			{"Swap", cov.ops[8]},
			{"Compute returning CancelOp", cov.computes[CancelOp]},
			{"Compute returning UpdateOp", cov.computes[UpdateOp]},
			{"Compute returning DeleteOp", cov.computes[DeleteOp]},
			{"Shrink", cov.shrinks},
			{"Clear", cov.clears},
			{"comparison of All with the model", cov.ops[11]},
			{"CompareAndSwap", cov.ops[12]},
			{"CompareAndSwap that swapped", cov.matched[0]},
			{"CompareAndDelete", cov.ops[13]},
			{"CompareAndDelete that deleted", cov.matched[1]},
			{"GetOrCompute", cov.ops[14]},
			{"DeleteFunc", cov.ops[15]},
			{"entry removed by DeleteFunc", cov.removals},
			{"operation on a NaN key", cov.nans},
			{"compaction by the policy", cov.autos},
			{"operation that left the map resizing", cov.mid},
			{"operation on a map of the word layout", cov.wordOps},
		} {
			if c.n == 0 {
				t.Errorf("no %s", c.what)
			}
		}
	})
}
