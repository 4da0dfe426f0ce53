package shrinkmap

import (
	"math/bits"
	"strconv"
	"time"
	"unsafe"
)

// Stats describes a map's occupancy and history. It is a snapshot intended
// for diagnostics and for policies; byte figures are estimates derived from
// the layout of Go's Swiss-table maps (see TableBytes).
type Stats struct {
	// Len is the number of live entries.
	Len int
	// Peak is the largest Len since the last compaction, Shrink or Clear,
	// each of which resets it to the live count.
	Peak int
	// Shrinks counts the compactions completed so far, automatic or by
	// Shrink. Clear does not count.
	Shrinks int
	// TableBytes estimates the bytes held by the map's tables: groups of 8
	// slots with an 8-byte control word, sized for the most entries the
	// table has held at a 7/8 maximum load, rounded up to a power of two.
	// Keys and values over 128 bytes are stored out of line; the table
	// counts a pointer for them, not the objects they point to.
	TableBytes int64
	// WastedBytes is TableBytes minus the estimate for a fresh table of
	// Len entries: what a compaction would give back.
	WastedBytes int64
	// Migrating reports whether an incremental compaction is in progress.
	Migrating bool
	// MigrationLeft is the number of entries an incremental compaction has
	// yet to copy into the fresh table while Migrating; 0 otherwise.
	MigrationLeft int
	// DrainedFrom is the Peak that a drain in progress started from: a
	// compaction that leaves Len under a quarter of the larger of Peak and
	// DrainedFrom sets it to that larger value, so that it holds through
	// the compactions of one drain; it is 0 once Len is back at a quarter
	// of it, or if the map has not drained.
	DrainedFrom int
	// LowDeletes counts the deletes in a row since the last compaction
	// that left Len under a quarter of max(Peak, DrainedFrom): how long the
	// map has stayed drained. Len at or above that quarter resets it.
	LowDeletes int
	// Refills counts the map's latest compactions in a row that were
	// undone: soon after each (within max(100 ms, 1 µs x its peak)), Len
	// grew back to at least half the peak it compacted from, and past twice
	// the entries it kept. A compaction that is not undone, a refill that
	// comes later, or a drain that lasts longer than that window before the
	// map grows again resets it.
	Refills int
	// SweepEnded is set only in the Stats a ShrinkMap passes to its policy
	// when a loop over All, Keys or Values whose body deleted entries ends,
	// and in those a Concurrent passes when a DeleteFunc that deleted
	// entries ends (an expiry sweep): the drain is over. AdaptivePolicy then
	// compacts a drained map whatever its Refills.
	SweepEnded bool
	// MemoryPressure reports whether, when the map last sampled it, a Go
	// memory limit was set and the memory counted against it was within an
	// eighth of it. A map samples it every 256 deletes while a smaller
	// table would hold its entries.
	MemoryPressure bool
}

// ShrinkReason says why a compaction ran.
type ShrinkReason int

const (
	// ReasonManual: Shrink was called.
	ReasonManual ShrinkReason = iota
	// ReasonRatio: Len fell below the policy's share of Peak.
	ReasonRatio
	// ReasonDrained: the map stayed drained (see AdaptivePolicy) after
	// earlier compactions had been undone by refills.
	ReasonDrained
	// ReasonMemoryPressure: the heap was near the Go memory limit and the
	// table could halve.
	ReasonMemoryPressure
	// ReasonPolicy: a custom policy said so.
	ReasonPolicy
)

// String returns the reason's name, as "ratio" or "memory-pressure".
func (r ShrinkReason) String() string {
	names := [...]string{"manual", "ratio", "drained", "memory-pressure", "policy"}
	if r < 0 || int(r) >= len(names) {
		return "ShrinkReason(" + strconv.Itoa(int(r)) + ")"
	}
	return names[r]
}

// ShrinkEvent describes one completed compaction, as passed to the hook set
// by WithShrinkHook.
type ShrinkEvent struct {
	// Entries is the number of live entries when the compaction started.
	Entries int
	// BytesBefore and BytesAfter estimate the table bytes before the
	// compaction started and after it completed (see Stats.TableBytes).
	BytesBefore, BytesAfter int64
	// Duration is the time spent copying entries; for an incremental
	// compaction, the sum over its steps.
	Duration time.Duration
	// Manual reports whether Shrink started the compaction.
	Manual bool
	// Incremental reports whether the entries moved in bounded steps.
	Incremental bool
	// Reason says why the compaction ran.
	Reason ShrinkReason
}

const (
	groupSlots      = 8   // slots per Swiss-table group
	maxAvgGroupLoad = 7   // a table grows past 7/8 full
	maxInlineBytes  = 128 // larger keys and values are stored indirectly
	maxTableSlots   = 1024
	maxSmallAlloc   = 32 << 10 // larger allocations take whole pages
	pageBytes       = 8 << 10
)

// groupBytes returns the size of one Swiss-table group of a map[K]V: an
// 8-byte control word and 8 slots of a key and a value, where a key or value
// over 128 bytes takes a pointer's room.
func groupBytes[K comparable, V any]() int64 {
	var k K
	var v V
	ks, kAlign := inlineSize(unsafe.Sizeof(k), unsafe.Alignof(k))
	vs, vAlign := inlineSize(unsafe.Sizeof(v), unsafe.Alignof(v))
	align := max(kAlign, vAlign, 1)
	slot := alignUp(alignUp(ks, vAlign)+vs, align)
	return int64(alignUp(8+groupSlots*slot, max(align, 8)))
}

func inlineSize(size, align uintptr) (uintptr, uintptr) {
	if size > maxInlineBytes {
		return unsafe.Sizeof(uintptr(0)), unsafe.Alignof(uintptr(0))
	}
	return size, align
}

func alignUp(n, align uintptr) uintptr {
	if align <= 1 {
		return n
	}
	return (n + align - 1) / align * align
}

// sizing is what the estimates say of a table sized for some entries.
type sizing struct {
	of    int   // the entries the table is sized for
	bytes int64 // tableBytes(of)
	// shrinkable is the most live entries that a fresh table sized for
	// max(live, floor) holds in fewer bytes, with headroom for tables
	// of several 1024-slot parts; -1 if none.
	shrinkable int
}

func newSizing(n, floor int, group int64) sizing {
	s := sizing{of: n, bytes: tableBytes(n, group), shrinkable: -1}
	switch slots := tableSlots(n); {
	case tableBytes(floor, group) >= s.bytes:
		// The floor's table is no smaller: leave shrinkable at -1.
	case slots > groupSlots:
		// Up to 8 entries take one group; more, half the slots at 7/8 load.
		half := int(slots / 2)
		s.shrinkable = max(groupSlots, half*maxAvgGroupLoad/groupSlots)
		if half > maxTableSlots {
			// A table of several 1024-slot tables splits those that
			// the hash fills unevenly past 7/8: leave an eighth of
			// headroom, or a fresh table made right at the bound
			// takes up to half again its estimate (measured: 430 KB
			// for 14,336 int->int entries, 288 KB for 12,000).
			s.shrinkable -= s.shrinkable / 8
		}
	case n > 0:
		s.shrinkable = 0 // only an empty map takes less than one group
	}
	return s
}

// sized returns the sizing of cur's table, computing it when curSized
// has changed since the last call.
func (m *ShrinkMap[K, V]) sized() sizing {
	x := m.x
	if !x.sizingValid || x.sizing.of != x.curSized {
		x.sizing, x.sizingValid = newSizing(x.curSized, x.cfg.capacity, x.group), true
	}
	return x.sizing
}

// entriesWithin returns the most entries whose table, for groups of size
// group, is estimated at no more than budget bytes (at least one group's),
// saturating at math.MaxInt.
func entriesWithin(budget, group int64) int {
	// A power-of-two number of groups, rounded down, each holding 7
	// entries at 7/8 load.
	groups := uint64(1) << (bits.Len64(uint64(max(budget/group, 1))) - 1)
	if groups > uint64(saturatedInt/maxAvgGroupLoad) {
		return saturatedInt
	}
	return int(groups * maxAvgGroupLoad)
}

// The bounds at which tableSlots, tableBytes and entriesWithin saturate:
// the largest power of two in a uint64, math.MaxInt64 and math.MaxInt.
const (
	saturatedSlots = 1 << 63
	saturatedBytes = 1<<63 - 1
	saturatedInt   = int(^uint(0) >> 1)
)

// tableSlots returns the slots of a table sized for n entries: one group
// for up to 8, else a power of two that holds n at 7/8 load, saturating
// at 1<<63 (for n over 7<<60).
func tableSlots(n int) uint64 {
	if n <= groupSlots {
		return groupSlots
	}
	// ceil(8n/7) = n + ceil(n/7), which no int n overflows.
	slots := uint64(n) + (uint64(n)+maxAvgGroupLoad-1)/maxAvgGroupLoad
	if slots > saturatedSlots {
		return saturatedSlots
	}
	return 1 << bits.Len64(slots-1)
}

// tableBytes estimates the bytes of a Swiss table that has held at most n
// entries, for groups of size group: small maps take one group; larger ones
// hold n at up to 7/8 load in a power-of-two number of slots, split into
// tables of at most 1024 slots whose group arrays, when over 32 KiB, take
// whole 8 KiB pages. It saturates at math.MaxInt64 for any n, though no
// n up to MaxCapacity comes near.
func tableBytes(n int, group int64) int64 {
	if n <= 0 {
		return 0
	}
	if n <= groupSlots {
		return group
	}
	slots := tableSlots(n)
	perTable := min(slots, maxTableSlots)
	array := int64(perTable/groupSlots) * group
	if array > maxSmallAlloc {
		array = (array + pageBytes - 1) / pageBytes * pageBytes
	}
	tables := slots / perTable
	if tables > uint64(saturatedBytes/array) {
		return saturatedBytes
	}
	return int64(tables) * array
}
