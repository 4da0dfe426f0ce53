package benchmarks

import (
	"strconv"
	"testing"
	"time"

	"github.com/shrinkmap/shrinkmap/benchmarks/peers"
)

// The workloads of results/caches.md for the maps safe for concurrent use:
// an expiry sweep, tiny maps, and goroutines locked to their OS threads.

// withNative returns the native map, as the baseline, and the peers safe
// for concurrent use.
func withNative() []peers.Peer[int, int] {
	native, _ := peers.Find[int, int](peers.Native)
	return append([]peers.Peer[int, int]{native}, peers.Concurrents[int, int]()...)
}

// BenchmarkConcurrentTiny sets and deletes one key of a map that holds no
// other entry (len=0: the map swings between empty and one entry) or one
// (len=1), and measures the heap of many maps of one entry each (B/map,
// the slice that holds them not counted): the bookkeeping of the smallest
// shared maps, such as per-connection maps.
func BenchmarkConcurrentTiny(b *testing.B) {
	for _, others := range []int{0, 1} {
		runPeers(b, withNative(), "set-delete", "len="+strconv.Itoa(others), func(b *testing.B, p peers.Peer[int, int]) {
			m := p.New()
			for k := range others {
				m.Set(-1-k, k)
			}
			b.ReportAllocs()
			i := 1
			for b.Loop() {
				m.Set(i, i)
				m.Delete(i)
				i = i&1023 + 1
			}
			checkLen(b, p.Name, m, others)
		})
	}
	count := 20_000
	if testing.Short() {
		count = 200
	}
	slice := heapHeldBy(func() any { return make([]peers.Map[int, int], count) })
	runPeers(b, withNative(), "one-entry-maps", "maps="+strconv.Itoa(count), func(b *testing.B, p peers.Peer[int, int]) {
		var held uint64
		for b.Loop() {
			held = heapHeldBy(func() any {
				ms := make([]peers.Map[int, int], count)
				for i := range ms {
					ms[i] = p.New()
					ms[i].Set(i, i)
				}
				return ms
			})
		}
		b.ReportMetric(float64(held-min(held, slice))/float64(count), "B/map")
	})
}

// BenchmarkConcurrentSweep fills a map with n int keys (not timed; after
// the first op, a refill right after the sweep) and times one expiry sweep
// that deletes all but 1% of them, each peer its own way (see
// peers.Sweeper; the native map, as the baseline, by maps.DeleteFunc). ns/entry is the time per entry visited. After the last
// sweep it reports the heap that the map holds as a multiple of a fresh
// native map of the entries left (x-fresh).
func BenchmarkConcurrentSweep(b *testing.B) {
	s := scaled(size{"300k", 300_000})[0]
	fresh := heapHeldBy(func() any {
		m := make(map[int]int)
		for k := 0; k < s.n; k += 100 {
			m[k] = k
		}
		return m
	})
	runPeers(b, withNative(), "sweep", "n="+s.name+"/left=1pct", func(b *testing.B, p peers.Peer[int, int]) {
		b.ReportAllocs()
		var swept time.Duration
		held := heapHeldBy(func() any {
			m := p.New()
			sweeper := m.(peers.Sweeper[int, int])
			for b.Loop() {
				b.StopTimer()
				for k := range s.n {
					m.Set(k, k)
				}
				b.StartTimer()
				start := time.Now()
				sweeper.DeleteFunc(func(k, _ int) bool { return k%100 != 0 })
				swept += time.Since(start)
			}
			checkLen(b, p.Name, m, (s.n+99)/100)
			return m
		})
		b.ReportMetric(float64(swept.Nanoseconds())/float64(b.N)/float64(s.n), "ns/entry")
		b.ReportMetric(float64(held)/float64(fresh), "x-fresh")
	})
}

// BenchmarkConcurrentLocked runs BenchmarkConcurrent's mixes of 90% and
// 50% reads over 64k keys, spread and hot, from goroutines locked to their
// OS threads (runtime.LockOSThread), as cgo callers and event loops are:
// a writer that waits for a lock cannot hand its thread to another
// goroutine. Run it with -cpu 2,4.
func BenchmarkConcurrentLocked(b *testing.B) {
	s := scaled(size{"64k", 1 << 16})[0]
	for _, pattern := range []string{"spread", "hot"} {
		for _, reads := range []int{90, 50} {
			rest := "keys=" + pattern + "/n=" + s.name + "/threads=locked"
			runPeers(b, peers.Concurrents[int, int](), "reads"+strconv.Itoa(reads), rest, func(b *testing.B, p peers.Peer[int, int]) {
				benchMixed(b, p, s.n, pattern, reads, true)
			})
		}
	}
}
