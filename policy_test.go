package shrinkmap_test

import (
	"math"
	"strings"
	"testing"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPolicyShouldShrink(t *testing.T) {
	ratio := shrinkmap.RatioPolicy{Threshold: 0.25, MinTableBytes: 1000}
	tests := []struct {
		name   string
		policy shrinkmap.Policy
		stats  shrinkmap.Stats
		want   bool
	}{
		{"ratio: below threshold", ratio, shrinkmap.Stats{Len: 24, Peak: 100, TableBytes: 5000}, true},
		{"ratio: at threshold", ratio, shrinkmap.Stats{Len: 25, Peak: 100, TableBytes: 5000}, false},
		{"ratio: above threshold", ratio, shrinkmap.Stats{Len: 90, Peak: 100, TableBytes: 5000}, false},
		{"ratio: empty after a peak", ratio, shrinkmap.Stats{Len: 0, Peak: 1, TableBytes: 5000}, true},
		{"ratio: never filled", ratio, shrinkmap.Stats{TableBytes: 5000}, false},
		{"ratio: table at MinTableBytes", ratio, shrinkmap.Stats{Len: 1, Peak: 100, TableBytes: 1000}, true},
		{"ratio: table under MinTableBytes", ratio, shrinkmap.Stats{Len: 1, Peak: 100, TableBytes: 999}, false},
		{"ratio: MinTableBytes 0", shrinkmap.RatioPolicy{Threshold: 0.5}, shrinkmap.Stats{Len: 1, Peak: 3}, true},
		{"ratio: huge peak", shrinkmap.RatioPolicy{Threshold: 0.5}, shrinkmap.Stats{Len: math.MaxInt / 2, Peak: math.MaxInt}, false},
		{"default: below a quarter of a large table", shrinkmap.DefaultPolicy(), shrinkmap.Stats{Len: 10, Peak: 100, TableBytes: 1 << 30}, true},
		{"default: below a quarter of a small table", shrinkmap.DefaultPolicy(), shrinkmap.Stats{Len: 10, Peak: 50, TableBytes: 1000}, true},
		{"default: one group, drained briefly", shrinkmap.DefaultPolicy(), shrinkmap.Stats{Len: 1, Peak: 5, TableBytes: 136, LowDeletes: 1023}, false},
		{"default: one group, stayed drained", shrinkmap.DefaultPolicy(), shrinkmap.Stats{Len: 1, Peak: 5, TableBytes: 136, LowDeletes: 1024}, true},
		{"default: above a quarter", shrinkmap.DefaultPolicy(), shrinkmap.Stats{Len: 30, Peak: 100, TableBytes: 1 << 30}, false},
		{"default: at a quarter", shrinkmap.DefaultPolicy(), shrinkmap.Stats{Len: 25, Peak: 100}, false},
		{"default: refilled, drained briefly", shrinkmap.DefaultPolicy(), shrinkmap.Stats{Len: 0, Peak: 2000, Refills: 1, LowDeletes: 1999}, false},
		{"default: refilled, small, stayed drained briefly", shrinkmap.DefaultPolicy(), shrinkmap.Stats{Len: 0, Peak: 1, Refills: 1, LowDeletes: 1023}, false},
		{"default: refilled, small, stayed drained", shrinkmap.DefaultPolicy(), shrinkmap.Stats{Len: 0, Peak: 1, Refills: 1, LowDeletes: 1024}, true},
		{"default: refilled, stayed drained", shrinkmap.DefaultPolicy(), shrinkmap.Stats{Len: 0, Peak: 2000, Refills: 1, LowDeletes: 2000}, true},
		{"default: refilled twice, stayed drained", shrinkmap.DefaultPolicy(), shrinkmap.Stats{Len: 10, Peak: 100, Refills: 2, LowDeletes: 5000}, true},
		{"default: memory pressure above a quarter", shrinkmap.DefaultPolicy(), shrinkmap.Stats{Len: 55, Peak: 100, Refills: 3, MemoryPressure: true}, true},
		{"adaptive: threshold 0.5", shrinkmap.AdaptivePolicy{Threshold: 0.5}, shrinkmap.Stats{Len: 49, Peak: 100}, true},
		{"ratio: ignores memory pressure", ratio, shrinkmap.Stats{Len: 55, Peak: 100, TableBytes: 5000, MemoryPressure: true}, false},
		{"ratio: ignores refills", ratio, shrinkmap.Stats{Len: 1, Peak: 100, TableBytes: 5000, Refills: 5}, true},
		{"wasted: over", shrinkmap.WastedBytesPolicy{MaxWastedBytes: 100}, shrinkmap.Stats{WastedBytes: 101}, true},
		{"wasted: at", shrinkmap.WastedBytesPolicy{MaxWastedBytes: 100}, shrinkmap.Stats{WastedBytes: 100}, false},
		{"wasted: under", shrinkmap.WastedBytesPolicy{MaxWastedBytes: 100}, shrinkmap.Stats{WastedBytes: 0, Len: 1, Peak: 1000}, false},
		{"wasted: zero limit", shrinkmap.WastedBytesPolicy{}, shrinkmap.Stats{WastedBytes: 1}, true},
		{"wasted: zero limit, nothing wasted", shrinkmap.WastedBytesPolicy{}, shrinkmap.Stats{}, false},
		{"never: empty after a peak", shrinkmap.Never(), shrinkmap.Stats{Len: 0, Peak: 1 << 20, TableBytes: 1 << 30, WastedBytes: 1 << 30}, false},
		{"never: zero stats", shrinkmap.Never(), shrinkmap.Stats{}, false},
		{"func: true", shrinkmap.PolicyFunc(func(s shrinkmap.Stats) bool { return s.Len == 7 }), shrinkmap.Stats{Len: 7}, true},
		{"func: false", shrinkmap.PolicyFunc(func(s shrinkmap.Stats) bool { return s.Len == 7 }), shrinkmap.Stats{Len: 8}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.policy.ShouldShrink(tt.stats)
			require.Equal(t, tt.want, got, "%#v.ShouldShrink(%+v)", tt.policy, tt.stats)
		})
	}
}

func TestPolicyFuncPassesStats(t *testing.T) {
	var got shrinkmap.Stats
	p := shrinkmap.PolicyFunc(func(s shrinkmap.Stats) bool { got = s; return true })
	want := shrinkmap.Stats{Len: 1, Peak: 2, Shrinks: 3, TableBytes: 4, WastedBytes: 5, Migrating: true, MigrationLeft: 6,
		LowDeletes: 7, Refills: 8, MemoryPressure: true}
	require.True(t, p.ShouldShrink(want), "PolicyFunc.ShouldShrink: want the function's answer")
	require.Equal(t, want, got, "Stats the function received")
}

func TestPolicyValidate(t *testing.T) {
	type validator interface{ Validate() error }
	tests := []struct {
		name    string
		policy  validator
		wantErr []string // fragments of the error: field, value, allowed range; nil for valid
	}{
		{"default", shrinkmap.DefaultPolicy().(validator), nil},
		{"ratio: small threshold", shrinkmap.RatioPolicy{Threshold: 1e-9}, nil},
		{"ratio: large threshold and floor", shrinkmap.RatioPolicy{Threshold: 0.999, MinTableBytes: 1 << 40}, nil},
		{"ratio: zero threshold", shrinkmap.RatioPolicy{}, []string{"RatioPolicy.Threshold = 0;", "(0, 1)"}},
		{"ratio: threshold 1", shrinkmap.RatioPolicy{Threshold: 1}, []string{"RatioPolicy.Threshold = 1;", "(0, 1)"}},
		{"ratio: negative threshold", shrinkmap.RatioPolicy{Threshold: -0.1}, []string{"RatioPolicy.Threshold = -0.1;", "(0, 1)"}},
		{"ratio: NaN threshold", shrinkmap.RatioPolicy{Threshold: math.NaN()}, []string{"RatioPolicy.Threshold = NaN;", "(0, 1)"}},
		{"ratio: -Inf threshold", shrinkmap.RatioPolicy{Threshold: math.Inf(-1)}, []string{"RatioPolicy.Threshold = -Inf;", "(0, 1)"}},
		{"ratio: negative floor", shrinkmap.RatioPolicy{Threshold: 0.5, MinTableBytes: -1}, []string{"RatioPolicy.MinTableBytes = -1;", ">= 0"}},
		{"adaptive: zero threshold", shrinkmap.AdaptivePolicy{}, []string{"AdaptivePolicy.Threshold = 0;", "(0, 1)"}},
		{"adaptive: NaN threshold", shrinkmap.AdaptivePolicy{Threshold: math.NaN()}, []string{"AdaptivePolicy.Threshold = NaN;", "(0, 1)"}},
		{"adaptive: threshold 0.9", shrinkmap.AdaptivePolicy{Threshold: 0.9}, nil},
		{"wasted: zero", shrinkmap.WastedBytesPolicy{}, nil},
		{"wasted: large", shrinkmap.WastedBytesPolicy{MaxWastedBytes: math.MaxInt64}, nil},
		{"wasted: negative", shrinkmap.WastedBytesPolicy{MaxWastedBytes: -1}, []string{"WastedBytesPolicy.MaxWastedBytes = -1;", ">= 0"}},
		{"func", shrinkmap.PolicyFunc(func(shrinkmap.Stats) bool { return false }), nil},
		{"nil func", shrinkmap.PolicyFunc(nil), []string{"PolicyFunc", "nil", "non-nil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Validate()
			if tt.wantErr == nil {
				require.NoError(t, err, "%#v.Validate()", tt.policy)
				return
			}
			require.Error(t, err, "%#v.Validate() = nil; want an error", tt.policy)
			msg := err.Error()
			require.True(t, strings.HasPrefix(msg, "shrinkmap: "), "%#v.Validate() = %q; want the prefix \"shrinkmap: \"", tt.policy, msg)
			for _, frag := range tt.wantErr {
				require.Contains(t, msg, frag, "%#v.Validate() = %q", tt.policy, msg)
			}
		})
	}
}

func TestDefaultPolicy(t *testing.T) {
	require.Equal(t, shrinkmap.AdaptivePolicy{Threshold: 0.25}, shrinkmap.DefaultPolicy(), "DefaultPolicy()")
}

// drainEvents fills a stop-the-world map made with opts with n entries,
// deletes them all in key order and returns the Entries of each compaction.
func drainEvents(n int, opts ...shrinkmap.Option) []int {
	var entries []int
	opts = append(opts, shrinkmap.WithIncremental(0),
		shrinkmap.WithShrinkHook(func(e shrinkmap.ShrinkEvent) { entries = append(entries, e.Entries) }))
	m := shrinkmap.New[int64, int64](opts...)
	fill(m, n)
	for i := range int64(n) {
		m.Delete(i)
	}
	return entries
}

func TestPolicyDrivesCompaction(t *testing.T) {
	half := shrinkmap.RatioPolicy{Threshold: 0.5}
	tests := []struct {
		name   string
		policy shrinkmap.Policy
		fill   int
		want   []int // Entries of each compaction while draining to 0
	}{
		// Each compaction resets Peak, so the next comes at half the last
		// live count, while the table gets smaller: not at 2 or 1 entry
		// (one group, like 6), but at 0, which needs no table at all.
		{"ratio 0.5", half, 1000, []int{499, 249, 124, 61, 30, 14, 6, 0}},
		{"ratio 0.5 with MinTableBytes of the full table", shrinkmap.RatioPolicy{Threshold: 0.5, MinTableBytes: tableFor(1000)}, 1000, []int{499}},
		{"ratio 0.5 with MinTableBytes over the full table", shrinkmap.RatioPolicy{Threshold: 0.5, MinTableBytes: tableFor(1000) + 1}, 1000, nil},
		{"ratio 0.1", shrinkmap.RatioPolicy{Threshold: 0.1}, 1000, []int{99, 9, 0}},
		// The default compacts a map's first drain at every size: below a
		// quarter of the peak, then, the drain's peak holding, each time
		// the table could halve (at 7/16 of the slots of its table, less an
		// eighth over 2048 slots), down
		// to a table of one group, which it keeps until the map stays
		// drained for MinDrainedDeletes deletes.
		{"default, small table", shrinkmap.DefaultPolicy(), 1000, []int{249, 222, 112, 56, 28, 14, 8}},
		{"default, 2.2 MB table", shrinkmap.DefaultPolicy(), 1 << 16, []int{16383, 12544, 6272, 3136, 1568, 896, 448, 224, 112, 56, 28, 14, 8}},
		{"default, 4.5 MB table", shrinkmap.DefaultPolicy(), 120_000, []int{29_999, 25088, 12544, 6272, 3136, 1568, 896, 448, 224, 112, 56, 28, 14, 8}},
		{"never", shrinkmap.Never(), migrationFill, nil},
		// 1000 entries take 2048 slots (34816 bytes); from 896 down they
		// fit 1024 (17408), and the policy is first asked at 889, after
		// 111 >= 889/8 deletes, with 17408 bytes wasted. The next tables
		// waste less until the map is empty and its table is all waste.
		{"wasted over 17407", shrinkmap.WastedBytesPolicy{MaxWastedBytes: 17407}, 1000, []int{889, 0}},
		// From 448 down the entries fit 512 slots: 34816-8704 bytes wasted.
		{"wasted over 17408", shrinkmap.WastedBytesPolicy{MaxWastedBytes: 17408}, 1000, []int{448}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := drainEvents(tt.fill, shrinkmap.WithPolicy(tt.policy))
			require.Equal(t, tt.want, got, "live entries at each compaction while draining %d entries with %#v", tt.fill, tt.policy)
		})
	}
}

func TestPolicyConsultation(t *testing.T) {
	// The policy sees the Stats of the map after the Delete, only when a
	// compaction would make the table smaller and Len/8 deletes have paid
	// for it, and never during an iteration or a migration.
	var seen []shrinkmap.Stats
	answer := false
	m := shrinkmap.New[int64, int64](shrinkmap.WithPolicy(shrinkmap.PolicyFunc(func(s shrinkmap.Stats) bool {
		seen = append(seen, s)
		return answer
	})))
	want := fill(m, migrationFill)
	deletes := 0
	for i := range int64(migrationFill / 2) {
		n := len(seen)
		m.Delete(i)
		delete(want, i)
		deletes++
		if len(seen) == n {
			continue
		}
		s := seen[len(seen)-1]
		require.Equal(t, m.Stats(), s, "Stats passed to the policy after Delete(%d); want the map's Stats after the Delete", i)
		require.Positive(t, s.WastedBytes, "Stats passed to the policy: the policy was asked though a compaction would not shrink the table")
		require.GreaterOrEqual(t, deletes, s.Len/8, "deletes before the policy was asked (Stats %+v)", s)
	}
	require.NotEmpty(t, seen, "policy calls while draining half of %d entries", migrationFill)

	// During an iteration: deletes ask the policy as outside one, and a
	// yes starts the compaction inside the loop body.
	n := len(seen)
	answer = true
	for k := range m.Keys() {
		m.Delete(k)
		delete(want, k)
		if len(seen) > n {
			require.Equal(t, m.Len(), seen[n].Len, "Stats.Len passed to the policy after Delete(%d) in a loop body", k)
			require.True(t, m.Stats().Migrating, "Stats().Migrating after the policy said yes in a loop body")
			break
		}
	}
	require.Len(t, seen, n+1, "policy calls in the loop body")

	// During a migration: deletes do not ask the policy.
	for k := range want {
		if !m.Stats().Migrating {
			break
		}
		m.Delete(k)
		delete(want, k)
	}
	require.Len(t, seen, n+1, "policy calls during a migration")
	requireSame(t, m, want)
	assert.False(t, m.Stats().Migrating, "Stats().Migrating after draining the old table")
}
