package shrinkmap

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

// The table under Concurrent: a power-of-two array of buckets, each with up
// to bucketSlots entries and a chain of overflow buckets. A bucket's meta
// word holds one byte per slot, 0 for an empty slot and 0x80|7 bits of the
// key's hash for a full one, so a lookup matches all slots' bytes at once
// and compares keys only where the byte agrees. Slots point to immutable
// entries: a write allocates a new entry and stores its pointer, so a
// reader loads an entry whole or not at all, for any V.
//
// Readers take no lock. Writers lock the head bucket of the chain that
// holds the key. During a resize (see ctable_resize.go) the head bucket's
// meta word carries the forwarded bit once its entries are in the next
// table; readers and writers that meet it continue in the next table.

// bucketSlots is the number of entries in one bucket: with the lock, the
// meta word and the overflow link, a bucket fills one 64-byte cache line on
// 64-bit platforms.
const bucketSlots = 5

const (
	metaOnes  = 0x0000_0001_0101_0101 // 1 in each slot's byte
	metaHighs = 0x0000_0080_8080_8080 // the top bit of each slot's byte
	// forwarded marks a head bucket whose entries have moved to the next
	// table. No slot's byte uses bit 63.
	forwarded = uint64(1) << 63
)

// Load factor: a table grows once it holds more than loadNum/loadDen of its
// head buckets' slots, and a compaction sizes a table to hold the live
// entries at no more than that.
const (
	loadNum = 3
	loadDen = 4
)

// centry is one key-value pair. It is never modified once published.
type centry[K comparable, V any] struct {
	key K
	val V
}

// cbucket is a bucket of a ctable. Only the head bucket's mu is used; it
// guards the whole chain.
type cbucket[K comparable, V any] struct {
	mu    sync.Mutex
	meta  atomic.Uint64
	slots [bucketSlots]atomic.Pointer[centry[K, V]]
	next  atomic.Pointer[cbucket[K, V]]
}

// ctable is one generation of the table. The fields after the padding
// change during a resize; they are kept off the line that readers load.
type ctable[K comparable, V any] struct {
	buckets []cbucket[K, V]
	mask    uint64
	// next is the table this one is being resized into; nil until a
	// resize starts. Every field of resize is written before next.
	next   atomic.Pointer[ctable[K, V]]
	resize resizeInfo
	_      [cacheLine]byte

	starting atomic.Bool  // set by the one writer that starts a resize
	claimed  atomic.Int64 // buckets claimed for moving, in strides
	moved    atomic.Int64 // buckets moved
	spent    atomic.Int64 // nanoseconds spent moving
	overflow atomic.Int64 // overflow buckets allocated in this table
}

func newTable[K comparable, V any](buckets int) *ctable[K, V] {
	return &ctable[K, V]{buckets: make([]cbucket[K, V], buckets), mask: uint64(buckets - 1)}
}

// h2 returns the meta byte of a key with hash h: bits 56-62 and the top
// bit, which tells a full slot from an empty one.
func h2(h uint64) uint64 { return h>>56 | 0x80 }

// matches returns the top bit of each slot's byte of meta that equals h2:
// a zero-byte search on meta^(h2 in every byte). A byte above a match may
// be reported too; callers compare keys anyway.
func matches(meta, h2 uint64) uint64 {
	x := meta ^ (h2 * metaOnes)
	return (x - metaOnes) &^ x & metaHighs
}

// emptySlots returns the top bit of each empty slot's byte of meta.
func emptySlots(meta uint64) uint64 { return ^meta & metaHighs }

// slotOf returns the slot whose byte holds the lowest bit set in m.
func slotOf(m uint64) int { return bits.TrailingZeros64(m) >> 3 }

// lookup returns the entry for k, which has hash h, in the chain headed by
// b, whose meta word the caller loaded as meta, and where it is: nil if
// absent. It needs no lock.
func (b *cbucket[K, V]) lookup(meta uint64, k K, h uint64) (*centry[K, V], *cbucket[K, V], int) {
	w := h2(h)
	for {
		for m := matches(meta, w); m != 0; m &= m - 1 {
			i := slotOf(m)
			if e := b.slots[i].Load(); e != nil && e.key == k {
				return e, b, i
			}
		}
		if b = b.next.Load(); b == nil {
			return nil, nil, 0
		}
		meta = b.meta.Load()
	}
}

// put stores e, which has hash h, in the chain headed by head, whose lock
// the caller holds, replacing the entry at (at, i) if at is not nil. It
// returns whether it had to add an overflow bucket.
func (t *ctable[K, V]) put(head, at *cbucket[K, V], i int, e *centry[K, V], h uint64) bool {
	if at != nil {
		at.slots[i].Store(e)
		return false
	}
	return t.add(head, e, h)
}

// add appends e, with hash h, to the chain headed by head, whose lock the
// caller holds, and reports whether it added an overflow bucket. The slot
// is filled before the meta byte that announces it.
func (t *ctable[K, V]) add(head *cbucket[K, V], e *centry[K, V], h uint64) bool {
	b := head
	for {
		meta := b.meta.Load()
		if m := emptySlots(meta); m != 0 {
			i := slotOf(m)
			b.slots[i].Store(e)
			b.meta.Store(meta | h2(h)<<(8*i))
			return false
		}
		nb := b.next.Load()
		if nb == nil {
			nb = new(cbucket[K, V])
			nb.slots[0].Store(e)
			nb.meta.Store(h2(h))
			b.next.Store(nb)
			t.overflow.Add(1)
			return true
		}
		b = nb
	}
}

// remove empties slot i of b, whose chain's lock the caller holds.
func (b *cbucket[K, V]) remove(i int) {
	b.slots[i].Store(nil)
	b.meta.Store(b.meta.Load() &^ (uint64(0xff) << (8 * i)))
}

// ptrHash returns a hash for an entry whose key is not equal to itself (a
// NaN): the runtime hashes such keys at random, so the entry is placed, and
// later moved, by its own address, which the garbage collector never
// changes.
func ptrHash[K comparable, V any](e *centry[K, V]) uint64 {
	x := uint64(uintptr(unsafe.Pointer(e)))
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	return x ^ x>>33
}

// bucketsFor returns the head buckets of a table sized for n entries: the
// fewest, a power of two, that hold n at the load factor; at least one. It
// saturates at the largest power of two in an int, for any n.
func bucketsFor(n int) int {
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

// maxBuckets is the largest power of two in an int, at which bucketsFor
// saturates.
const maxBuckets = int(^uint(0)>>1)/2 + 1

// growAt returns the number of entries above which a table of the given
// head buckets grows.
func growAt(buckets int) int {
	return buckets * bucketSlots * loadNum / loadDen
}

// bucketBytes is the size of one bucket.
func bucketBytes[K comparable, V any]() int64 {
	return int64(unsafe.Sizeof(cbucket[K, V]{}))
}

// entryBytes is the size of one entry.
func entryBytes[K comparable, V any]() int64 {
	return int64(unsafe.Sizeof(centry[K, V]{}))
}
