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
// Len, at its LowDeletes, the policy compacts.
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
		for range 20_000 {
			peak := r.IntN(1 << r.IntN(31))
			from := 0
			if r.IntN(2) == 0 {
				from = r.IntN(1 << r.IntN(31))
			}
			in := Stats{Peak: peak, DrainedFrom: from, TableBytes: int64(r.IntN(1 << 24)),
				MemoryPressure: r.IntN(4) == 0, Refills: r.IntN(3) * r.IntN(2)}
			b := shrinkBound(p, in)
			for _, n := range []int{0, 1, b.below - 1, b.below, b.below + 1, r.IntN(max(peak, from) + 1)} {
				if n < 0 || n > max(peak, from) {
					continue
				}
				for _, low := range []int{0, b.lowDeletes - 1, b.lowDeletes, r.IntN(2 * (max(peak, from) + 1))} {
					s := in
					s.Len, s.LowDeletes = n, max(low, 0)
					if p.ShouldShrink(s) {
						require.True(t, n < b.below && s.LowDeletes >= b.lowDeletes,
							"%#v.ShouldShrink(%+v) is true outside its bound %+v", p, s, b)
					}
				}
			}
			if _, ok := p.(neverPolicy); !ok && b.below > 0 && b.below < math.MaxInt {
				s := in
				s.Len, s.LowDeletes = b.below-1, b.lowDeletes
				require.True(t, p.ShouldShrink(s), "%#v.ShouldShrink(%+v) is false at the edge of its bound %+v", p, s, b)
			}
		}
	}
	require.Equal(t, bound{below: math.MaxInt}, shrinkBound(PolicyFunc(func(Stats) bool { return true }), Stats{Peak: 10, TableBytes: 1 << 30}),
		"a policy without a bound must be asked at every Len")
}
