package shrinkmap

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestShrinkBoundNeverHidesAYes checks the bound by which the map skips
// asking a built-in policy: every Len and LowDeletes at which the policy
// would compact must lie within it, and the bound is tight: just below its
// Len, at its LowDeletes, the policy compacts. It counts what the random
// Stats reached and fails if a policy never said yes, was never checked
// at the edge of its bound, or never met memory pressure or refills.
func TestShrinkBoundNeverHidesAYes(t *testing.T) {
	policies := []Policy{
		DefaultPolicy(),
		AdaptivePolicy{Threshold: 0.6},
		RatioPolicy{Threshold: 0.5},
		RatioPolicy{Threshold: 1.0 / 3, MinTableBytes: 4096},
		RatioPolicy{Threshold: 0.999},
		RatioPolicy{Threshold: 1e-9},
		Never(),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, p := range policies {
		// yes counts the Stats the policy compacts at, edges the checks
		// at the edge of a bound, lows the bounds that ask for LowDeletes,
		// pressured and refilled the Stats with MemoryPressure and Refills.
		var yes, edges, lows, pressured, refilled int
		for range 20_000 {
			peak := r.IntN(1 << r.IntN(31))
			from := 0
			if r.IntN(2) == 0 {
				from = r.IntN(1 << r.IntN(31))
			}
			in := Stats{Peak: peak, DrainedFrom: from, TableBytes: int64(r.IntN(1 << 24)),
				MemoryPressure: r.IntN(4) == 0, Refills: r.IntN(3) * r.IntN(2)}
			b := shrinkBound(p, in)
			pressured += btoi(in.MemoryPressure)
			refilled += btoi(in.Refills > 0)
			lows += btoi(b.lowDeletes > 0)
			for _, n := range []int{0, 1, b.below - 1, b.below, b.below + 1, r.IntN(max(peak, from) + 1)} {
				if n < 0 || n > max(peak, from) {
					continue
				}
				for _, low := range []int{0, b.lowDeletes - 1, b.lowDeletes, r.IntN(2 * (max(peak, from) + 1))} {
					s := in
					s.Len, s.LowDeletes = n, max(low, 0)
					if p.ShouldShrink(s) {
						yes++
						require.True(t, n < b.below && s.LowDeletes >= b.lowDeletes,
							"%#v.ShouldShrink(%+v) is true outside its bound %+v", p, s, b)
					}
				}
			}
			if _, ok := p.(neverPolicy); !ok && b.below > 0 && b.below < math.MaxInt {
				s := in
				s.Len, s.LowDeletes = b.below-1, b.lowDeletes
				require.True(t, p.ShouldShrink(s), "%#v.ShouldShrink(%+v) is false at the edge of its bound %+v", p, s, b)
				edges++
			}
		}
		t.Logf("%#v: %d yes, %d edges checked, %d bounds asking for LowDeletes; %d Stats with MemoryPressure, %d with Refills", p, yes, edges, lows, pressured, refilled)
		require.Positive(t, pressured, "Stats with MemoryPressure")
		require.Positive(t, refilled, "Stats with Refills")
		if _, never := p.(neverPolicy); !never {
			require.Positive(t, yes, "%#v: Stats it compacts at", p)
			require.Positive(t, edges, "%#v: checks at the edge of its bound", p)
		}
		if _, adaptive := p.(AdaptivePolicy); adaptive {
			require.Positive(t, lows, "%#v: bounds that ask for LowDeletes", p)
		}
	}
	require.Equal(t, bound{below: math.MaxInt}, shrinkBound(PolicyFunc(func(Stats) bool { return true }), Stats{Peak: 10, TableBytes: 1 << 30}),
		"a policy without a bound must be asked at every Len")
}
