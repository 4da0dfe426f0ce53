package shrinkmap

import (
	"fmt"
	"math"
)

// A Policy decides when a map compacts itself.
//
// The map consults its policy after a Delete that removed an entry, and only
// when a compaction would make the table smaller (the live entries fit a
// smaller table than the one the map holds, and the capacity floor set by
// WithCapacity allows it) and the map has seen at least Len/8 deletes since
// its last compaction. The last rule keeps compaction amortized O(1) per
// operation whatever a policy says. A policy is never consulted during an
// iteration or while an incremental migration runs.
//
// ShouldShrink must not modify the map. A panic in ShouldShrink propagates
// to the caller of Delete and leaves the map unchanged.
type Policy interface {
	ShouldShrink(s Stats) bool
}

// DefaultMinTableBytes is the estimated table size below which the default
// policy never compacts. A compaction costs more than its copy when the map
// fills up again: the table given back must be regrown, and a small table,
// which a warm native map refills in cache, regrows at up to several times
// the cost of the refill (a 64k-entry map[int]int, 2.2 MB, at 1.6x; a
// 256k-entry one, 8.9 MB, at 1.0x, on the machine of the README's tables).
// 4 MiB, also the Go garbage collector's minimum heap goal, is where giving
// the memory back starts to be worth that price for a map that spikes again.
const DefaultMinTableBytes = 4 << 20

// DefaultPolicy returns the policy of a map made without WithPolicy:
// compact once Len falls below a quarter of Peak, if the table is estimated
// at DefaultMinTableBytes or more.
func DefaultPolicy() Policy {
	return RatioPolicy{Threshold: 0.25, MinTableBytes: DefaultMinTableBytes}
}

// RatioPolicy compacts when Len falls below Threshold times Peak, once the
// table's estimated size (Stats.TableBytes) is at least MinTableBytes.
// Threshold must be in (0, 1) and MinTableBytes >= 0. A compaction then
// costs O(1/(1-Threshold)) amortized per Delete.
type RatioPolicy struct {
	Threshold     float64
	MinTableBytes int64
}

// ShouldShrink reports whether s.Len < p.Threshold*s.Peak and
// s.TableBytes >= p.MinTableBytes.
func (p RatioPolicy) ShouldShrink(s Stats) bool {
	return s.TableBytes >= p.MinTableBytes && float64(s.Len) < p.Threshold*float64(s.Peak)
}

// shrinkBelow returns ceil(p.Threshold*peak): no Len at or above it is under
// p.Threshold*peak; 0 if the table is under p.MinTableBytes.
func (p RatioPolicy) shrinkBelow(peak int, tableBytes int64) int {
	if tableBytes < p.MinTableBytes {
		return 0
	}
	return int(math.Ceil(p.Threshold * float64(peak)))
}

// Validate reports whether p's settings are in range, naming the field, its
// value and the allowed range if not.
func (p RatioPolicy) Validate() error {
	if !(p.Threshold > 0 && p.Threshold < 1) {
		return fmt.Errorf("shrinkmap: RatioPolicy.Threshold = %v; want a value in (0, 1)", p.Threshold)
	}
	if p.MinTableBytes < 0 {
		return fmt.Errorf("shrinkmap: RatioPolicy.MinTableBytes = %d; want >= 0", p.MinTableBytes)
	}
	return nil
}

// WastedBytesPolicy compacts when the estimated wasted part of the table
// (Stats.WastedBytes) exceeds MaxWastedBytes, which must be >= 0.
type WastedBytesPolicy struct {
	MaxWastedBytes int64
}

// ShouldShrink reports whether s.WastedBytes > p.MaxWastedBytes.
func (p WastedBytesPolicy) ShouldShrink(s Stats) bool {
	return s.WastedBytes > p.MaxWastedBytes
}

// Validate reports whether p's setting is in range, naming the field, its
// value and the allowed range if not.
func (p WastedBytesPolicy) Validate() error {
	if p.MaxWastedBytes < 0 {
		return fmt.Errorf("shrinkmap: WastedBytesPolicy.MaxWastedBytes = %d; want >= 0", p.MaxWastedBytes)
	}
	return nil
}

// Never returns a policy that never compacts: the map gives memory back only
// when Shrink or Clear is called.
func Never() Policy { return neverPolicy{} }

type neverPolicy struct{}

func (neverPolicy) ShouldShrink(Stats) bool { return false }

func (neverPolicy) shrinkBelow(int, int64) int { return 0 }

// A lenBound is a policy that can tell from a map's Peak and TableBytes
// alone the Len at and above which it does not compact, so that the map
// need not ask it on every Delete.
type lenBound interface {
	shrinkBelow(peak int, tableBytes int64) int
}

// shrinkBelow returns the Len at and above which p does not compact a map
// with the given peak and table size: math.MaxInt if p cannot tell.
func shrinkBelow(p Policy, peak int, tableBytes int64) int {
	if b, ok := p.(lenBound); ok {
		return b.shrinkBelow(peak, tableBytes)
	}
	return math.MaxInt
}

// PolicyFunc adapts a function to a Policy, for custom rules.
type PolicyFunc func(s Stats) bool

// ShouldShrink returns f(s).
func (f PolicyFunc) ShouldShrink(s Stats) bool { return f(s) }

// Validate reports an error if f is nil.
func (f PolicyFunc) Validate() error {
	if f == nil {
		return fmt.Errorf("shrinkmap: PolicyFunc is nil; want a non-nil function")
	}
	return nil
}
