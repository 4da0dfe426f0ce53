package table

import (
	"math"
	"math/bits"
	"unsafe"
)

// Load factor: a table grows once it holds more than loadNum/loadDen of its
// head buckets' slots, and BucketsFor sizes a table to hold its entries at
// no more than that.
const (
	loadNum = 3
	loadDen = 4
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

// BucketsFor returns the head buckets of a table sized for n entries: the
// fewest, a power of two, that hold n at the load factor; at least one. It
// saturates at the largest power of two in an int, for any n.
func BucketsFor(n int) int {
	const perBucket = bucketSlots * loadNum // per loadDen buckets
	// ceil(n*loadDen/perBucket), computed so that no int n overflows.
	u := uint64(max(n, 0))
	need := u/perBucket*loadDen + (u%perBucket*loadDen+perBucket-1)/perBucket
	if need <= 1 {
		return 1
	}
	if need > uint64(maxBuckets) {
		return maxBuckets
	}
	return 1 << bits.Len64(need-1)
}

// maxBuckets is the largest power of two in an int, at which BucketsFor
// saturates.
const maxBuckets = int(^uint(0)>>1)/2 + 1

// GrowAt returns the number of entries above which a table of the given
// head buckets grows.
func GrowAt(buckets int) int {
	return buckets * bucketSlots * loadNum / loadDen
}

// BucketBytes returns the size of one bucket.
func BucketBytes[K comparable, V any]() int64 {
	return int64(unsafe.Sizeof(bucket[K, V]{}))
}

// EntryBytes returns the size of one entry.
func EntryBytes[K comparable, V any]() int64 {
	return int64(unsafe.Sizeof(Entry[K, V]{}))
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
