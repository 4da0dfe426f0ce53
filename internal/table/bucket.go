package table

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

// bucketSlots is the number of entries in one bucket: with the lock, the
// meta word and the overflow link, a bucket fills one 64-byte cache line on
// 64-bit platforms.
const bucketSlots = 5

const (
	metaOnes  = 0x0000_0001_0101_0101 // 1 in each slot's byte
	metaHighs = 0x0000_0080_8080_8080 // the top bit of each slot's byte
	metaSlots = 0x0000_00ff_ffff_ffff // every slot's byte
	// forwarded marks a head bucket whose entries have moved to the next
	// table. No slot's byte uses bit 63.
	forwarded = uint64(1) << 63
)

// An Entry is one key-value pair. It is never modified once stored.
type Entry[K comparable, V any] struct {
	Key K
	Val V
}

// bucket is a bucket of a table. Only the head bucket's mu is used; it
// guards the whole chain.
type bucket[K comparable, V any] struct {
	mu    sync.Mutex
	meta  atomic.Uint64
	slots [bucketSlots]atomic.Pointer[Entry[K, V]]
	next  atomic.Pointer[bucket[K, V]]
}

// word is the type parameter of the bit helpers of the hot paths (h2,
// matches, mixInt, ...), which every caller infers as uint64. They are
// generic only so that they inline: Go inlines a non-generic function into
// a generic one instantiated one import away but not two, and users
// instantiate Map through package shrinkmap, where each call would cost a
// few nanoseconds of a Get.
type word interface{ ~uint64 }

// h2 returns the meta byte of a key with hash h: bits 56-62 and the top
// bit, which tells a full slot from an empty one.
func h2[W word](h W) W { return h>>56 | 0x80 }

// matches returns the top bit of each slot's byte of meta that equals h2:
// a zero-byte search on meta^(h2 in every byte). A byte above a match may
// be reported too; callers compare keys anyway.
func matches[W word](meta, h2 W) W {
	x := meta ^ (h2 * metaOnes)
	return (x - metaOnes) &^ x & metaHighs
}

// emptySlots returns the top bit of each empty slot's byte of meta.
func emptySlots[W word](meta W) W { return ^meta & metaHighs }

// slotOf returns the slot whose byte holds the lowest bit set in m.
func slotOf[W word](m W) int { return bits.TrailingZeros64(uint64(m)) >> 3 }

// lookup returns the entry for k, which has hash h, in the chain headed by
// b, whose meta word the caller loaded as meta, and where it is: nil if
// absent. It needs no lock.
func (b *bucket[K, V]) lookup(meta uint64, k K, h uint64) (*Entry[K, V], *bucket[K, V], int) {
	w := h2(h)
	for {
		for m := matches(meta, w); m != 0; m &= m - 1 {
			i := slotOf(m)
			if e := b.slots[i].Load(); e != nil && e.Key == k {
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
func (t *table[K, V]) put(head, at *bucket[K, V], i int, e *Entry[K, V], h uint64) bool {
	if at != nil {
		at.slots[i].Store(e)
		return false
	}
	return t.add(head, e, h)
}

// add appends e, with hash h, to the chain headed by head, whose lock the
// caller holds, and reports whether it added an overflow bucket. The slot
// is filled before the meta byte that announces it.
func (t *table[K, V]) add(head *bucket[K, V], e *Entry[K, V], h uint64) bool {
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
			nb = new(bucket[K, V])
			nb.slots[0].Store(e)
			nb.meta.Store(h2(h))
			b.next.Store(nb)
			t.overflow.Add(1)
			return true
		}
		b = nb
	}
}

// remove empties slot i of b, whose chain's lock the caller holds. The
// slot is emptied before its meta byte is cleared.
func (b *bucket[K, V]) remove(i int) {
	b.slots[i].Store(nil)
	b.meta.Store(b.meta.Load() &^ (uint64(0xff) << (8 * i)))
}

// removeEntry empties slot i of bucket at, of the chain headed by head,
// whose lock the caller holds, and unlinks at from the chain if that left
// it an empty overflow bucket, as removeWords does for the word layout. A
// reader on at goes on to its next bucket.
func (t *table[K, V]) removeEntry(head, at *bucket[K, V], i int) {
	at.remove(i)
	if at == head || at.meta.Load()&metaHighs != 0 {
		return
	}
	prev := head
	for prev.next.Load() != at {
		prev = prev.next.Load()
	}
	prev.next.Store(at.next.Load())
	t.overflow.Add(-1)
}

// ptrHash returns the hash of an entry whose key is not equal to itself (a
// NaN): the runtime hashes such keys at random, so the entry is placed, and
// later moved, by its own address, which the garbage collector never
// changes.
func ptrHash[K comparable, V any](e *Entry[K, V]) uint64 {
	x := uint64(uintptr(unsafe.Pointer(e)))
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	return x ^ x>>33
}
