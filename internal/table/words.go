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
// bytes, as in a bucket's meta word; above them a sequence number counts
// the fills of the line's slots; the head's first line holds the lock of
// the head's lines and chains; and forwarded marks both lines of a moved
// head.
const (
	wordOnes  = 0x01_0101
	wordHighs = 0x80_8080
	wordMeta  = 0xff_ffff
	seqOne    = uint64(1) << 24
	seqBits   = (uint64(1)<<62 - 1) &^ wordMeta
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

// lineOf returns the index of the line of a key with hash h.
func lineOf(h uint64) uint64 { return h >> 55 & 1 }

// wordMatches returns the top bit of each slot's byte of control word c
// that equals h2, as matches does for a bucket's meta word.
func wordMatches(c, h2 uint64) uint64 {
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

// lock takes the lock of b's lines and chains, held in its first line's
// control word. Readers ignore it; only a writer that holds it stores to
// b's control words.
func (b *wbucket) lock() {
	c := &b.lines[0].ctrl
	for i := 0; ; i++ {
		if v := c.Load(); v&locked == 0 && c.CompareAndSwap(v, v|locked) {
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

// unlock releases b's lock, which the caller holds.
func (b *wbucket) unlock() {
	c := &b.lines[0].ctrl
	c.Store(c.Load() &^ locked)
}

// lockWords locks and returns the head bucket for hash h in t or, if it
// has moved, in the table it moved to.
func lockWords[K comparable, V any](t *table[K, V], h uint64) (*table[K, V], *wbucket) {
	for {
		b := &t.words[h&t.mask]
		b.lock()
		if b.lines[0].ctrl.Load()&forwarded == 0 {
			return t, b
		}
		b.unlock()
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
// head's lock the caller holds. It moves the sequence number before it
// stores the words, so that a reader that read the slot's old key and then
// the new value sees the number moved, and sets the meta byte after.
func (l *wline) fill(i int, kw, vw, w uint64) {
	c := l.ctrl.Load()
	c = c&^seqBits | (c+seqOne)&seqBits
	l.ctrl.Store(c)
	l.kv[i].k.Store(kw)
	l.kv[i].v.Store(vw)
	l.ctrl.Store(c | w<<(8*i))
}

// fillFree stores kw and vw, with meta byte w, in one of the empty slots
// of l whose bytes' top bits free has set: the one that last held kw, if
// any, where the key word needs no store and readers no retry (a reader
// that matched the removed pair's byte reads kw with its new value), and
// otherwise the first, by fill.
func (l *wline) fillFree(free, kw, vw, w uint64) {
	for m := free; m != 0; m &= m - 1 {
		if i := slotOf(m); l.kv[i].k.Load() == kw {
			l.kv[i].v.Store(vw)
			l.ctrl.Store(l.ctrl.Load() | w<<(8*i))
			return
		}
	}
	l.fill(slotOf(free), kw, vw, w)
}

// remove empties slot i of l, whose head's lock the caller holds. Only a
// fill changes a slot's key, so a reader that matched the cleared byte
// reads the removed pair whole.
func (l *wline) remove(i int) {
	l.ctrl.Store(l.ctrl.Load() &^ (uint64(0xff) << (8 * i)))
}

// removeWords empties slot i of line l, of the chain that starts at line
// head, whose head's lock the caller holds, and unlinks l from the chain
// if that left it an empty overflow line, so that a drained chain gives
// its lines back. A reader on l goes on to its next line.
func (t *table[K, V]) removeWords(head, l *wline, i int) {
	l.remove(i)
	if l == head || l.ctrl.Load()&wordMeta != 0 {
		return
	}
	prev := head
	for prev.next.Load() != l {
		prev = prev.next.Load()
	}
	prev.next.Store(l.next.Load())
	t.overflow.Add(-1)
}

// addWords appends the pair kw, vw, with meta byte w, to the chain that
// starts at line l, whose head's lock the caller holds, and reports
// whether it added an overflow line.
func (t *table[K, V]) addWords(l *wline, kw, vw, w uint64) bool {
	for {
		if m := ^l.ctrl.Load() & wordHighs; m != 0 {
			l.fillFree(m, kw, vw, w)
			return false
		}
		nl := l.next.Load()
		if nl == nil {
			nl = new(wline)
			nl.fill(0, kw, vw, w)
			l.next.Store(nl)
			t.overflow.Add(1)
			return true
		}
		l = nl
	}
}
