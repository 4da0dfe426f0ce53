// Command spike runs the experiment that motivates shrinkmap, side by side
// for a native map and a ShrinkMap: fill 1,000,000 int keys with [128]byte
// values, delete all but 1%, then delete the rest, and print the heap at each
// stage.
//
//	go run ./examples/spike
package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/shrinkmap/shrinkmap"
)

const (
	entries = 1_000_000
	keepOne = 100 // keep every 100th key after the first drain: 1%
)

type value [128]byte

// drainedAndCollected is the index, in experiment's result, of the heap
// after the drain to 1% and runtime.GC(): the figure that matters.
const drainedAndCollected = 3

// measure is the heap at the end of one stage of the experiment.
type measure struct {
	stage string
	heap  uint64 // HeapAlloc in bytes
}

// shrinkStats is ShrinkMap's Stats at the end of a stage.
type shrinkStats struct {
	stage string
	stats shrinkmap.Stats
}

// heap returns the bytes of live and not yet collected heap objects.
func heap() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// heapAfterGC collects garbage first, so that only what is reachable counts.
func heapAfterGC() uint64 {
	runtime.GC()
	return heap()
}

// mapOps is what the experiment does to a map, so that the same code runs it
// on both.
type mapOps struct {
	set    func(k int, v value)
	delete func(k int)
	// after is called with the stage's name at the end of each stage that
	// changed the map.
	after func(stage string)
}

// experiment fills, drains to 1% and drains to 0, recording the heap after
// each stage. The caller keeps the map alive until it returns.
func experiment(ops mapOps) []measure {
	var heaps []measure
	record := func(name string, h uint64) {
		heaps = append(heaps, measure{name, h})
		ops.after(name)
	}
	collected := func() {
		heaps = append(heaps, measure{"  and runtime.GC()", heapAfterGC()})
	}
	record("before fill", heapAfterGC())
	var v value
	for i := range entries {
		v[0] = byte(i)
		ops.set(i, v)
	}
	record("after fill", heap())
	for i := range entries {
		if i%keepOne != 0 {
			ops.delete(i)
		}
	}
	record("after drain to 1%", heap())
	collected()
	for i := 0; i < entries; i += keepOne {
		ops.delete(i)
	}
	record("after drain to 0", heap())
	collected()
	return heaps
}

func runNative() ([]measure, time.Duration) {
	start := time.Now()
	m := make(map[int]value)
	heaps := experiment(mapOps{
		set:    func(k int, v value) { m[k] = v },
		delete: func(k int) { delete(m, k) },
		after:  func(string) {},
	})
	// Without this the map is dead before the last measurement and the
	// figures would flatter it.
	runtime.KeepAlive(m)
	return heaps, time.Since(start)
}

func runShrinkMap() ([]measure, []shrinkStats, time.Duration) {
	start := time.Now()
	m := shrinkmap.New[int, value]()
	var stats []shrinkStats
	heaps := experiment(mapOps{
		set:    m.Set,
		delete: m.Delete,
		after: func(name string) {
			stats = append(stats, shrinkStats{name, m.Stats()})
		},
	})
	runtime.KeepAlive(m)
	return heaps, stats, time.Since(start)
}

// freshHeap is the memory baseline: the heap of a map made afresh for the
// entries that survive the first drain.
func freshHeap() uint64 {
	base := heapAfterGC()
	m := make(map[int]value, entries/keepOne)
	var v value
	for i := 0; i < entries; i += keepOne {
		m[i] = v
	}
	h := heapAfterGC()
	runtime.KeepAlive(m)
	return h - base
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func mb[T int64 | uint64](b T) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

func main() {
	fmt.Printf("Heap (runtime.MemStats.HeapAlloc) of a map of %s int -> [128]byte entries, drained to 1%%, then to 0:\n\n", thousands(entries))

	nativeHeaps, nativeTime := runNative()
	runtime.GC()
	ourHeaps, stats, ourTime := runShrinkMap()
	fresh := freshHeap()

	fmt.Printf("%-20s %12s %12s\n", "stage", "native map", "ShrinkMap")
	for i, h := range nativeHeaps {
		fmt.Printf("%-20s %12s %12s\n", h.stage, mb(h.heap), mb(ourHeaps[i].heap))
	}
	fmt.Printf("%-20s %12s %12s\n", "time, with the GCs", nativeTime.Round(time.Millisecond), ourTime.Round(time.Millisecond))
	kept := func(ms []measure) string {
		h := ms[drainedAndCollected].heap - ms[0].heap // less the heap before the fill
		return fmt.Sprintf("%s (%.2fx)", mb(h), float64(h)/float64(fresh))
	}
	fmt.Printf("\nA fresh map of the %s entries left after the first drain takes %s;\n", thousands(entries/keepOne), mb(fresh))
	fmt.Printf("after that drain and runtime.GC() the native map holds %s, ShrinkMap %s.\n", kept(nativeHeaps), kept(ourHeaps))

	fmt.Printf("\nShrinkMap.Stats() after each stage (byte figures estimate the table alone):\n\n")
	fmt.Printf("%-20s %10s %10s %8s %11s %11s\n", "stage", "Len", "Peak", "Shrinks", "TableBytes", "WastedBytes")
	for _, s := range stats {
		fmt.Printf("%-20s %10s %10s %8d %11s %11s\n", s.stage, thousands(s.stats.Len), thousands(s.stats.Peak), s.stats.Shrinks,
			mb(s.stats.TableBytes), mb(s.stats.WastedBytes))
	}
}
