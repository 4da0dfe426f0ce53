package table

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// TestWordLayoutChoice checks which key and value types the word layout
// takes: integer keys, and values of at most a word with no pointers.
func TestWordLayoutChoice(t *testing.T) {
	type small struct{ _, _ int32 }
	type padded struct {
		_ int8
		_ int32
	}
	for _, tc := range []struct {
		name  string
		words bool
	}{
		{"int,int", isWordLayout[int, int]()},
		{"uint8,bool", isWordLayout[uint8, bool]()},
		{"int32,float64", isWordLayout[int32, float64]()},
		{"uintptr,complex64", isWordLayout[uintptr, complex64]()},
		{"int,struct{a,b int32}", isWordLayout[int, small]()},
		{"int,struct{a int8; b int32}", isWordLayout[int, padded]()},
		{"int16,[2]uint32", isWordLayout[int16, [2]uint32]()},
		{"int,[4]int", !isWordLayout[int, [4]int]()},
		{"int,string", !isWordLayout[int, string]()},
		{"int,*int", !isWordLayout[int, *int]()},
		{"int,[1]*int", !isWordLayout[int, [1]*int]()},
		{"int,complex128", !isWordLayout[int, complex128]()},
		{"float64,int", !isWordLayout[float64, int]()},
		{"string,int", !isWordLayout[string, int]()},
		{"[2]int32,int", !isWordLayout[[2]int32, int]()},
		{"int,any", !isWordLayout[int, any]()},
	} {
		if !tc.words {
			t.Errorf("isWordLayout[%s]() chose the wrong layout", tc.name)
		}
	}
}

// TestWordRoundTrip checks that keys and values come back from their
// words as they went in, negative and narrow ones included.
func TestWordRoundTrip(t *testing.T) {
	for _, k := range []int8{-128, -1, 0, 1, 127} {
		if got := keyOf[int8](intBits(k)); got != k {
			t.Errorf("keyOf(intBits(int8(%d))) = %d", k, got)
		}
	}
	for _, k := range []int64{-1 << 63, -1, 0, 1<<63 - 1} {
		if got := keyOf[int64](intBits(k)); got != k {
			t.Errorf("keyOf(intBits(int64(%d))) = %d", k, got)
		}
	}
	for _, v := range [][3]byte{{1, 2, 3}, {255, 0, 255}} {
		if got := fromWord[[3]byte](toWord(v)); got != v {
			t.Errorf("fromWord(toWord(%v)) = %v", v, got)
		}
	}
	for _, v := range []float32{-0.5, 3.25} {
		if got := fromWord[float32](toWord(v)); got != v {
			t.Errorf("fromWord(toWord(%v)) = %v", v, got)
		}
	}
}

// sameLine returns n keys, from 1 up, whose hashes under t's seed pick
// line side of their bucket.
func sameLine(t *table[int, int], side uint64, n int) []int {
	var ks []int
	for k := 1; len(ks) < n; k++ {
		if lineOf(mixInt(intBits(k), t.intSeed)) == side {
			ks = append(ks, k)
		}
	}
	return ks
}

// TestWordSlotReuse has a writer fill one slot of a one-bucket table with
// two keys in turn, each always with its own value, deleting each before
// storing the other, while readers look up both: a read that paired one
// key with the other's value, because the slot was refilled between its
// loads of the key and the value, would fail it. The line's sequence
// number makes such a read retry: the test first checks that emptying the
// slot moves it and that the other key refills the slot (the race itself
// is too narrow to be sure to meet on a few shared cores).
func TestWordSlotReuse(t *testing.T) {
	m := new(Map[int, int])
	m.Init(Config{Stripes: 1})
	if !m.Words() {
		t.Fatal("Map[int, int] is not in the word layout")
	}
	ks := sameLine(m.cur.Load(), 0, 2)
	a, b := ks[0], ks[1]
	val := func(k int) int { return k * 1000 }
	line := &m.cur.Load().words[0].lines[0]
	m.Store(a, val(a))
	seq := line.ctrl.Load() & seqBits
	m.Delete(a)
	if got := line.ctrl.Load() & seqBits; got == seq {
		t.Fatalf("line sequence number %#x unchanged by emptying its slot", got)
	}
	m.Store(b, val(b))
	if got := line.kv[0].k.Load(); got != intBits(b) {
		t.Fatalf("slot 0 holds key bits %#x after Delete(%d), Store(%d); want the slot reused", got, a, b)
	}
	m.Delete(b)
	const rounds = 100000
	var stop atomic.Bool
	var hits [2]atomic.Int64
	wait := startReaders(&stop, func() bool {
		for i, k := range []int{a, b} {
			v, ok := m.Get(k)
			if ok && v != val(k) {
				t.Errorf("Get(%d) = %d; want %d, the only value it is stored with", k, v, val(k))
				return false
			}
			if ok {
				hits[i].Add(1)
			}
		}
		return true
	})
	// The writer goes on until the readers have found each key often,
	// which on a loaded machine may take more than rounds, for at most
	// ten seconds. It keeps a key present for a few lookups of its own, so
	// that the readers' loop cannot fall into step with it and miss one
	// key every time.
	deadline := time.Now().Add(10 * time.Second)
	found := func() bool { return hits[0].Load() >= 100 && hits[1].Load() >= 100 }
	for i := 0; (i < rounds || !found()) && !stop.Load() && time.Now().Before(deadline); i++ {
		k := ks[i%2]
		m.Store(k, val(k))
		for range i % 4 {
			m.Get(k)
		}
		m.Delete(k)
	}
	stop.Store(true)
	wait()
	t.Logf("readers found key %d %d times and key %d %d times", a, hits[0].Load(), b, hits[1].Load())
	for i, k := range ks {
		if hits[i].Load() == 0 {
			t.Errorf("readers never found key %d present", k)
		}
	}
	if u := m.Usage(); u.Buckets != 1 || u.Len != 0 {
		t.Errorf("Usage() = %+v; want one empty bucket", u)
	}
}

// TestWordLockWaitsForLongCompute holds a bucket's lock in a Compute whose
// function sleeps, past the lock's spins and yields, while another
// goroutine stores the same key: the store waits for it and lands after.
func TestWordLockWaitsForLongCompute(t *testing.T) {
	m := new(Map[int, int])
	m.Init(Config{Stripes: 1})
	inside := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Compute(7, func(int, bool) (int, Op) {
			close(inside)
			time.Sleep(20 * time.Millisecond)
			return 1, Update
		})
	}()
	<-inside
	m.Store(7, 2)
	<-done
	if v, ok := m.Get(7); !ok || v != 2 {
		t.Errorf("Get(7) = %d, %v; want 2, true: the Store waits for the Compute holding the lock", v, ok)
	}
	if err := new(Verifier[int, int]).Verify(m, true); err != nil {
		t.Error(err)
	}
}

// wordBreakers break a map of the word layout in one way each, for
// TestVerifierFindsWords. m is resizing into a smaller table with its
// first movedFirst buckets forwarded, and Verify has seen it once.
var wordBreakers = []struct {
	name     string
	quiet    bool
	want     string // in the error; "" for none
	breakMap func(m *Map[int, int])
}{
	{"sound", true, "", func(*Map[int, int]) {}},
	{"meta byte", true, "meta byte", func(m *Map[int, int]) {
		l := &liveWords(m).lines[0]
		l.ctrl.Store(l.ctrl.Load() ^ 1)
	}},
	{"stray bit", false, "stray bits", func(m *Map[int, int]) {
		// Only head lines hold a lock.
		l := &liveWords(m).lines[1]
		for l.next.Load() != nil {
			l = l.next.Load()
		}
		nl := new(wline)
		nl.ctrl.Store(locked)
		l.next.Store(nl)
	}},
	{"chain bits", true, "chain bits", func(m *Map[int, int]) {
		l := &liveWords(m).lines[0]
		l.ctrl.Store(l.ctrl.Load() ^ chainBit(uint64(0)))
	}},
	{"overflow line without chain bits", false, "lacks chain bits", func(m *Map[int, int]) {
		l := &liveWords(m).lines[1]
		for l.next.Load() != nil {
			l = l.next.Load()
		}
		l.next.Store(new(wline))
	}},
	{"misplaced key", false, "its hash selects", func(m *Map[int, int]) {
		kw := liveWords(m).lines[0].kv[0].k.Load()
		h := mixInt(kw, m.cur.Load().intSeed)
		t := m.cur.Load()
		for j := range t.words {
			head := &t.words[j]
			if uint64(j) != h&t.mask && head.lines[0].ctrl.Load()&forwarded == 0 {
				t.addWords(&head.lines[0], kw, 0, h2(h), false)
				return
			}
		}
	}},
	{"key live twice", true, "live twice", func(m *Map[int, int]) {
		kw := liveWords(m).lines[0].kv[0].k.Load()
		h := mixInt(kw, m.cur.Load().intSeed)
		t, head := lockWords(m.cur.Load(), h)
		t.addWords(head, kw, 0, h2(h), false)
		head.unlock()
	}},
	{"forwarded bucket changed", false, "changed", func(m *Map[int, int]) {
		t := m.cur.Load()
		for j := range movedFirst {
			if l := &t.words[j].lines[0]; l.ctrl.Load()&wordMeta != 0 {
				l.kv[slotOf(l.ctrl.Load()&wordHighs)].v.Add(1)
				return
			}
		}
		panic("the forwarded buckets are empty")
	}},
	{"counter", true, "counters count", func(m *Map[int, int]) {
		m.base.n.Add(1)
	}},
	{"locked bucket", true, "is locked", func(m *Map[int, int]) {
		liveWords(m).lock()
	}},
}

// TestVerifierFindsWords checks that the Verifier reports each kind of
// broken invariant of the word layout, and nothing on a sound map.
func TestVerifierFindsWords(t *testing.T) {
	for _, tc := range wordBreakers {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMap(1000, false)
			verifyBroken(t, m, tc.quiet, tc.want, func() { tc.breakMap(m) })
		})
	}
}

// liveWords returns a head bucket of m's table, of the word layout, that
// is not forwarded and whose first line's slot 0 is full.
func liveWords(m *Map[int, int]) *wbucket {
	t := m.cur.Load()
	for i := range t.words {
		b := &t.words[i]
		if c := b.lines[0].ctrl.Load(); c&forwarded == 0 && c&0xff != 0 {
			return b
		}
	}
	panic("no full bucket left unforwarded")
}

// TestWordSizes checks that a line is one 64-byte cache line and a head
// bucket two, on 64-bit platforms.
func TestWordSizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		return
	}
	if s := unsafe.Sizeof(wline{}); s != 64 {
		t.Errorf("unsafe.Sizeof(wline{}) = %d; want 64", s)
	}
	if s := unsafe.Sizeof(wbucket{}); s != 128 {
		t.Errorf("unsafe.Sizeof(wbucket{}) = %d; want 128", s)
	}
}

// TestWordDrainedChainGivesLinesBack fills a map until its chains have
// overflow lines and deletes every key: the empty overflow lines leave
// their chains, so that none is left.
func TestWordDrainedChainGivesLinesBack(t *testing.T) {
	m := new(Map[int, int])
	m.Init(Config{Stripes: 1, Step: 0})
	const n = 5000
	for k := range n {
		m.Store(k, k)
	}
	if u := m.Usage(); u.Overflow == 0 || u.Resize != None {
		t.Fatalf("Usage() = %+v after %d keys; want overflow lines and no resize", u, n)
	}
	var v Verifier[int, int]
	for k := range n {
		m.Delete(k)
		if k%500 == 0 {
			if err := v.Verify(m, true); err != nil {
				t.Fatalf("after deleting %d keys: %v", k+1, err)
			}
		}
	}
	if u := m.Usage(); u.Overflow != 0 || u.Len != 0 {
		t.Errorf("Usage() = %+v after deleting every key; want no overflow lines", u)
	}
}

// TestWordEmptiedOverflowLineLeaves puts four keys in one line's chain of
// a one-bucket table (see checkEmptiedOverflowLeaves).
func TestWordEmptiedOverflowLineLeaves(t *testing.T) {
	m := new(Map[int, int])
	m.Init(Config{Stripes: 1})
	checkEmptiedOverflowLeaves(t, m, sameLine(m.cur.Load(), 0, wordSlots+2), wordSlots)
}

// sameChain returns n keys, from start up, whose hashes under t's seed
// pick line 0 of bucket 0.
func sameChain(t *table[int, int], start, n int) []int {
	var ks []int
	for k := start; len(ks) < n; k++ {
		if h := mixInt(intBits(k), t.intSeed); h&t.mask == 0 && lineOf(h) == 0 {
			ks = append(ks, k)
		}
	}
	return ks
}

// TestWordChainUnderChurn has a writer add and remove keys of one chain, so
// that its overflow lines come and go and its head's chain bits change,
// while readers look up keys of the chain that stay present all along
// (each must always be found, with its value) and keys that are never
// stored (each must never be). It checks that the writer saw the chain
// grow and shrink and an absent key's chain bit clear while the head had
// overflow lines, so that the readers ran over both kinds of walk.
func TestWordChainUnderChurn(t *testing.T) {
	m := new(Map[int, int])
	m.Init(Config{Stripes: 1, Capacity: 1000})
	tab := m.cur.Load()
	ks := sameChain(tab, 1, 24)
	stay, churn, never := ks[:6], ks[6:18], ks[18:]
	val := func(k int) int { return k*7 + 1 }
	for _, k := range stay {
		m.Store(k, val(k))
	}
	head := &tab.words[0].lines[0]
	var stop atomic.Bool
	var reads atomic.Int64
	wait := startReaders(&stop, func() bool {
		for _, k := range stay {
			if v, ok := m.Get(k); !ok || v != val(k) {
				t.Errorf("Get(%d) = %d, %v; want %d, true: it stays present", k, v, ok, val(k))
				return false
			}
		}
		for _, k := range never {
			if v, ok := m.Get(k); ok {
				t.Errorf("Get(%d) = %d, true; it was never stored", k, v)
				return false
			}
		}
		reads.Add(1)
		return true
	})
	rng := rand.New(rand.NewPCG(1, 2))
	var grew, shrank, skipped int
	deadline := time.Now().Add(300 * time.Millisecond)
	for i := 0; !stop.Load() && (i < 20000 || time.Now().Before(deadline)); i++ {
		before := tab.overflow.Load()
		k := churn[rng.IntN(len(churn))]
		if _, ok := m.Get(k); ok {
			m.Delete(k)
		} else {
			m.Store(k, val(k))
		}
		switch after := tab.overflow.Load(); {
		case after > before:
			grew++
		case after < before:
			shrank++
		}
		for _, a := range never {
			w := h2(mixInt(intBits(a), tab.intSeed))
			if c := head.ctrl.Load(); head.next.Load() != nil && c&chainBit(w) == 0 {
				skipped++
			}
		}
		if i%64 == 0 {
			runtime.Gosched()
		}
	}
	stop.Store(true)
	wait()
	if m.cur.Load() != tab {
		t.Fatal("the table resized; the test needs its chain to stay in one table")
	}
	if grew == 0 || shrank == 0 || skipped == 0 || reads.Load() == 0 {
		t.Errorf("overflow lines added %d times, unlinked %d times, absent keys' chain bit clear %d times, %d reader rounds; want each > 0", grew, shrank, skipped, reads.Load())
	}
	if err := new(Verifier[int, int]).Verify(m, true); err != nil {
		t.Error(err)
	}
}

// startReaders starts a reader on each processor but one (at least one),
// each calling read until stop is set or read returns false, which sets
// it; the returned wait waits for them all.
func startReaders(stop *atomic.Bool, read func() bool) (wait func()) {
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)-1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if !read() {
					stop.Store(true)
					return
				}
			}
		}()
	}
	return wg.Wait
}
