package benchmarks

import (
	"slices"
	"testing"

	"github.com/shrinkmap/shrinkmap/benchmarks/peers"
)

// bytesPeers are the maps BenchmarkBytesPerEntry measures: the native map
// as the baseline, the concurrent peers and Concurrent.
var bytesPeers = []string{peers.Native, peers.SyncMap, peers.XsyncMap, peers.RWMutexMap, peers.Concurrent}

// BenchmarkBytesPerEntry fills a map with n int keys and int values and
// reports the live heap it then holds, after runtime.GC, per entry (the
// growth of HeapAlloc over the empty heap, divided by n): B/entry. Each
// map keeps the table it grew to; none has deleted. ns/op is the fill and
// two GCs, not a figure to compare.
func BenchmarkBytesPerEntry(b *testing.B) {
	var ps []peers.Peer[int, int]
	for _, p := range peers.All[int, int]() {
		if slices.Contains(bytesPeers, p.Name) {
			ps = append(ps, p)
		}
	}
	for _, s := range scaled(opSizes...) {
		runPeers(b, ps, "fill", "n="+s.name, func(b *testing.B, p peers.Peer[int, int]) {
			var held uint64
			for b.Loop() {
				held = heapHeldBy(func() any {
					m := p.New()
					for k := range s.n {
						m.Set(k, k)
					}
					checkLen(b, p.Name, m, s.n)
					return m
				})
			}
			b.ReportMetric(float64(held)/float64(s.n), "B/entry")
		})
	}
}
