package table

import (
	"math"
	"math/bits"
	"unsafe"
)

// A loadFactor is a layout's load factor: a table grows once it holds more than
// num/den entries per head bucket, and bucketsFor sizes a table to hold
// its entries at no more than that.
type loadFactor struct{ num, den uint64 }

// Load factor of the entry layout: 3/4 of its slots.
const (
	loadNum = 3
	loadDen = 4
)

var (
	// entryLoad is 3/4 of a bucket's five slots.
	entryLoad = loadFactor{bucketSlots * loadNum, loadDen}
	// wordLoad is 5/6 of a word bucket's six slots, three a line: a line
	// holds 2.5 pairs on average at the most, and a table of 2^k buckets
	// then takes the 2^k*64 bytes per line of an entry table of half as
	// many keys plus their entries.
	wordLoad = loadFactor{2 * wordSlots * 5, 6}
)

// cacheLine is the span of memory that counter stripes, and the fields
// that change now and then, are padded to: two 64-byte lines, since x86
// prefetches lines in adjacent pairs.
const cacheLine = 128

// AsyncTableBytes is the size of a new table's bucket array from which a
// goroutine of its own allocates it. Below it, allocating in place pauses
// the write for tens of microseconds, and starts the resize at once where
// a goroutine might wait for a processor until the writes are over.
const AsyncTableBytes = 1 << 20

// BucketsFor returns the head buckets of a table of the entry layout sized
// for n entries: the fewest, a power of two, that hold n at the load
// factor; at least one. It saturates at the largest power of two in an
// int, for any n.
func BucketsFor(n int) int { return entryLoad.bucketsFor(n) }

// GrowAt returns the number of entries above which a table of the entry
// layout of the given head buckets grows.
func GrowAt(buckets int) int { return entryLoad.growAt(buckets) }

// BucketsFor returns the head buckets of a table of m's layout sized for
// n entries, as the package's BucketsFor does for the entry layout.
func (m *Map[K, V]) BucketsFor(n int) int { return m.loadFactor().bucketsFor(n) }

// GrowAt returns the number of entries above which a table of m's layout
// of the given head buckets grows.
func (m *Map[K, V]) GrowAt(buckets int) int { return m.loadFactor().growAt(buckets) }

// loadFactor returns the load factor of m's layout: its table's, or for a map
// with no table the one its first write makes.
func (m *Map[K, V]) loadFactor() loadFactor {
	if t := m.cur.Load(); t != nil {
		return t.loadFactor()
	}
	if isWordLayout[K, V]() {
		return wordLoad
	}
	return entryLoad
}

// loadFactor returns the load factor of the layout that hs selects; a
// table's is its hasher's.
func (hs hasher) loadFactor() loadFactor {
	if hs.words {
		return wordLoad
	}
	return entryLoad
}

func (l loadFactor) bucketsFor(n int) int {
	// ceil(n*den/num), computed so that no int n overflows.
	u := uint64(max(n, 0))
	need := u/l.num*l.den + (u%l.num*l.den+l.num-1)/l.num
	if need <= 1 {
		return 1
	}
	if need > uint64(maxBuckets) {
		return maxBuckets
	}
	return 1 << bits.Len64(need-1)
}

// maxBuckets is the largest power of two in an int, at which bucketsFor
// saturates.
const maxBuckets = int(^uint(0)>>1)/2 + 1

func (l loadFactor) growAt(buckets int) int {
	return int(uint64(buckets) * l.num / l.den)
}

// BucketBytes returns the size of one head bucket of a Map from K to V, of
// the layout its types select: two 64-byte lines for the word layout, one
// for the entry layout.
func BucketBytes[K comparable, V any]() int64 {
	if isWordLayout[K, V]() {
		return int64(unsafe.Sizeof(wbucket{}))
	}
	return int64(unsafe.Sizeof(bucket[K, V]{}))
}

// EntryBytes returns the size of the entry that a Map from K to V
// allocates per key: none in the word layout.
func EntryBytes[K comparable, V any]() int64 {
	if isWordLayout[K, V]() {
		return 0
	}
	return int64(unsafe.Sizeof(Entry[K, V]{}))
}

// OverflowBytes returns the size of one overflow bucket of a Map from K to
// V: a line in the word layout, a bucket in the entry layout.
func OverflowBytes[K comparable, V any]() int64 {
	if isWordLayout[K, V]() {
		return int64(unsafe.Sizeof(wline{}))
	}
	return BucketBytes[K, V]()
}

// sizes returns the bytes of one of t's head buckets, of one of its
// overflow buckets (lines in the word layout) and of one entry.
func (t *table[K, V]) sizes() (head, overflow, entry int64) {
	if t.words != nil {
		return int64(unsafe.Sizeof(wbucket{})), int64(unsafe.Sizeof(wline{})), 0
	}
	b := int64(unsafe.Sizeof(bucket[K, V]{}))
	return b, b, int64(unsafe.Sizeof(Entry[K, V]{}))
}

// DefaultStep is the head buckets a write moves during a resize in a map
// that Init has not configured.
const DefaultStep = 64

// stepBuckets returns the buckets a write moves during a resize for a
// Config.Step of step: step of them, or all of them (MaxInt64) for 0. At
// a step of 64 a write moves a bounded few microseconds' worth, and a
// table of 2^k buckets finishes resizing after 2^k/64 writes, so that a
// map that is mostly read does not keep readers following moved buckets
// for long.
func stepBuckets(step int) int64 {
	if step == 0 {
		return math.MaxInt64
	}
	return int64(step)
}
