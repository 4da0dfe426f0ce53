package table

import (
	"reflect"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// The word layout (see the package doc): a head bucket is two 64-byte
// lines, and a key's hash picks the line, and the chain of overflow lines
// behind it, that holds the key's bits and its value's bits.

// wordSlots is the number of pairs in one line.
const wordSlots = 3

// Bits of a line's control word. The low three bytes are the slots' meta
// bytes, as in a bucket's meta word; the next byte, in a head line, has
// the bit chainBit selects set for each pair in the head's overflow lines,
// so that a lookup of an absent key seldom walks the chain (an overflow
// line has all eight set); above it a sequence number counts the removals
// from the line's slots; a head line holds the lock of itself and its
// chain; and forwarded marks both lines of a moved head.
const (
	wordOnes  = 0x01_0101
	wordHighs = 0x80_8080
	wordMeta  = 0xff_ffff
	chainBits = uint64(0xff) << 24
	seqOne    = uint64(1) << 32
	seqBits   = (uint64(1)<<62 - 1) &^ (wordMeta | chainBits)
	locked    = uint64(1) << 62
)

// lockSpins is the attempts to take a head's lock before a waiting writer
// yields its processor, and lockYields the yields before it sleeps.
const (
	lockSpins  = 8
	lockYields = 64
)

// wslot is one slot of a line: a key's bits and its value's.
type wslot struct{ k, v atomic.Uint64 }

// wline is one 64-byte line of the word layout.
type wline struct {
	ctrl atomic.Uint64
	next atomic.Pointer[wline]
	kv   [wordSlots]wslot
}

// wbucket is a head bucket of the word layout: bit 55 of a key's hash
// picks its line.
type wbucket struct {
	lines [2]wline
}

// headLine returns the head line of a key with hash h in t, a table of
// the word layout, without bounds checks: h&t.mask indexes t.words, and
// lineOf is 0 or 1.
func (t *table[K, V]) headLine(h uint64) *wline {
	i := uintptr(h&t.mask)*unsafe.Sizeof(wbucket{}) + uintptr(lineOf(h))*unsafe.Sizeof(wline{})
	return (*wline)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(t.words)), i))
}

// slotAt returns the slot of l whose byte holds the lowest bit set in m, a
// result of wordMatches, without a bounds check (m has bits in the three
// slots' bytes only).
func slotAt[W word](l *wline, m W) *wslot {
	return (*wslot)(unsafe.Add(unsafe.Pointer(&l.kv), uintptr(slotOf(m))*unsafe.Sizeof(wslot{})))
}

// lineOf returns the index of the line of a key with hash h.
func lineOf[W word](h W) W { return h >> 55 & 1 }

// chainBit returns the bit of a head line's control word that is set
// while its overflow lines hold a pair with meta byte w.
func chainBit[W word](w W) W { return 1 << (24 + w&7) }

// wordMatches returns the top bit of each slot's byte of control word c
// that equals h2, as matches does for a bucket's meta word.
func wordMatches[W word](c, h2 W) W {
	x := c&wordMeta ^ h2*wordOnes
	return (x - wordOnes) &^ x & wordHighs
}

// isWordLayout reports whether a Map from K to V keeps its pairs as words:
// K an integer kind and V at most a word with no pointers.
func isWordLayout[K comparable, V any]() bool {
	v := reflect.TypeFor[V]()
	return isIntKey[K]() && v.Size() <= 8 && v.Align() <= 8 && pointerFree(v)
}

// pointerFree reports whether values of t hold no pointers, so that their
// bits can be kept in a word that the garbage collector does not scan.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64:
		return true
	case reflect.Array:
		return t.Len() == 0 || pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// toWord returns the bits of x, at most a word in size, in a word;
// fromWord turns them back.
func toWord[T any](x T) uint64 {
	var w uint64
	*(*T)(unsafe.Pointer(&w)) = x
	return w
}

func fromWord[T any](w uint64) T {
	return *(*T)(unsafe.Pointer(&w))
}

// keyOf returns the key of integer kind K whose bits intBits returned.
func keyOf[K comparable](w uint64) (k K) {
	p := unsafe.Pointer(&k)
	switch unsafe.Sizeof(k) {
	case 8:
		*(*uint64)(p) = w
	case 4:
		*(*uint32)(p) = uint32(w)
	case 2:
		*(*uint16)(p) = uint16(w)
	default:
		*(*uint8)(p) = uint8(w)
	}
	return k
}

// lock takes the lock of head line l and its chain, held in l's control
// word. Readers ignore it; only a writer that holds it stores to the
// chain's control words. A write locks only its key's line, so that it
// takes from other processors' caches no line but the one it changes.
func (l *wline) lock() {
	for i := 0; ; i++ {
		if v := l.ctrl.Load(); v&locked == 0 && l.ctrl.CompareAndSwap(v, v|locked) {
			return
		}
		switch {
		case i < lockSpins:
		case i < lockSpins+lockYields:
			runtime.Gosched()
		default:
			// The holder is running a long Compute function.
			time.Sleep(20 * time.Microsecond)
		}
	}
}

// unlock releases head line l's lock, which the caller holds.
func (l *wline) unlock() {
	l.ctrl.Store(l.ctrl.Load() &^ locked)
}

// lock locks both of b's lines, the first first.
func (b *wbucket) lock() {
	b.lines[0].lock()
	b.lines[1].lock()
}

// unlock releases both of b's lines, which the caller has locked.
func (b *wbucket) unlock() {
	b.lines[1].unlock()
	b.lines[0].unlock()
}

// lockWords locks and returns the head line for hash h in t or, if its
// bucket has moved, in the table it moved to.
func lockWords[K comparable, V any](t *table[K, V], h uint64) (*table[K, V], *wline) {
	for {
		l := t.headLine(h)
		l.lock()
		if l.ctrl.Load()&forwarded == 0 {
			return t, l
		}
		l.unlock()
		t = t.next.Load()
	}
}

// find returns the line and slot that hold key bits kw, with meta byte w,
// in the chain that starts at l, whose head's lock the caller holds; nil
// if absent.
func (l *wline) find(kw, w uint64) (*wline, int) {
	for ; l != nil; l = l.next.Load() {
		for m := wordMatches(l.ctrl.Load(), w); m != 0; m &= m - 1 {
			if i := slotOf(m); l.kv[i].k.Load() == kw {
				return l, i
			}
		}
	}
	return nil, 0
}

// fill stores kw and vw, with meta byte w, in empty slot i of l, whose
// head's lock the caller holds, and sets the meta byte after the words, so
// that a reader that sees the byte reads the pair whole. A reader that saw
// the byte of the slot's previous pair retries: the remove that emptied
// the slot moved the line's sequence number. The store that sets the byte
// clears the bits of clear too: locked, to release a head line's lock.
func (l *wline) fill(i int, kw, vw, w, clear uint64) {
	l.kv[i].k.Store(kw)
	l.kv[i].v.Store(vw)
	l.ctrl.Store((l.ctrl.Load() | w<<(8*i)) &^ clear)
}

// fillFree stores kw and vw, with meta byte w, in one of the empty slots
// of l whose bytes' top bits free has set: the one that last held kw, if
// any, where the key word needs no store, and otherwise the first. It
// clears the bits of clear as fill does.
func (l *wline) fillFree(free, kw, vw, w, clear uint64) {
	for m := free; m != 0; m &= m - 1 {
		if i := slotOf(m); l.kv[i].k.Load() == kw {
			l.kv[i].v.Store(vw)
			l.ctrl.Store((l.ctrl.Load() | w<<(8*i)) &^ clear)
			return
		}
	}
	l.fill(slotOf(free), kw, vw, w, clear)
}

// remove empties slot i of l, whose head's lock the caller holds, and
// moves the line's sequence number in the same store, which clears the
// bits of clear too (as fill's does): a reader that matched the cleared
// byte and then reads a value that a later fill of the slot stored sees
// the number moved and reads the line again. Only a fill changes a slot's
// key.
func (l *wline) remove(i int, clear uint64) {
	c := l.ctrl.Load() &^ (uint64(0xff) << (8 * i))
	l.ctrl.Store((c&^seqBits | (c+seqOne)&seqBits) &^ clear)
}

// removeWords empties slot i of line l, of the chain that starts at line
// head, whose head's lock the caller holds, and unlinks l from the chain
// if that left it an empty overflow line, so that a drained chain gives
// its lines back and lookups walk no empty line. A reader on l goes on to
// its next line. If unlock, it releases head's lock, in the store that
// empties the slot when l is head and otherwise in the one that updates
// head's chain bits.
func (t *table[K, V]) removeWords(head, l *wline, i int, unlock bool) {
	if l == head {
		l.remove(i, lockBit(unlock))
		return
	}
	l.remove(i, 0)
	if l.ctrl.Load()&wordMeta == 0 {
		prev := head
		for prev.next.Load() != l {
			prev = prev.next.Load()
		}
		prev.next.Store(l.next.Load())
		t.overflow.Add(-1)
	}
	head.ctrl.Store(head.ctrl.Load()&^(chainBits|lockBit(unlock)) | head.chainBits())
}

// chainBits returns the chain bits of the pairs in head line head's
// overflow lines, whose head's lock the caller holds.
func (head *wline) chainBits() uint64 {
	var bits uint64
	for l := head.next.Load(); l != nil; l = l.next.Load() {
		c := l.ctrl.Load()
		for hits := c & wordHighs; hits != 0; hits &= hits - 1 {
			bits |= chainBit(c >> (8 * slotOf(hits)) & 0xff)
		}
	}
	return bits
}

// lockBit returns locked if unlock, else 0: the bit that a store which
// releases a head line's lock clears.
func lockBit(unlock bool) uint64 {
	if unlock {
		return locked
	}
	return 0
}

// addWords appends the pair kw, vw, with meta byte w, to the chain that
// starts at head line head, whose lock the caller holds, and reports
// whether it added an overflow line. If unlock, it releases head's lock,
// in the store that publishes the pair when the pair goes into head. A
// pair for an overflow line sets its chain bit in head before a reader
// can find it there.
func (t *table[K, V]) addWords(head *wline, kw, vw, w uint64, unlock bool) (grew bool) {
	if m := ^head.ctrl.Load() & wordHighs; m != 0 {
		head.fillFree(m, kw, vw, w, lockBit(unlock))
		return false
	}
	head.ctrl.Store(head.ctrl.Load() | chainBit(w))
	for l := head; ; l = l.next.Load() {
		if m := ^l.ctrl.Load() & wordHighs; m != 0 {
			l.fillFree(m, kw, vw, w, 0)
			break
		}
		if l.next.Load() == nil {
			nl := new(wline)
			nl.ctrl.Store(chainBits)
			nl.fill(0, kw, vw, w, 0)
			l.next.Store(nl)
			t.overflow.Add(1)
			grew = true
			break
		}
	}
	if unlock {
		head.unlock()
	}
	return grew
}
