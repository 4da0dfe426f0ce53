package shrinkmap

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestShrinkBelowNeverHidesAYes checks the bound by which the map skips
// asking a built-in policy: every Len at which the policy would compact
// must lie below it, and, for RatioPolicy, the Len just below it must be
// one at which the policy compacts (the bound is tight).
func TestShrinkBelowNeverHidesAYes(t *testing.T) {
	policies := []Policy{
		DefaultPolicy(),
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
			table := int64(r.IntN(1 << 24))
			below := shrinkBelow(p, peak, table)
			for _, n := range []int{0, 1, below - 1, below, below + 1, r.IntN(peak + 1)} {
				if n < 0 || n > peak {
					continue
				}
				s := Stats{Len: n, Peak: peak, TableBytes: table}
				if p.ShouldShrink(s) {
					require.Less(t, n, below, "%#v.ShouldShrink(%+v) is true at or above shrinkBelow = %d", p, s, below)
				}
			}
			if ratio, ok := p.(RatioPolicy); ok && below > 0 {
				s := Stats{Len: below - 1, Peak: peak, TableBytes: table}
				require.True(t, ratio.ShouldShrink(s), "%#v.ShouldShrink(%+v) is false just below shrinkBelow = %d", p, s, below)
			}
		}
	}
	require.Equal(t, math.MaxInt, shrinkBelow(PolicyFunc(func(Stats) bool { return true }), 10, 1<<30),
		"a policy without a bound must be asked at every Len")
}
