package benchmarks

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/exp/stats"

	"github.com/shrinkmap/shrinkmap/benchmarks/peers"
)

// The benchmarks compare every peer on the workloads of
// shared/BENCHMARKS.md. Sub-benchmarks are named
// impl=<peer>/workload=<workload>/n=<size>/..., run one peer right after
// another for each workload and size, so that benchstat can put the peers
// side by side as columns with the native map (or, for the concurrent
// mixes, sync.Map) as the baseline:
//
//	go test -run '^$' -bench . -benchmem -count 6 | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl new.txt
//
// Every peer, the native map included, sits behind the peers.Map interface,
// so each pays the same interface call per operation: the figures compare
// the maps, not the calls. The root module's bench_test.go times the native
// map and ShrinkMap with direct calls.
//
// run.sh runs them all with the flags behind results/*.md. Under -short
// every benchmark runs at one small size, so that
//
//	go test -short -run '^$' -bench . -benchtime 1x
//
// checks in seconds that none has rotted.

type size struct {
	name string
	n    int
}

// opSizes are the map sizes of the per-operation benchmarks: powers of two,
// so that a key index wraps with a mask.
var opSizes = []size{{"1k", 1 << 10}, {"64k", 1 << 16}, {"1M", 1 << 20}}

// smallSize is the one size every benchmark runs at under -short, so that
// go test -short -run '^$' -bench . -benchtime 1x checks them all in seconds.
var smallSize = size{"1k", 1 << 10}

// scaled returns sizes, or under -short only smallSize.
func scaled(sizes ...size) []size {
	if testing.Short() {
		return []size{smallSize}
	}
	return sizes
}

// keySet holds n distinct keys, and the same keys in the shuffled order in
// which the benchmarks visit them, so that lookups hit the table at random.
type keySet[K comparable] struct {
	keys, order []K
}

func newKeySet[K comparable](n int, key func(int) K) keySet[K] {
	ks := keySet[K]{keys: make([]K, n)}
	for i := range ks.keys {
		ks.keys[i] = key(i)
	}
	ks.order = slices.Clone(ks.keys)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	r.Shuffle(n, func(i, j int) { ks.order[i], ks.order[j] = ks.order[j], ks.order[i] })
	return ks
}

func intKey(i int) int { return i }

// stringKey returns keys shaped like session IDs: 24 bytes, distinct
// prefixes.
func stringKey(i int) string { return fmt.Sprintf("session-%016x", uint64(i)*0x9e3779b97f4a7c15) }

// runPeers runs f as one sub-benchmark per peer, named
// impl=<peer>/workload=<workload>/<rest>.
func runPeers[K comparable, V any](b *testing.B, ps []peers.Peer[K, V], workload, rest string, f func(*testing.B, peers.Peer[K, V])) {
	for _, p := range ps {
		b.Run("impl="+p.Name+"/workload="+workload+"/"+rest, func(b *testing.B) { f(b, p) })
	}
}

// filled returns a map of p holding ks's keys, each with its index.
func filled[K comparable](p peers.Peer[K, int], keys []K) peers.Map[K, int] {
	m := p.New()
	for i, k := range keys {
		m.Set(k, i)
	}
	return m
}

func checkLen[K comparable, V any](b *testing.B, p string, m peers.Map[K, V], want int) {
	b.Helper()
	if got := m.Len(); got != want {
		b.Fatalf("%s: Len() = %d after the benchmark; want %d", p, got, want)
	}
}

// BenchmarkOps times single operations on a map holding n keys: get looks
// up present keys, set overwrites them (the size stays n), delete deletes a
// key and sets it again at once (so the size stays n; compare with set for
// the Delete's share). Keys are visited in random order.
func BenchmarkOps(b *testing.B) {
	for _, s := range scaled(opSizes...) {
		benchOps(b, s, "int", newKeySet(s.n, intKey))
		benchOps(b, s, "string", newKeySet(s.n, stringKey))
	}
}

func benchOps[K comparable](b *testing.B, s size, key string, ks keySet[K]) {
	ps := peers.All[K, int]()
	rest := "n=" + s.name + "/key=" + key
	mask := s.n - 1
	runPeers(b, ps, "get", rest, func(b *testing.B, p peers.Peer[K, int]) {
		m := filled(p, ks.keys)
		b.ReportAllocs()
		i, hits := 0, 0
		for b.Loop() {
			if _, ok := m.Get(ks.order[i&mask]); ok {
				hits++
			}
			i++
		}
		if hits != i {
			b.Fatalf("%s: %d of %d Gets of present keys found them; want all", p.Name, hits, i)
		}
	})
	runPeers(b, ps, "set", rest, func(b *testing.B, p peers.Peer[K, int]) {
		m := filled(p, ks.keys)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.Set(ks.order[i&mask], i)
			i++
		}
		checkLen(b, p.Name, m, s.n)
	})
	runPeers(b, ps, "delete", rest, func(b *testing.B, p peers.Peer[K, int]) {
		m := filled(p, ks.keys)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := ks.order[i&mask]
			m.Delete(k)
			m.Set(k, i)
			i++
		}
		checkLen(b, p.Name, m, s.n)
	})
}

// BenchmarkChurn keeps a fixed live set of n keys: each op inserts a new key
// and deletes the oldest, like a session table. Keys come from a ring four
// times the live set, so a deleted key comes back only much later.
func BenchmarkChurn(b *testing.B) {
	for _, s := range scaled(size{"64k", 1 << 16}, size{"1M", 1 << 20}) {
		benchChurn(b, s, "int", newKeySet(4*s.n, intKey))
		if s.n <= 1<<16 {
			benchChurn(b, s, "string", newKeySet(4*s.n, stringKey))
		}
	}
}

func benchChurn[K comparable](b *testing.B, s size, key string, ring keySet[K]) {
	mask := len(ring.keys) - 1
	runPeers(b, peers.All[K, int](), "churn", "n="+s.name+"/key="+key, func(b *testing.B, p peers.Peer[K, int]) {
		m := filled(p, ring.keys[:s.n])
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.Set(ring.keys[(i+s.n)&mask], i)
			m.Delete(ring.keys[i&mask])
			i++
		}
		checkLen(b, p.Name, m, s.n)
	})
}

// BenchmarkSpike models traffic bursts: one op fills the map to n int keys
// and drains it back to 1% of n, over the same map every op. A map that
// keeps its peak table refills without growing; one that gives it back
// grows it again on each refill. ns/entry is the time per Set or Delete.
func BenchmarkSpike(b *testing.B) {
	for _, s := range scaled(size{"64k", 1 << 16}, size{"1M", 1 << 20}) {
		keep := s.n / 100
		runPeers(b, peers.All[int, int](), "spike", "n="+s.name+"/left=1pct", func(b *testing.B, p peers.Peer[int, int]) {
			m := p.New()
			b.ReportAllocs()
			for b.Loop() {
				for k := keep; k < s.n; k++ {
					m.Set(k, k)
				}
				for k := keep; k < s.n; k++ {
					m.Delete(k)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(2*(s.n-keep)), "ns/entry")
		})
	}
}

// drainQuantiles are the latency quantiles BenchmarkDrainLatency reports.
var drainQuantiles = []struct {
	q    float64
	unit string
}{{0.5, "p50-ns"}, {0.99, "p99-ns"}, {0.999, "p99.9-ns"}, {1, "max-ns"}}

// BenchmarkDrainLatency fills a map with n int keys (not timed, and followed
// by a GC so that every peer drains from the same heap state), then deletes
// every key with a Get of the next key between deletes, timing each of
// those operations. It reports their latency quantiles (p50-ns ... max-ns,
// from one clock read per operation, which they include) and the whole
// drain's time (drain-ms, also ns/op, clock reads included).
func BenchmarkDrainLatency(b *testing.B) {
	for _, s := range scaled(drainSizes...) {
		runPeers(b, peers.All[int, int](), "drain-latency", "n="+s.name, func(b *testing.B, p peers.Peer[int, int]) {
			benchDrain(b, p, s.n)
		})
	}
}

// drainSizes are BenchmarkDrainLatency's sizes.
var drainSizes = []size{{"2M", 2 << 20}, {"4M", 4 << 20}}

func benchDrain(b *testing.B, p peers.Peer[int, int], n int) {
	lat := make([]float64, 0, 2*n)
	qs := make([]float64, len(drainQuantiles))
	for i, d := range drainQuantiles {
		qs[i] = d.q
	}
	sums := make([]float64, len(drainQuantiles))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		m := p.New()
		for k := range n {
			m.Set(k, k)
		}
		runtime.GC()
		b.StartTimer()
		lat = timedDrain(b, p.Name, m, lat[:0])
		b.StopTimer()
		slices.Sort(lat)
		for i, v := range stats.Quantiles(lat, qs...) {
			sums[i] += v
		}
		b.StartTimer()
	}
	for i, d := range drainQuantiles {
		b.ReportMetric(sums[i]/float64(b.N), d.unit)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "drain-ms")
}

// timedDrain deletes keys 0..m.Len()-1 in order with a Get of the next key
// between deletes, appending each operation's latency in ns to lat.
func timedDrain(b *testing.B, name string, m peers.Map[int, int], lat []float64) []float64 {
	n := m.Len()
	hits := 0
	start := time.Now()
	last := time.Duration(0)
	for k := range n {
		m.Delete(k)
		t := time.Since(start)
		lat = append(lat, float64(t-last))
		if _, ok := m.Get(k + 1); ok {
			hits++
		}
		last = time.Since(start)
		lat = append(lat, float64(last-t))
	}
	if hits != n-1 {
		b.Fatalf("%s: draining %d keys, Get found %d of the %d still present; want all", name, n, hits, n-1)
	}
	checkLen(b, name, m, 0)
	return lat
}

// value128 is the seed experiment's value: 128 bytes, the largest value a
// Go map stores inline.
type value128 = [128]byte

// BenchmarkRetained runs the seed's experiment on every peer: 1M int keys
// with [128]byte values, drained to 1% (every 100th key stays), then
// runtime.GC. It reports the heap the map still holds (retained-B) and that
// as a multiple of a fresh native map made for the live entries and holding
// them (x-fresh). ns/op is the whole fill, drain and GC, not a figure to
// compare.
func BenchmarkRetained(b *testing.B) {
	peak := scaled(size{"1M", 1_000_000})[0]
	live := peak.n / 100
	fresh := heapHeldBy(func() any {
		m := make(map[int]value128, live)
		for k := range live {
			m[k*100] = value128{}
		}
		return m
	})
	runPeers(b, peers.All[int, value128](), "retained", "n="+peak.name+"/left=1pct", func(b *testing.B, p peers.Peer[int, value128]) {
		b.ReportAllocs()
		var held uint64
		for b.Loop() {
			held = heapHeldBy(func() any {
				m := p.New()
				for k := range peak.n {
					m.Set(k, value128{})
				}
				for k := range peak.n {
					if k%100 != 0 {
						m.Delete(k)
					}
				}
				checkLen(b, p.Name, m, live)
				return m
			})
		}
		b.ReportMetric(float64(held), "retained-B")
		b.ReportMetric(float64(held)/float64(fresh), "x-fresh")
	})
}

// heapHeldBy returns how much the live heap grows, after runtime.GC, while
// build's result is still reachable.
func heapHeldBy(build func() any) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x := build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(x)
	return after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
}
