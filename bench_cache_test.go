//go:build unix

package shrinkmap

import (
	"strconv"
	"testing"
	"time"
)

// The workloads that caches put a map through: an expiry sweep that deletes
// inside a range loop, a cache that refills right after each sweep, and
// tiny maps that hold one entry at a time.

// sweepSize is the fill that BenchmarkSweep sweeps down to 1%.
func sweepSize(b *testing.B) int {
	if testing.Short() {
		return 30_000
	}
	return 300_000
}

// BenchmarkSweep fills a map with n entries (outside the timer; after the
// first op, a refill right after the sweep) and times one expiry sweep that
// deletes all but 1% of them inside a range loop:
// `for k := range m { delete(m, k) }` for the native map, a loop over All
// for ShrinkMap, whose sweep ends with the table compacted. ns/entry is the
// time per entry visited.
func BenchmarkSweep(b *testing.B) {
	n := sweepSize(b)
	runImpls(b, nativeAndShrink, "n="+strconv.Itoa(n/1000)+"k/left=1pct", func(b *testing.B, impl string) {
		b.ReportAllocs()
		var sweep func()
		var refill func()
		var left func() int
		switch impl {
		case implNative:
			m := make(map[int]int)
			refill = func() {
				for k := range n {
					m[k] = k
				}
			}
			sweep = func() {
				for k := range m {
					if k%100 != 0 {
						delete(m, k)
					}
				}
			}
			left = func() int { return len(m) }
		case implShrink:
			m := New[int, int]()
			refill = func() {
				for k := range n {
					m.Set(k, k)
				}
			}
			sweep = func() {
				for k := range m.All() {
					if k%100 != 0 {
						m.Delete(k)
					}
				}
			}
			left = m.Len
		}
		var swept time.Duration
		for b.Loop() {
			b.StopTimer()
			refill() // every key the sweep deleted, back at once
			b.StartTimer()
			t := time.Now()
			sweep()
			swept += time.Since(t)
		}
		checkLen(b, impl, left(), n/100)
		b.ReportMetric(float64(swept.Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
	})
}

// BenchmarkTiny sets and deletes one key of a map that holds no other
// entry (len=0: the map swings between empty and one entry) or one
// (len=1): the cost of the bookkeeping on the smallest maps, such as a
// cache's bucket maps or per-connection maps.
func BenchmarkTiny(b *testing.B) {
	for _, others := range []int{0, 1} {
		runImpls(b, nativeAndShrink, "op=set-delete/len="+strconv.Itoa(others), func(b *testing.B, impl string) {
			benchTiny(b, impl, others)
		})
	}
}

func benchTiny(b *testing.B, impl string, others int) {
	b.ReportAllocs()
	switch impl {
	case implNative:
		m := map[int]int{}
		for k := range others {
			m[-1-k] = k
		}
		i := 1
		for b.Loop() {
			m[i] = i
			delete(m, i)
			i = i&1023 + 1
		}
		checkLen(b, impl, len(m), others)
	case implShrink:
		m := New[int, int]()
		for k := range others {
			m.Set(-1-k, k)
		}
		i := 1
		for b.Loop() {
			m.Set(i, i)
			m.Delete(i)
			i = i&1023 + 1
		}
		checkLen(b, impl, m.Len(), others)
	}
}
