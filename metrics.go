package shrinkmap

import (
	"sync/atomic"
	"unicode/utf8"
)

// WithName makes the map report its figures under name in [ReadMetrics]
// for as long as it is reachable; a map made without it is counted only in
// the process totals. Names are meant to be unique: two live maps of one
// name are both reported, one after the other. An empty name, or one that
// is not valid UTF-8, makes New and NewConcurrent panic. [ShrinkMap.Clone]
// does not copy the name.
func WithName(name string) Option {
	return func(c *config) { c.name, c.named = name, true }
}

func validName(name string) bool {
	return name != "" && utf8.ValidString(name)
}

// Metrics is what the maps of the process report: totals over every map,
// named or not, and the figures of each live named map. It marshals to
// JSON, so that publishing it with expvar takes one call (see the example
// of ReadMetrics).
type Metrics struct {
	// Compactions counts the compactions completed in the process by
	// every ShrinkMap and Concurrent, automatic or by Shrink.
	Compactions int64
	// ReleasedBytes sums, over those compactions, the estimated table
	// bytes each gave back: Stats.TableBytes before it less after it, or
	// 0 if the table did not get smaller.
	ReleasedBytes int64
	// Maps holds one MapMetrics per live map made with WithName, sorted
	// by name, and by the order the maps were made within a name.
	Maps []MapMetrics
}

// MapMetrics is what one named map reports.
type MapMetrics struct {
	// Name is the name given by WithName.
	Name string
	// Stats are the map's figures. A Concurrent's are read by ReadMetrics
	// itself (see Concurrent.Stats); a ShrinkMap's are those it last
	// published, which ReadMetrics documents.
	Stats Stats
	// Compactions counts the map's completed compactions by reason, keyed
	// by ShrinkReason.String(), since the map was made or last Init; a
	// reason with none is absent.
	Compactions map[string]int64 `json:",omitempty"`
}

// ReadMetrics returns the process totals and the figures of every live
// named map. It is safe to call from any goroutine at any time: it never
// reads what a map's owner writes, and takes no lock that a ShrinkMap's
// owner holds; for a Concurrent it calls Stats, which takes the lock of
// its policy checks for a moment. It costs O(named maps x log(named maps))
// plus O(stripes) per named Concurrent, and the totals cost nothing on
// Get, Set or Delete: they are counted at each compaction.
//
// A ShrinkMap is written without a lock, so it publishes its figures at
// moments of its own, at an amortized O(1) cost per operation: when it is
// made, each compaction's start and end, Shrink, Clear and Init, each
// write that finds its table grown since the last one (Set only while a
// compaction or spare table keeps it off its fast path; otherwise the next
// Delete), and the checks its Deletes make for the policy, at least every
// Len/16 deletes. At such a moment it publishes if its compactions, table
// or migration changed, or its Len moved by more than an eighth from the
// Len last published. So while Deletes drain it, the reported Len lags the
// map's by at most about a fifth; a map that Sets only fill reports the
// figures of its last Delete or compaction; and Stats.LowDeletes and the
// other history fields are those of the last publication.
//
// A named map is held weakly: once unreachable it leaves the report, and
// the report never keeps it alive.
func ReadMetrics() Metrics {
	return Metrics{
		Compactions:   totals.compactions.Load(),
		ReleasedBytes: totals.released.Load(),
		Maps:          names.read(),
	}
}

// totals are the process-wide counts of ReadMetrics.
var totals struct {
	compactions, released atomic.Int64
}

// countCompaction adds a compaction from before to after table bytes to
// the process totals.
func countCompaction(before, after int64) {
	totals.compactions.Add(1)
	totals.released.Add(max(0, before-after))
}

// numReasons is the number of ShrinkReasons.
const numReasons = int(ReasonPolicy) + 1

// reasonCounts counts a map's compactions by ShrinkReason.
type reasonCounts [numReasons]int64

// add counts one compaction for r; a reason out of range counts as
// ReasonPolicy.
func (c *reasonCounts) add(r ShrinkReason) {
	c[reasonIndex(r)]++
}

func reasonIndex(r ShrinkReason) int {
	if r < 0 || int(r) >= numReasons {
		return int(ReasonPolicy)
	}
	return int(r)
}

// byName returns the counts keyed by reason name, without the zeros; nil
// if all are.
func (c reasonCounts) byName() map[string]int64 {
	var m map[string]int64
	for r, n := range c {
		if n == 0 {
			continue
		}
		if m == nil {
			m = make(map[string]int64, numReasons)
		}
		m[ShrinkReason(r).String()] = n
	}
	return m
}
