package shrinkmap_test

import (
	"fmt"
	"maps"
	"slices"

	"github.com/shrinkmap/shrinkmap"
)

// A traffic burst: 100,000 sessions of 128 bytes arrive, 99% leave. A
// native map would keep its 18 MiB table; the ShrinkMap compacts itself as
// it drains.
func Example() {
	type session [128]byte
	m := shrinkmap.New[int64, session]()
	for id := range int64(100_000) {
		m.Set(id, session{})
	}
	s := m.Stats()
	fmt.Printf("peak: %d sessions, %d MiB table\n", s.Len, s.TableBytes>>20)

	for id := range int64(99_000) {
		m.Delete(id)
	}
	s = m.Stats()
	fmt.Printf("drained: %d sessions, %d KiB table, %d compactions\n", s.Len, s.TableBytes>>10, s.Shrinks)
	// Output:
	// peak: 100000 sessions, 18 MiB table
	// drained: 1000 sessions, 288 KiB table, 5 compactions
}

func ExampleNew() {
	m := shrinkmap.New[string, int](shrinkmap.WithCapacity(100))
	m.Set("alice", 1)
	m.Set("bob", 2)
	v, ok := m.Get("alice")
	fmt.Println(v, ok)
	m.Delete("bob")
	fmt.Println(m.Len(), m.Has("bob"))
	// Output:
	// 1 true
	// 1 false
}

func ExampleShrinkMap_Shrink() {
	// With the Never policy the map compacts only when asked to.
	m := shrinkmap.New[int64, int64](shrinkmap.WithPolicy(shrinkmap.Never()))
	for i := range int64(10_000) {
		m.Set(i, i)
	}
	for i := range int64(9_990) {
		m.Delete(i)
	}
	fmt.Println("before:", m.Stats().TableBytes, "bytes")
	m.Shrink()
	fmt.Println("after: ", m.Stats().TableBytes, "bytes")

	// On an empty map Shrink releases the table entirely.
	for i := range int64(10_000) {
		m.Delete(i)
	}
	m.Shrink()
	fmt.Println("empty: ", m.Stats().TableBytes, "bytes")
	// Output:
	// before: 278528 bytes
	// after:  272 bytes
	// empty:  0 bytes
}

func ExampleShrinkMap_Stats() {
	m := shrinkmap.New[int64, int64]()
	for i := range int64(1000) {
		m.Set(i, i)
	}
	for i := range int64(900) {
		m.Delete(i)
	}
	s := m.Stats()
	fmt.Printf("Len %d, Peak %d, Shrinks %d\n", s.Len, s.Peak, s.Shrinks)
	fmt.Printf("TableBytes %d, WastedBytes %d\n", s.TableBytes, s.WastedBytes)
	// Output:
	// Len 100, Peak 112, Shrinks 3
	// TableBytes 2176, WastedBytes 0
}

func ExampleShrinkMap_Keys() {
	m := shrinkmap.Collect(maps.All(map[string]int{"b": 2, "a": 1, "c": 3}))
	// The iteration order is not specified: sort for a stable listing.
	fmt.Println(slices.Sorted(m.Keys()))
	// Output: [a b c]
}

func ExampleRatioPolicy() {
	// Compact when half the peak is gone, however small the table.
	p := shrinkmap.RatioPolicy{Threshold: 0.5}
	fmt.Println(p.ShouldShrink(shrinkmap.Stats{Len: 40, Peak: 100}))
	fmt.Println(p.ShouldShrink(shrinkmap.Stats{Len: 60, Peak: 100}))

	// Settings read from a config file can be checked before use.
	fmt.Println(shrinkmap.RatioPolicy{Threshold: 2}.Validate())

	m := shrinkmap.New[int64, int64](shrinkmap.WithPolicy(p),
		shrinkmap.WithShrinkHook(func(e shrinkmap.ShrinkEvent) { fmt.Print(e.Entries, " ") }))
	for i := range int64(1000) {
		m.Set(i, i)
	}
	for i := range int64(1000) {
		m.Delete(i)
	}
	fmt.Println()
	// Output:
	// true
	// false
	// shrinkmap: RatioPolicy.Threshold = 2; want a value in (0, 1)
	// 499 249 124 61 30 14 6 0
}

func ExamplePolicyFunc() {
	// A custom rule: compact once at most a tenth of the peak is left.
	tenth := shrinkmap.PolicyFunc(func(s shrinkmap.Stats) bool {
		return s.Len*10 <= s.Peak
	})
	m := shrinkmap.New[int64, string](shrinkmap.WithPolicy(tenth))
	for i := range int64(1000) {
		m.Set(i, "x")
	}
	for i := range int64(950) {
		m.Delete(i)
	}
	s := m.Stats()
	fmt.Printf("Len %d, Peak %d, Shrinks %d\n", s.Len, s.Peak, s.Shrinks)
	// Output: Len 50, Peak 100, Shrinks 1
}

func ExampleWithShrinkHook() {
	m := shrinkmap.New[int64, int64](shrinkmap.WithShrinkHook(func(e shrinkmap.ShrinkEvent) {
		fmt.Printf("%d entries: %d -> %d bytes, %v, incremental %v\n",
			e.Entries, e.BytesBefore, e.BytesAfter, e.Reason, e.Incremental)
	}))
	for i := range int64(200_000) {
		m.Set(i, i)
	}
	// Below a quarter of the peak the default policy starts an incremental
	// compaction, which the Deletes that follow complete; as the drain goes
	// on, it compacts each time the table could halve. Small compactions
	// copy at once.
	for i := range int64(199_000) {
		m.Delete(i)
	}
	m.Shrink()
	// Output:
	// 49999 entries: 4456448 -> 1114112 bytes, ratio, incremental true
	// 25088 entries: 1114112 -> 557056 bytes, ratio, incremental true
	// 12544 entries: 557056 -> 278528 bytes, ratio, incremental true
	// 6272 entries: 278528 -> 139264 bytes, ratio, incremental false
	// 3136 entries: 139264 -> 69632 bytes, ratio, incremental false
	// 1568 entries: 69632 -> 34816 bytes, ratio, incremental false
	// 1000 entries: 34816 -> 34816 bytes, manual, incremental false
}

// A map that refills right after each drain keeps its table after the
// first compaction, so that it does not pay a regrowth per burst; once it
// stays drained, it compacts again.
func ExampleAdaptivePolicy() {
	m := shrinkmap.New[int64, int64]()
	burst := func() {
		for i := range int64(10_000) {
			m.Set(i, i)
		}
		for i := range int64(10_000) {
			m.Delete(i)
		}
	}
	for range 5 {
		burst()
	}
	s := m.Stats()
	fmt.Printf("after 5 bursts: Shrinks %d, Refills %d, TableBytes %d\n", s.Shrinks, s.Refills, s.TableBytes)

	// The map now stays at a few entries, with writes going on.
	for i := range int64(8_000) {
		m.Set(i, i)
		m.Delete(i)
	}
	s = m.Stats()
	fmt.Printf("stayed drained: Shrinks %d, TableBytes %d\n", s.Shrinks, s.TableBytes)
	// Output:
	// after 5 bursts: Shrinks 10, Refills 1, TableBytes 278528
	// stayed drained: Shrinks 11, TableBytes 136
}
