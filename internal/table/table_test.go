package table

import (
	"math"
	"math/big"
	"strings"
	"testing"
	"unsafe"
)

func TestBucketsFor(t *testing.T) {
	for _, tc := range []struct{ n, buckets int }{
		{-1, 1}, {0, 1}, {1, 1}, {3, 1}, {4, 2}, {7, 2}, {8, 4}, {15, 4}, {16, 8}, {960, 256}, {961, 512},
	} {
		if got := BucketsFor(tc.n); got != tc.buckets {
			t.Errorf("BucketsFor(%d) = %d; want %d", tc.n, got, tc.buckets)
		}
		if b := BucketsFor(tc.n); tc.n > 0 && (tc.n > GrowAt(b) || b > 1 && tc.n <= GrowAt(b/2)) {
			t.Errorf("BucketsFor(%d) = %d; want the fewest buckets whose GrowAt (%d) holds it", tc.n, b, GrowAt(b))
		}
	}
	if got := stepBuckets(64); got != 64 {
		t.Errorf("stepBuckets(64) = %d; want 64", got)
	}
	if got := stepBuckets(0); got != math.MaxInt64 {
		t.Errorf("stepBuckets(0) = %d; want all at once (MaxInt64)", got)
	}
}

// TestBucketsForSaturates checks BucketsFor against big-integer arithmetic
// at the extremes of int.
func TestBucketsForSaturates(t *testing.T) {
	limit := big.NewInt(int64(maxBuckets))
	inputs := []int{math.MinInt, -1, 0, 1, 7, 8, 9, 14, 15, 16, 896, 897, 1 << 20, math.MaxInt32, math.MaxInt - 1, math.MaxInt}
	for _, u := range []uint64{7<<33 - 1, 7 << 33, 7<<33 + 1, 7 << 60, 7<<60 + 1, 1 << 61, 1<<61 + 1, 1 << 62} {
		if u <= math.MaxInt {
			inputs = append(inputs, int(u))
		}
	}
	for _, n := range inputs {
		need := new(big.Int).Mul(big.NewInt(int64(max(n, 0))), big.NewInt(loadDen))
		need.Add(need, big.NewInt(bucketSlots*loadNum-1)).Quo(need, big.NewInt(bucketSlots*loadNum))
		want := big.NewInt(1)
		for want.Cmp(need) < 0 {
			want.Lsh(want, 1)
		}
		if want.Cmp(limit) > 0 {
			want = limit
		}
		if got := BucketsFor(n); int64(got) != want.Int64() {
			t.Errorf("BucketsFor(%d) = %d; want %d", n, got, want)
		}
	}
	// shrinkmap.MaxCapacity on 64-bit platforms: a Concurrent's first
	// table at the largest capacity.
	if u := uint64(7 << 33); u <= math.MaxInt {
		if got := BucketsFor(int(u)); uint64(got) != 1<<34 {
			t.Errorf("BucketsFor(7<<33) = %d; want 1<<34", got)
		}
	}
}

func TestSizes(t *testing.T) {
	// Stripes are padded so that no two share a cache line.
	if s := unsafe.Sizeof(stripe{}); s%cacheLine != 0 {
		t.Errorf("unsafe.Sizeof(stripe{}) = %d; want a multiple of %d", s, cacheLine)
	}
	// Writes to the base counter stay off the line that lookups load.
	var m Map[int, int]
	if d := unsafe.Offsetof(m.base) - unsafe.Offsetof(m.cur); d < 64 && unsafe.Sizeof(uintptr(0)) == 8 {
		t.Errorf("the base counter is %d bytes past Map.cur; want 64 or more", d)
	}
	// A bucket is one 64-byte cache line on 64-bit platforms, whatever K
	// and V: its slots point to entries.
	if unsafe.Sizeof(uintptr(0)) != 8 {
		return
	}
	for name, size := range map[string]uintptr{
		"int,int":          unsafe.Sizeof(bucket[int, int]{}),
		"string,[200]byte": unsafe.Sizeof(bucket[string, [200]byte]{}),
		"[3]byte,bool":     unsafe.Sizeof(bucket[[3]byte, bool]{}),
	} {
		if size != 64 {
			t.Errorf("unsafe.Sizeof(bucket[%s]{}) = %d; want 64", name, size)
		}
	}
}

// newTestMap returns a map of one stripe that moves one bucket per write,
// in the entry layout if entries and otherwise in the one its types select,
// holding keys [0, n) mapped to themselves, with no resize in progress.
func newTestMap(n int, entries bool) *Map[int, int] {
	m := new(Map[int, int])
	m.Init(Config{Stripes: 1, Step: 1, Entries: entries})
	for k := range n {
		m.Store(k, k)
	}
	m.Finish(m.Usage().Gen)
	return m
}

// movedFirst is the buckets TestVerifierFinds moves before it first
// verifies.
const movedFirst = 8

// breakers break a map in one way each, for TestVerifierFinds.
var breakers = []struct {
	name  string
	quiet bool
	want  string // in the error; "" for none
	// breakMap breaks m, which is resizing into a smaller table with
	// its first buckets forwarded; Verify has seen it once. e is an
	// entry no longer in m.
	breakMap func(m *Map[int, int], e *Entry[int, int])
}{
	{"sound", true, "", func(*Map[int, int], *Entry[int, int]) {}},
	{"meta byte", true, "meta byte", func(m *Map[int, int], e *Entry[int, int]) {
		b := liveBucket(m)
		b.meta.Store(b.meta.Load() ^ 1)
	}},
	{"stray meta bit", false, "beyond its slots", func(m *Map[int, int], e *Entry[int, int]) {
		b := liveBucket(m)
		b.meta.Store(b.meta.Load() | 1<<50)
	}},
	{"misplaced entry", false, "its hash selects", func(m *Map[int, int], e *Entry[int, int]) {
		t := m.cur.Load()
		h := m.cur.Load().entryHash(e)
		for j := range t.buckets {
			head := &t.buckets[j]
			if uint64(j) != h&t.mask && head.meta.Load()&forwarded == 0 {
				t.add(head, e, h)
				return
			}
		}
	}},
	{"key live twice", true, "live twice", func(m *Map[int, int], e *Entry[int, int]) {
		h := m.cur.Load().entryHash(e)
		t, head := lockBucket(m.cur.Load(), h)
		t.add(head, &Entry[int, int]{e.Key, -1}, h)
		head.mu.Unlock()
	}},
	{"forwarded bucket changed", false, "changed", func(m *Map[int, int], e *Entry[int, int]) {
		t := m.cur.Load()
		for j := range movedFirst {
			b := &t.buckets[j]
			for i := range b.slots {
				if old := b.slots[i].Load(); old != nil {
					b.slots[i].Store(&Entry[int, int]{old.Key, -1})
					return
				}
			}
		}
		panic("the forwarded buckets are empty")
	}},
	{"counter", true, "counters count", func(m *Map[int, int], e *Entry[int, int]) {
		m.base.n.Add(1)
	}},
	{"locked bucket", true, "is locked", func(m *Map[int, int], e *Entry[int, int]) {
		liveBucket(m).mu.Lock()
	}},
}

// TestVerifierFinds checks that the Verifier reports each kind of broken
// invariant, and nothing on a sound map.
func TestVerifierFinds(t *testing.T) {
	for _, tc := range breakers {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMap(1000, true)
			verifyBroken(t, m, tc.quiet, tc.want, func() {
				m.Delete(150)
				m.Store(150, 150)
				tc.breakMap(m, &Entry[int, int]{150, 150}) // an entry not in the map
			})
		})
	}
}

// verifyBroken starts compacting m, an idle map, into half its buckets and
// moves movedFirst of them, checks that Verify finds the map sound, breaks
// it with breakMap, and checks that Verify (quiet as quiet says) reports an
// error containing want, or none if want is empty.
func verifyBroken(t *testing.T, m *Map[int, int], quiet bool, want string, breakMap func()) {
	t.Helper()
	u := m.Usage()
	if !m.StartResize(Resize{Kind: Compact, Buckets: u.Buckets / 2}, u.Gen) {
		t.Fatalf("StartResize of an idle map failed: %+v", u)
	}
	m.Step(movedFirst)
	var v Verifier[int, int]
	if err := v.Verify(m, true); err != nil {
		t.Fatalf("Verify of a sound map mid-resize: %v", err)
	}
	breakMap()
	err := v.Verify(m, quiet)
	switch {
	case want == "" && err != nil:
		t.Errorf("Verify = %v; want nil", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("Verify = %v; want an error containing %q", err, want)
	}
}

// liveBucket returns a full head bucket of m's table that is not
// forwarded.
func liveBucket(m *Map[int, int]) *bucket[int, int] {
	t := m.cur.Load()
	for i := range t.buckets {
		b := &t.buckets[i]
		if meta := b.meta.Load(); meta&forwarded == 0 && meta&metaSlots != 0 {
			return b
		}
	}
	panic("no full bucket left unforwarded")
}

// TestGrowthWithSpreadCounters fills maps whose counts are spread over
// stripes, of both layouts: growth is checked from the writer's own stripe
// (see nearGrowth), and the table must still grow in time, each table
// whose threshold is at least 64 keys a stripe (where the stripe decides)
// holding at most an eighth more than its threshold.
func TestGrowthWithSpreadCounters(t *testing.T) {
	for _, entries := range []bool{false, true} {
		for _, n := range []int{100, 5000, 200_000} {
			m := new(Map[int, int])
			m.Init(Config{Stripes: 16, Entries: entries})
			if m.spread() == nil {
				t.Fatal("spread() = nil for a map of 16 stripes")
			}
			grows, judged := 0, 0
			for k := range n {
				before := m.Usage().Buckets
				m.Store(k, k)
				u := m.Usage()
				if u.Buckets != before {
					grows++
				}
				at := m.GrowAt(u.Buckets)
				if limit := at + at/8; at >= 64*16 && u.Len > limit {
					t.Fatalf("entries=%v n=%d: %d keys in %d buckets; want at most %d", entries, n, u.Len, u.Buckets, limit)
				}
				if at >= 64*16 {
					judged++
				}
			}
			if grows == 0 || n >= 5000 && judged == 0 {
				t.Errorf("entries=%v n=%d: the table grew %d times, %d keys were judged", entries, n, grows, judged)
			}
		}
	}
}

// TestEntryEmptiedOverflowBucketLeaves puts six keys in one bucket's chain
// of an entry-layout table (see checkEmptiedOverflowLeaves).
func TestEntryEmptiedOverflowBucketLeaves(t *testing.T) {
	m := new(Map[int, int])
	m.Init(Config{Stripes: 1, Capacity: 200, Entries: true})
	tab := m.cur.Load()
	var ks []int
	for k := 1; len(ks) < bucketSlots+2; k++ {
		if tab.hash(k)&tab.mask == 0 {
			ks = append(ks, k)
		}
	}
	checkEmptiedOverflowLeaves(t, m, ks, bucketSlots)
}

// checkEmptiedOverflowLeaves fills the head of one chain of m, whose keys
// ks are (head slots + 2), with slots+1 keys, so that the last takes an
// overflow bucket or line, which must leave the chain as soon as its key
// is deleted, with a new one taken by the next key.
func checkEmptiedOverflowLeaves(t *testing.T, m *Map[int, int], ks []int, slots int) {
	t.Helper()
	for _, k := range ks[:slots+1] {
		m.Store(k, k)
	}
	if got := m.Usage().Overflow; got != 1 {
		t.Fatalf("overflow count = %d after %d keys in one chain; want 1", got, slots+1)
	}
	runOverflowSteps(t, m, []overflowStep{
		{"delete", ks[slots], 0},
		{"store", ks[slots+1], 1},
		{"delete", ks[0], 1}, // a head slot: the overflow keeps its key
		{"delete", ks[slots+1], 0},
	})
	if got := m.Len(); got != slots-1 {
		t.Errorf("Len() = %d; want %d", got, slots-1)
	}
}

// overflowStep is one operation of an overflow-chain test, Store or Delete
// of k, and the overflow buckets (or lines) the map must have after it.
type overflowStep struct {
	op   string
	k    int
	want int
}

// runOverflowSteps runs steps on m and checks, after each, its overflow
// count and its invariants.
func runOverflowSteps(t *testing.T, m *Map[int, int], steps []overflowStep) {
	t.Helper()
	var v Verifier[int, int]
	for _, s := range steps {
		if s.op == "delete" {
			m.Delete(s.k)
		} else {
			m.Store(s.k, s.k)
		}
		if got := m.Usage().Overflow; got != s.want {
			t.Fatalf("overflow count = %d after %s(%d); want %d", got, s.op, s.k, s.want)
		}
		if err := v.Verify(m, true); err != nil {
			t.Fatalf("after %s(%d): %v", s.op, s.k, err)
		}
	}
}
