package benchmarks

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/shrinkmap/shrinkmap/benchmarks/peers"
)

// manyMapsCase is one workload of BenchmarkManyMaps: count maps of size
// int->int entries, each drained to keep entries, then churn Set/Delete
// pairs on each at that level.
type manyMapsCase struct {
	name                     string
	count, size, keep, churn int
}

// manyMapsCases are the two cases of the issue that asked for a default
// policy for maps of every size.
func manyMapsCases() []manyMapsCase {
	if testing.Short() {
		return []manyMapsCase{{"maps=10/n=2000/left=1pct", 10, 2000, 20, 100}}
	}
	return []manyMapsCase{
		{"maps=500/n=20k/left=1pct", 500, 20_000, 200, 0},
		{"maps=3000/n=2000/left=1pct/churn=1000", 3000, 2000, 20, 1000},
	}
}

// BenchmarkManyMaps measures what a program with many ordinary maps keeps:
// it fills count maps, drains each to 1% and, in the second case, churns
// each at that level, then reports the heap still held (retained-B) and
// that as a multiple of fresh native maps of the live entries (x-fresh).
// ns/op is the whole workload, not a figure to compare.
func BenchmarkManyMaps(b *testing.B) {
	for _, c := range manyMapsCases() {
		fresh := heapHeldBy(func() any {
			ms := make([]map[int]int, c.count)
			for i := range ms {
				ms[i] = make(map[int]int)
				for k := range c.keep {
					ms[i][k] = k
				}
			}
			return ms
		})
		runPeers(b, peers.All[int, int](), "many-maps", c.name, func(b *testing.B, p peers.Peer[int, int]) {
			b.ReportAllocs()
			var held uint64
			for b.Loop() {
				held = heapHeldBy(func() any { return manyMaps(b, p, c) })
			}
			b.ReportMetric(float64(held), "retained-B")
			b.ReportMetric(float64(held)/float64(fresh), "x-fresh")
		})
	}
}

func manyMaps(b *testing.B, p peers.Peer[int, int], c manyMapsCase) []peers.Map[int, int] {
	ms := make([]peers.Map[int, int], c.count)
	for i := range ms {
		m := p.New()
		for k := range c.size {
			m.Set(k, k)
		}
		for k := c.keep; k < c.size; k++ {
			m.Delete(k)
		}
		for k := range c.churn {
			m.Set(c.size+k, k)
			m.Delete(c.size + k)
		}
		checkLen(b, p.Name, m, c.keep)
		ms[i] = m
	}
	return ms
}

// BenchmarkMemoryLimit fills count maps of 20,000 int->int entries, sets
// the Go memory limit to 9/8 of the live heap and drains each map to 55%:
// above a quarter of its peak, where a ratio rule does not compact, but
// with a table that could halve. It reports the heap after the drain as a
// multiple of the heap before it (x-undrained): 1 for a map that keeps its
// table. ns/op is the whole workload, not a figure to compare.
func BenchmarkMemoryLimit(b *testing.B) {
	count := 200
	if testing.Short() {
		count = 4
	}
	const size, keep = 20_000, 11_000
	runPeers(b, peers.All[int, int](), "memory-limit", "left=55pct", func(b *testing.B, p peers.Peer[int, int]) {
		var ratio float64
		for b.Loop() {
			ratio = drainNearLimit(b, p, count, size, keep)
		}
		b.ReportMetric(ratio, "x-undrained")
	})
}

// drainNearLimit runs one BenchmarkMemoryLimit workload and returns its
// x-undrained.
func drainNearLimit(b *testing.B, p peers.Peer[int, int], count, size, keep int) float64 {
	var st runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&st)
	base := st.HeapAlloc
	ms := make([]peers.Map[int, int], count)
	for i := range ms {
		ms[i] = p.New()
		for k := range size {
			ms[i].Set(k, k)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&st)
	before := st.HeapAlloc - base
	old := debug.SetMemoryLimit(int64(st.HeapAlloc) * 9 / 8)
	defer debug.SetMemoryLimit(old)
	for _, m := range ms {
		for k := keep; k < size; k++ {
			m.Delete(k)
		}
		checkLen(b, p.Name, m, keep)
	}
	runtime.GC()
	runtime.ReadMemStats(&st)
	runtime.KeepAlive(ms)
	return float64(st.HeapAlloc-base) / float64(before)
}
