package shrinkmap

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestShrinkBelowNeverHidesAYes checks the bound by which the map skips
// asking a built-in policy: every Len at which the policy would compact
// must lie below it, whatever the history fields say, and the Len just
// below it must be one at which the policy compacts with no refills and
// MinDrainedDeletes drained deletes (the bound is tight).
func TestShrinkBelowNeverHidesAYes(t *testing.T) {
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
			table := int64(r.IntN(1 << 24))
			pressure := r.IntN(4) == 0
			from := 0
			if r.IntN(2) == 0 {
				from = r.IntN(1 << r.IntN(31))
			}
			below := shrinkBelow(p, Stats{Peak: peak, DrainedFrom: from, TableBytes: table, MemoryPressure: pressure})
			for _, n := range []int{0, 1, below - 1, below, below + 1, r.IntN(peak + 1)} {
				if n < 0 || n > max(peak, from) {
					continue
				}
				// The history fields do not enter the bound: any values.
				s := Stats{Len: n, Peak: peak, DrainedFrom: from, TableBytes: table, MemoryPressure: pressure,
					Refills: r.IntN(3), LowDeletes: r.IntN(2 * (peak + 1))}
				if p.ShouldShrink(s) {
					require.Less(t, n, below, "%#v.ShouldShrink(%+v) is true at or above shrinkBelow = %d", p, s, below)
				}
			}
			if _, ok := p.(neverPolicy); !ok && below > 0 && below < math.MaxInt {
				s := Stats{Len: below - 1, Peak: peak, DrainedFrom: from, TableBytes: table, MemoryPressure: pressure, LowDeletes: MinDrainedDeletes}
				require.True(t, p.ShouldShrink(s), "%#v.ShouldShrink(%+v) is false just below shrinkBelow = %d", p, s, below)
			}
		}
	}
	require.Equal(t, math.MaxInt, shrinkBelow(PolicyFunc(func(Stats) bool { return true }), Stats{Peak: 10, TableBytes: 1 << 30}),
		"a policy without a bound must be asked at every Len")
}
