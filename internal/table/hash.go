package table

import (
	"hash/maphash"
	"math/bits"
	"reflect"
	"unsafe"
)

// Integer keys are hashed by two multiply-and-fold rounds over their bits
// and a per-map seed, which costs a few cycles where maphash.Comparable
// calls into the runtime's generic hasher. Other keys use maphash.

// isIntKey reports whether K is an integer kind, named or not.
func isIntKey[K comparable]() bool {
	switch reflect.TypeFor[K]().Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

// intBits returns the bits of k, which must be of an integer kind, zero
// extended to 64. The switch on its size is resolved at compile time for
// each shape of K.
func intBits[K comparable](k K) uint64 {
	p := unsafe.Pointer(&k)
	switch unsafe.Sizeof(k) {
	case 8:
		return *(*uint64)(p)
	case 4:
		return uint64(*(*uint32)(p))
	case 2:
		return uint64(*(*uint16)(p))
	default:
		return uint64(*(*uint8)(p))
	}
}

// mixInt hashes x with seed: each round multiplies by an odd constant into
// 128 bits and folds the halves together, so every bit of x reaches both
// the low bits (the bucket index) and the high bits (the meta byte and the
// counter stripe).
func mixInt[W word](x, seed W) uint64 {
	hi, lo := bits.Mul64(uint64(x^seed), 0x9e3779b97f4a7c15)
	hi, lo = bits.Mul64(hi^lo, 0xd6e8feb86659fd93)
	return hi ^ lo
}

// hasher is a map's hash function, made with the map's first table and
// copied into every later one, so that a key hashes the same in each.
type hasher struct {
	seed maphash.Seed
	// intSeed seeds the mixing of the bits of integer keys, for which
	// intKey is set; other keys are hashed by maphash with seed.
	intSeed uint64
	intKey  bool
	// words selects the word layout (see wbucket): integer keys and
	// values of at most a word with no pointers.
	words bool
}

// newHasher returns a hasher for a map from K to V with a new random seed,
// of the word layout if words and the types allow it.
func newHasher[K comparable, V any](words bool) hasher {
	seed := maphash.MakeSeed()
	return hasher{
		seed:    seed,
		intSeed: maphash.Comparable(seed, uint64(0x5eed)),
		intKey:  isIntKey[K](),
		words:   words && isWordLayout[K, V](),
	}
}

// hash returns the hash of k. It is small enough to inline.
func (t *table[K, V]) hash(k K) uint64 {
	if t.intKey {
		return mixInt(intBits(k), t.intSeed)
	}
	return t.hashAny(k)
}

// hashAny returns the maphash hash of k.
func (t *table[K, V]) hashAny(k K) uint64 {
	return maphash.Comparable(t.seed, k)
}

// entryHash returns the hash by which e is placed: its key's, or for a key
// not equal to itself (a NaN) one derived from e's address.
func (t *table[K, V]) entryHash(e *Entry[K, V]) uint64 {
	if e.Key != e.Key {
		return ptrHash(e)
	}
	return t.hash(e.Key)
}
