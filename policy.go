package shrinkmap

import (
	"fmt"
	"math"
)

// A Policy decides when a map compacts itself.
//
// A ShrinkMap consults its policy after a Delete that removed an entry, and
// once at the end of an expiry sweep (a loop over [ShrinkMap.All], Keys or
// Values whose body removed entries: deletes inside it do not consult it;
// see [Stats.SweepEnded]). It does so only when a compaction would make the
// table smaller (the live entries fit a table of half the slots or fewer,
// with an eighth of headroom over 1024 slots, and the [WithCapacity] floor
// allows it) and the map has seen at least Len/8 deletes since its last
// compaction: that rule keeps compaction amortized O(1) per operation
// whatever a policy says. It never consults it while an incremental
// compaction runs, nor from a method that only reads. The built-in policies
// tell the map when they could say yes, so that it asks them only then; a
// custom policy is asked on every eligible Delete. [Concurrent] consults
// its policy about every Len/8 deletes, with the whole map's Stats.
//
// ShouldShrink must not modify the map. A panic in ShouldShrink propagates
// to the caller and leaves the map unchanged.
type Policy interface {
	ShouldShrink(s Stats) bool
}

// DefaultPolicy returns the policy of a map made without WithPolicy:
// AdaptivePolicy{Threshold: 0.25}.
func DefaultPolicy() Policy {
	return AdaptivePolicy{Threshold: 0.25}
}

// AdaptivePolicy compacts maps of every size once they drain, and leaves
// alone the table of a map that refills right after each drain by Delete.
//
//   - Drain: Len under Threshold times max(Peak, DrainedFrom) compacts; the
//     drain's peak holds, so the map compacts again each time its table
//     could halve, and ends near a fresh map's size.
//   - Refill: once a compaction is undone soon after (Stats.Refills > 0),
//     the next waits until the map stays drained for max(peak,
//     MinDrainedDeletes) deletes in a row (Stats.LowDeletes). The end of an
//     expiry sweep (Stats.SweepEnded) compacts whatever the Refills.
//   - A one-group table (Peak <= 8) waits for MinDrainedDeletes such deletes.
//   - Under memory pressure (Stats.MemoryPressure) every table that could
//     halve compacts.
//
// The package documentation gives the reasons and the refill window.
// Threshold must be in (0, 1); a compaction then costs O(1/(1-Threshold))
// amortized per Delete. The zero value is invalid: use [DefaultPolicy].
type AdaptivePolicy struct {
	Threshold float64
}

// MinDrainedDeletes is the fewest deletes in a row below its threshold
// after which AdaptivePolicy compacts a map whose compactions were undone
// by refills, or whose table is a single group.
const MinDrainedDeletes = 1024

// oneGroupPeak is the most entries a table of a single group holds.
const oneGroupPeak = groupSlots

// ShouldShrink reports whether s.MemoryPressure is set, or, with peak =
// max(s.Peak, s.DrainedFrom), s.Len < p.Threshold*peak and: s.LowDeletes
// >= max(peak, MinDrainedDeletes) if s.Refills > 0 and not s.SweepEnded; s.LowDeletes >=
// MinDrainedDeletes if s.Peak <= 8; nothing more otherwise.
func (p AdaptivePolicy) ShouldShrink(s Stats) bool {
	b := p.shrinkBound(s)
	return s.Len < b.below && s.LowDeletes >= b.lowDeletes
}

// shrinkBound is the rule itself: under memory pressure any Len; else a
// Len under ceil(Threshold*peak), which for an integer Len is the same as
// under Threshold*peak, and the LowDeletes that refills or a one-group
// table call for.
func (p AdaptivePolicy) shrinkBound(s Stats) bound {
	if s.MemoryPressure {
		return bound{below: math.MaxInt}
	}
	peak := max(s.Peak, s.DrainedFrom)
	b := bound{below: int(math.Ceil(p.Threshold * float64(peak)))}
	switch {
	case s.Refills > 0 && !s.SweepEnded:
		b.lowDeletes = max(peak, MinDrainedDeletes)
	case s.Peak <= oneGroupPeak:
		b.lowDeletes = MinDrainedDeletes
	}
	return b
}

func (p AdaptivePolicy) reason(s Stats) ShrinkReason {
	switch {
	case float64(s.Len) >= p.Threshold*float64(max(s.Peak, s.DrainedFrom)):
		return ReasonMemoryPressure
	case s.Refills > 0 || s.Peak <= oneGroupPeak:
		return ReasonDrained
	}
	return ReasonRatio
}

// Validate reports whether p's setting is in range, naming the field, its
// value and the allowed range if not.
func (p AdaptivePolicy) Validate() error {
	if !(p.Threshold > 0 && p.Threshold < 1) {
		return fmt.Errorf("shrinkmap: AdaptivePolicy.Threshold = %v; want a value in (0, 1)", p.Threshold)
	}
	return nil
}

// RatioPolicy compacts when Len falls below Threshold times Peak, once the
// table's estimated size (Stats.TableBytes) is at least MinTableBytes,
// whatever the map's history.
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

// shrinkBound returns ceil(p.Threshold*s.Peak): no Len at or above it is
// under p.Threshold*s.Peak; 0 if the table is under p.MinTableBytes.
func (p RatioPolicy) shrinkBound(s Stats) bound {
	if s.TableBytes < p.MinTableBytes {
		return bound{}
	}
	return bound{below: int(math.Ceil(p.Threshold * float64(s.Peak)))}
}

func (RatioPolicy) reason(Stats) ShrinkReason { return ReasonRatio }

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

func (neverPolicy) shrinkBound(Stats) bound { return bound{} }

// A bound says when a policy need not be asked: it does not compact a map
// whose Len is at or above below, nor one whose LowDeletes are under
// lowDeletes.
type bound struct {
	below, lowDeletes int
}

// A bounded policy can tell its bound from a map's Peak, DrainedFrom,
// TableBytes, MemoryPressure and Refills alone, so that the map need not
// ask it on every Delete.
type bounded interface {
	shrinkBound(s Stats) bound
}

// shrinkBound returns p's bound for a map with the Peak, DrainedFrom,
// TableBytes, MemoryPressure and Refills of s: any Len and LowDeletes if p
// cannot tell.
func shrinkBound(p Policy, s Stats) bound {
	if b, ok := p.(bounded); ok {
		return b.shrinkBound(s)
	}
	return bound{below: math.MaxInt}
}

// reasonOf returns why p said yes to compacting a map with Stats s.
func reasonOf(p Policy, s Stats) ShrinkReason {
	if r, ok := p.(interface{ reason(Stats) ShrinkReason }); ok {
		return r.reason(s)
	}
	return ReasonPolicy
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
