package shrinkmap

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// concBenchKeys is the number of distinct keys the mixed benchmarks use.
const concBenchKeys = 1 << 16

// concMap is what the concurrent benchmarks need of each implementation.
type concMap[V any] interface {
	Get(k int) (V, bool)
	Set(k int, v V)
	Delete(k int)
}

// concSyncMap is a sync.Map behind concMap: every Store boxes the key and
// the value.
type concSyncMap[V any] struct{ m sync.Map }

func (s *concSyncMap[V]) Get(k int) (V, bool) {
	v, ok := s.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

func (s *concSyncMap[V]) Set(k int, v V) { s.m.Store(k, v) }
func (s *concSyncMap[V]) Delete(k int)   { s.m.Delete(k) }

// concRWMutexMap is a native map under one sync.RWMutex.
type concRWMutexMap[V any] struct {
	mu sync.RWMutex
	m  map[int]V
}

func (r *concRWMutexMap[V]) Get(k int) (V, bool) {
	r.mu.RLock()
	v, ok := r.m[k]
	r.mu.RUnlock()
	return v, ok
}

func (r *concRWMutexMap[V]) Set(k int, v V) {
	r.mu.Lock()
	r.m[k] = v
	r.mu.Unlock()
}

func (r *concRWMutexMap[V]) Delete(k int) {
	r.mu.Lock()
	delete(r.m, k)
	r.mu.Unlock()
}

var concImpls = []string{"shrinkmap", "syncmap", "rwmutex"}

func newConcMap[V any](impl string) concMap[V] {
	switch impl {
	case "shrinkmap":
		return NewConcurrent[int, V]()
	case "syncmap":
		return new(concSyncMap[V])
	case "rwmutex":
		return &concRWMutexMap[V]{m: make(map[int]V)}
	}
	panic("unknown impl " + impl)
}

// BenchmarkConcurrent runs Get, Set and Delete from b.RunParallel's
// goroutines on 64k int keys, all present at the start, with reads% Gets
// and the rest split evenly between Set and Delete.
func BenchmarkConcurrent(b *testing.B) {
	for _, impl := range concImpls {
		for _, reads := range []int{99, 90, 50} {
			b.Run(fmt.Sprintf("impl=%s/reads=%d", impl, reads), func(b *testing.B) {
				concBenchMixed(b, newConcMap[int](impl), reads)
			})
		}
	}
}

var concBenchSeed atomic.Uint64

func concBenchMixed(b *testing.B, m concMap[int], reads int) {
	for k := range concBenchKeys {
		m.Set(k, k)
	}
	writes := (100 - reads) / 2
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		x := concBenchSeed.Add(0x9E3779B97F4A7C15) | 1
		for pb.Next() {
			// xorshift64*: cheap enough not to hide the maps' costs.
			x ^= x >> 12
			x ^= x << 25
			x ^= x >> 27
			r := x * 0x2545F4914F6CDD1D
			k := int(r & (concBenchKeys - 1))
			switch op := int((r >> 32) % 100); {
			case op < reads:
				m.Get(k)
			case op < reads+writes:
				m.Set(k, k)
			default:
				m.Delete(k)
			}
		}
	})
	runtime.KeepAlive(m)
}

// BenchmarkConcurrentRetained is the seed's experiment shared by 4
// goroutines: they write 1M [128]byte entries, each its own quarter, then
// delete 99% of them. It reports the heap the map holds afterwards
// (retained-B) and that as a multiple of a fresh native map of the live
// entries (x-fresh).
//
// With -short (CI's rot check) it runs at 64k entries.
func BenchmarkConcurrentRetained(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 1 << 16
	}
	keep := func(k int) bool { return k%100 == 0 }
	for _, impl := range concImpls {
		b.Run("impl="+impl, func(b *testing.B) {
			base := concHeap()
			fresh := make(map[int][128]byte)
			for k := 0; k < n; k += 100 {
				fresh[k] = [128]byte{byte(k)}
			}
			freshBytes := concHeap() - base
			runtime.KeepAlive(fresh)
			fresh = nil

			var retained int64
			for b.Loop() {
				base := concHeap()
				m := newConcMap[[128]byte](impl)
				concFill(m, n, func(k int) bool { return !keep(k) })
				retained = concHeap() - base
				runtime.KeepAlive(m)
			}
			b.ReportMetric(float64(retained), "retained-B")
			b.ReportMetric(float64(retained)/float64(freshBytes), "x-fresh")
		})
	}
}

// BenchmarkConcurrentGet looks up present keys of a Concurrent in a
// shuffled order from one goroutine: the cost of Get itself, with int keys
// (hashed by mixing) and string keys (hashed by maphash).
func BenchmarkConcurrentGet(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 16} {
		b.Run(fmt.Sprintf("keys=int/len=%d", n), func(b *testing.B) {
			keys := rand.Perm(n)
			benchConcGet(b, keys)
		})
		b.Run(fmt.Sprintf("keys=string/len=%d", n), func(b *testing.B) {
			keys := make([]string, n)
			for i, k := range rand.Perm(n) {
				keys[i] = fmt.Sprintf("key-%d", k)
			}
			benchConcGet(b, keys)
		})
	}
}

func benchConcGet[K comparable](b *testing.B, keys []K) {
	c := NewConcurrent[K, int]()
	for i, k := range keys {
		c.Set(k, i)
	}
	mask := len(keys) - 1
	hits, i := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Get(keys[i&mask]); ok {
			hits++
		}
		i++
	}
	if hits != i {
		b.Fatalf("%d of %d Gets of present keys found them; want all", hits, i)
	}
}
