package shrinkmap

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// benchKeys is the number of distinct keys the concurrent benchmarks use.
const benchKeys = 1 << 16

// concurrentMap is what the concurrent benchmarks need of each
// implementation.
type concurrentMap interface {
	Get(k int) (int, bool)
	Set(k, v int)
	Delete(k int)
}

type syncMapInt struct{ m sync.Map }

func (s *syncMapInt) Get(k int) (int, bool) {
	v, ok := s.m.Load(k)
	if !ok {
		return 0, false
	}
	return v.(int), true
}
func (s *syncMapInt) Set(k, v int) { s.m.Store(k, v) }
func (s *syncMapInt) Delete(k int) { s.m.Delete(k) }

type rwMutexMapInt struct {
	mu sync.RWMutex
	m  map[int]int
}

func (r *rwMutexMapInt) Get(k int) (int, bool) {
	r.mu.RLock()
	v, ok := r.m[k]
	r.mu.RUnlock()
	return v, ok
}

func (r *rwMutexMapInt) Set(k, v int) {
	r.mu.Lock()
	r.m[k] = v
	r.mu.Unlock()
}

func (r *rwMutexMapInt) Delete(k int) {
	r.mu.Lock()
	delete(r.m, k)
	r.mu.Unlock()
}

var concurrentImpls = []struct {
	name string
	make func() concurrentMap
}{
	{"shrinkmap", func() concurrentMap { return NewConcurrent[int, int]() }},
	{"syncmap", func() concurrentMap { return new(syncMapInt) }},
	{"rwmutex", func() concurrentMap { return &rwMutexMapInt{m: make(map[int]int)} }},
}

// BenchmarkConcurrent runs Get, Set and Delete from b.RunParallel's
// goroutines on 64k int keys, all present at the start, with reads% Gets
// and the rest split evenly between Set and Delete.
func BenchmarkConcurrent(b *testing.B) {
	for _, impl := range concurrentImpls {
		for _, reads := range []int{99, 90, 50} {
			b.Run(fmt.Sprintf("impl=%s/reads=%d", impl.name, reads), func(b *testing.B) {
				benchMixed(b, impl.make(), reads)
			})
		}
	}
}

var benchSeed atomic.Uint64

func benchMixed(b *testing.B, m concurrentMap, reads int) {
	for k := range benchKeys {
		m.Set(k, k)
	}
	writes := (100 - reads) / 2
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		x := benchSeed.Add(0x9E3779B97F4A7C15) | 1
		for pb.Next() {
			// xorshift64*: cheap enough not to hide the maps' costs.
			x ^= x >> 12
			x ^= x << 25
			x ^= x >> 27
			r := x * 0x2545F4914F6CDD1D
			k := int(r & (benchKeys - 1))
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
