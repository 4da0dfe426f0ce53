package benchmarks

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/exp/stats"

	"github.com/shrinkmap/shrinkmap/benchmarks/peers"
)

// concurrentSizes are the key spaces of BenchmarkConcurrent.
var concurrentSizes = []size{{"64k", 1 << 16}, {"1M", 1 << 20}}

// concurrentPatterns are BenchmarkConcurrent's key patterns: spread, each
// goroutine its own uniform sequence; hot, every goroutine the same uniform
// sequence, from the same start; zipf, each goroutine its own sequence of
// Zipf(s = 1.1) ranks, so that all goroutines favour the same few keys
// (the hottest takes about 14% of operations at 64k keys).
var concurrentPatterns = []string{"spread", "hot", "zipf"}

// seqLen is the length of each goroutine's operation sequence, cycled.
const seqLen = 1 << 20

// Operations in a sequence: the key in the low 32 bits, the op above.
const (
	opGet = iota
	opSet
	opDelete
)

// BenchmarkConcurrent runs Get, Set and Delete from b.RunParallel's
// goroutines over n int keys, all present at the start, with reads% Gets
// and the rest split evenly between Set and Delete, over the peers safe for
// concurrent use (sync.Map first, as the baseline). The sequences of keys
// and operations are drawn before timing (see concurrentPatterns). Run it
// with -cpu 1,2,4.
func BenchmarkConcurrent(b *testing.B) {
	for _, s := range scaled(concurrentSizes...) {
		for _, pattern := range concurrentPatterns {
			for _, reads := range []int{99, 90, 50} {
				rest := "keys=" + pattern + "/n=" + s.name
				runPeers(b, peers.Concurrents[int, int](), fmt.Sprintf("reads%d", reads), rest, func(b *testing.B, p peers.Peer[int, int]) {
					benchMixed(b, p, s.n, pattern, reads, false)
				})
			}
		}
	}
}

// mixed is the state BenchmarkConcurrent keeps between calls: the
// sequences, shared by the peers that run one after another with the same
// parameters, and the map of one sub-benchmark, filled once for the calls
// with which the testing package ramps b.N up.
var mixed struct {
	params string
	seqs   [][]uint64
	name   string
	m      peers.Map[int, int]
}

// benchMixed runs one cell of BenchmarkConcurrent, from goroutines locked
// to their OS threads if locked.
func benchMixed(b *testing.B, p peers.Peer[int, int], n int, pattern string, reads int, locked bool) {
	procs := runtime.GOMAXPROCS(0)
	if params := fmt.Sprint(n, pattern, reads, procs); mixed.params != params {
		mixed.params, mixed.seqs = "", nil
		mixed.seqs = mixedSeqs(n, pattern, reads, procs)
		mixed.params = params
	}
	if mixed.name != b.Name() {
		mixed.name, mixed.m = "", nil
		mixed.m = p.New()
		for k := range n {
			mixed.m.Set(k, k)
		}
		mixed.name = b.Name()
		runtime.GC()
	}
	m, seqs := mixed.m, mixed.seqs
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		if locked {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
		}
		seq := seqs[int(next.Add(1)-1)%len(seqs)]
		i := 0
		for pb.Next() {
			x := seq[i&(seqLen-1)]
			i++
			k := int(uint32(x))
			switch x >> 32 {
			case opGet:
				m.Get(k)
			case opSet:
				m.Set(k, i)
			default:
				m.Delete(k)
			}
		}
	})
}

// mixedSeqs returns the operation sequences of procs goroutines: one
// shared sequence for the hot pattern, one each otherwise.
func mixedSeqs(n int, pattern string, reads, procs int) [][]uint64 {
	if pattern == "hot" {
		procs = 1
	}
	seqs := make([][]uint64, procs)
	for g := range seqs {
		rng := rand.New(rand.NewPCG(uint64(g)+1, uint64(n)))
		var zipf *rand.Zipf
		if pattern == "zipf" {
			zipf = rand.NewZipf(rng, 1.1, 1, uint64(n-1))
		}
		seq := make([]uint64, seqLen)
		for i := range seq {
			var k uint64
			if zipf != nil {
				k = zipf.Uint64()
			} else {
				k = uint64(rng.IntN(n))
			}
			op := uint64(opGet)
			if r := rng.IntN(100); r >= reads {
				op = opSet + uint64(r%2)
			}
			seq[i] = k | op<<32
		}
		seqs[g] = seq
	}
	return seqs
}

// latencySize is the fill of BenchmarkConcurrentLatency.
var latencySize = size{"4M", 4 << 20}

// BenchmarkConcurrentLatency times every operation while one goroutine
// inserts n int keys into an empty map (workload=grow: the table grows
// through every size), and while it then deletes them all (workload=drain:
// a map that compacts does so along the way; the fill is not timed). It
// reports the longest operation (max-ns) and the p99.9 and p99.99
// latencies, from one clock read per operation, over xsync.Map and
// Concurrent.
func BenchmarkConcurrentLatency(b *testing.B) {
	s := scaled(latencySize)[0]
	var ps []peers.Peer[int, int]
	for _, p := range peers.Concurrents[int, int]() {
		if p.Name == peers.XsyncMap || p.Name == peers.Concurrent {
			ps = append(ps, p)
		}
	}
	rest := "n=" + s.name
	runPeers(b, ps, "grow", rest, func(b *testing.B, p peers.Peer[int, int]) {
		benchLatency(b, p, s.n, false)
	})
	runPeers(b, ps, "drain", rest, func(b *testing.B, p peers.Peer[int, int]) {
		benchLatency(b, p, s.n, true)
	})
}

func benchLatency(b *testing.B, p peers.Peer[int, int], n int, drain bool) {
	lat := make([]float64, n)
	var sums [3]float64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		m := p.New()
		if drain {
			for k := range n {
				m.Set(k, k)
			}
		}
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		last := time.Duration(0)
		for k := range n {
			if drain {
				m.Delete(k)
			} else {
				m.Set(k, k)
			}
			t := time.Since(start)
			lat[k] = float64(t - last)
			last = t
		}
		b.StopTimer()
		want := n
		if drain {
			want = 0
		}
		checkLen(b, p.Name, m, want)
		slices.Sort(lat)
		for i, v := range stats.Quantiles(lat, 0.999, 0.9999, 1) {
			sums[i] += v
		}
		b.StartTimer()
	}
	b.ReportMetric(sums[0]/float64(b.N), "p99.9-ns")
	b.ReportMetric(sums[1]/float64(b.N), "p99.99-ns")
	b.ReportMetric(sums[2]/float64(b.N), "max-ns")
}
