//go:build unix

package shrinkmap

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/exp/stats"
)

// Every benchmark group runs the native map as its baseline, with
// sub-benchmarks named key=value so that benchstat can pivot on the
// implementation:
//
//	go test -run '^$' -bench . -benchmem -count 6 | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl new.txt
//
// impl=native is map[K]V, impl=shrinkmap a ShrinkMap with the default
// options and impl=shrinkmap-stw one made WithIncremental(0), whose
// compactions copy at once. The per-operation benchmarks write their loop
// out once per implementation, so that neither pays an indirect call the
// other does not; the drain benchmarks, whose operations cost far more than
// a call, share one harness through the drainMap interface.

const (
	implNative = "native"
	implShrink = "shrinkmap"
	implSTW    = "shrinkmap-stw"
)

// benchSizes are the map sizes of the per-operation benchmarks: powers of two,
// so that a key index wraps with a mask.
var benchSizes = []struct {
	name string
	n    int
}{{"1k", 1 << 10}, {"64k", 1 << 16}, {"1M", 1 << 20}}

// cpuTime returns the CPU time, user and system, that the process has used
// so far, GC workers included. Wall time also counts the time other
// processes hold the CPU; CPU time does not, so on a busy shared machine
// cpu-ns/op is the steadier figure to compare. (Getrusage is why this file
// builds only on unix.)
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// settle collects the garbage that setup and earlier benchmarks left, so
// that its marking is not charged to the benchmark about to run, and returns
// cpuTime().
func settle() time.Duration {
	runtime.GC()
	return cpuTime()
}

// reportCPU reports the CPU time used since start, per op, as cpu-ns/op.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// keySet holds n distinct keys and the same keys in a shuffled order, the
// order in which the benchmarks visit them, so that lookups hit the table at
// random as a real workload would rather than in insertion order.
type keySet[K comparable] struct {
	keys, order []K
}

var (
	intKeySets    = map[int]keySet[int]{}
	stringKeySets = map[int]keySet[string]{}
)

// keysFor returns the cached keySet of n keys made by key(0..n-1).
func keysFor[K comparable](cache map[int]keySet[K], n int, key func(int) K) keySet[K] {
	if ks, ok := cache[n]; ok {
		return ks
	}
	ks := keySet[K]{keys: make([]K, n)}
	for i := range ks.keys {
		ks.keys[i] = key(i)
	}
	ks.order = slices.Clone(ks.keys)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	r.Shuffle(n, func(i, j int) { ks.order[i], ks.order[j] = ks.order[j], ks.order[i] })
	cache[n] = ks
	return ks
}

func intKeys(n int) keySet[int] {
	return keysFor(intKeySets, n, func(i int) int { return i })
}

// stringKeys returns keys shaped like session IDs: 24 bytes, distinct prefixes.
func stringKeys(n int) keySet[string] {
	return keysFor(stringKeySets, n, func(i int) string {
		return fmt.Sprintf("session-%016x", uint64(i)*0x9e3779b97f4a7c15)
	})
}

// runImpls runs f as one sub-benchmark per implementation, named
// impl=<impl>/<rest>, one right after another, so that a change in the
// machine's load between them skews the ratio as little as it can.
func runImpls(b *testing.B, impls []string, rest string, f func(b *testing.B, impl string)) {
	for _, impl := range impls {
		b.Run("impl="+impl+"/"+rest, func(b *testing.B) { f(b, impl) })
	}
}

// nativeAndShrink are the implementations of the per-operation benchmarks.
var nativeAndShrink = []string{implNative, implShrink}

// runOps runs one sub-benchmark per key type, size and implementation, each
// over a map prefilled with the size's keys (each key's value is its index).
func runOps(b *testing.B, ints func(b *testing.B, impl string, ks keySet[int]), strs func(b *testing.B, impl string, ks keySet[string])) {
	for _, s := range benchSizes {
		runImpls(b, nativeAndShrink, "key=int/n="+s.name, func(b *testing.B, impl string) { ints(b, impl, intKeys(s.n)) })
		runImpls(b, nativeAndShrink, "key=string/n="+s.name, func(b *testing.B, impl string) { strs(b, impl, stringKeys(s.n)) })
	}
}

// heldMap is a native map as a service holds one: in a field of an object
// on the heap, which every access loads, as every ShrinkMap method loads
// the table from the ShrinkMap. A map in a local variable saves that load,
// which was worth about 10% of a lookup at 1M entries in BenchmarkGet, and
// its header may even live on the stack (20% more); neither is ShrinkMap's
// to pay or to win, so the baselines do not measure them.
type heldMap[K comparable] struct {
	m map[K]int
}

// nativeOf returns a held native map of keys, each key's value its index.
// It is not inlined, so that the map and its holder escape to the heap.
//
//go:noinline
func nativeOf[K comparable](keys []K) *heldMap[K] {
	h := &heldMap[K]{m: make(map[K]int)}
	for i, k := range keys {
		h.m[k] = i
	}
	return h
}

func shrinkOf[K comparable](keys []K, opts ...Option) *ShrinkMap[K, int] {
	m := New[K, int](opts...)
	for i, k := range keys {
		m.Set(k, i)
	}
	return m
}

// BenchmarkGet looks up present keys in random order.
func BenchmarkGet(b *testing.B) {
	runOps(b, benchGet[int], benchGet[string])
}

func benchGet[K comparable](b *testing.B, impl string, ks keySet[K]) {
	mask := len(ks.order) - 1
	b.ReportAllocs()
	var cpu time.Duration
	i, hits := 0, 0
	switch impl {
	case implNative:
		h := nativeOf(ks.keys)
		cpu = settle()
		for b.Loop() {
			if _, ok := h.m[ks.order[i&mask]]; ok {
				hits++
			}
			i++
		}
	case implShrink:
		m := shrinkOf(ks.keys)
		cpu = settle()
		for b.Loop() {
			if _, ok := m.Get(ks.order[i&mask]); ok {
				hits++
			}
			i++
		}
	}
	if hits != i {
		b.Fatalf("%s: %d of %d Gets of present keys found them; want all", impl, hits, i)
	}
	reportCPU(b, cpu)
}

// BenchmarkSet overwrites present keys in random order: the map's size stays
// constant.
func BenchmarkSet(b *testing.B) {
	runOps(b, benchWrite[int](false), benchWrite[string](false))
}

// BenchmarkDelete deletes a present key and sets it again at once, in random
// key order: one op is a Delete and a Set, and the map's size stays constant
// (compare with BenchmarkSet, an overwrite, for the Delete's share).
func BenchmarkDelete(b *testing.B) {
	runOps(b, benchWrite[int](true), benchWrite[string](true))
}

// benchWrite returns the body of BenchmarkSet, or with del that of
// BenchmarkDelete, whose ops delete each key before they set it again.
func benchWrite[K comparable](del bool) func(b *testing.B, impl string, ks keySet[K]) {
	return func(b *testing.B, impl string, ks keySet[K]) {
		mask := len(ks.order) - 1
		b.ReportAllocs()
		var cpu time.Duration
		i := 0
		switch impl {
		case implNative:
			h := nativeOf(ks.keys)
			cpu = settle()
			for b.Loop() {
				k := ks.order[i&mask]
				if del {
					delete(h.m, k)
				}
				h.m[k] = i
				i++
			}
			checkLen(b, impl, len(h.m), len(ks.keys))
		case implShrink, implNamed:
			m := shrinkOf(ks.keys, optionsOf(impl)...)
			cpu = settle()
			for b.Loop() {
				k := ks.order[i&mask]
				if del {
					m.Delete(k)
				}
				m.Set(k, i)
				i++
			}
			checkLen(b, impl, m.Len(), len(ks.keys))
		}
		reportCPU(b, cpu)
	}
}

func checkLen(b *testing.B, impl string, got, want int) {
	b.Helper()
	if got != want {
		b.Fatalf("%s: Len() = %d after the benchmark; want %d", impl, got, want)
	}
}

// churnLive is the live set of BenchmarkChurn: a session table of 64k.
const churnLive = 1 << 16

// BenchmarkChurn keeps a fixed live set of 64k keys: each op inserts a new
// key and deletes the oldest one, like a session table. Keys come from a ring
// four times the live set, so a deleted key comes back only much later.
func BenchmarkChurn(b *testing.B) {
	runImpls(b, nativeAndShrink, "key=int/live=64k", func(b *testing.B, impl string) {
		benchChurn(b, impl, intKeys(4*churnLive))
	})
	runImpls(b, nativeAndShrink, "key=string/live=64k", func(b *testing.B, impl string) {
		benchChurn(b, impl, stringKeys(4*churnLive))
	})
}

func benchChurn[K comparable](b *testing.B, impl string, ring keySet[K]) {
	mask := len(ring.keys) - 1
	first := ring.keys[:churnLive]
	b.ReportAllocs()
	var cpu time.Duration
	i := 0
	switch impl {
	case implNative:
		h := nativeOf(first)
		cpu = settle()
		for b.Loop() {
			h.m[ring.keys[(i+churnLive)&mask]] = i
			delete(h.m, ring.keys[i&mask])
			i++
		}
		checkLen(b, impl, len(h.m), churnLive)
	case implShrink, implNamed:
		m := shrinkOf(first, optionsOf(impl)...)
		cpu = settle()
		for b.Loop() {
			m.Set(ring.keys[(i+churnLive)&mask], i)
			m.Delete(ring.keys[i&mask])
			i++
		}
		checkLen(b, impl, m.Len(), churnLive)
	}
	reportCPU(b, cpu)
}

// BenchmarkSpike models traffic bursts: one op fills the map to n entries
// and drains it back to 0 (left=0) or to 1% of n (left=1pct), over the same
// map every op. The native map keeps its peak table, so its refills never
// grow it; ShrinkMap gives the table back during each drain and grows it
// again on each refill. ns/entry is the time per Set or Delete.
func BenchmarkSpike(b *testing.B) {
	for _, n := range []struct {
		name string
		n    int
	}{{"64k", 1 << 16}, {"1M", 1 << 20}} {
		for _, left := range []struct {
			name string
			div  int // live entries kept: n/div, or none if div is 0
		}{{"0", 0}, {"1pct", 100}} {
			keep := 0
			if left.div > 0 {
				keep = n.n / left.div
			}
			runImpls(b, nativeAndShrink, "n="+n.name+"/left="+left.name, func(b *testing.B, impl string) {
				benchSpike(b, impl, n.n, keep)
			})
		}
	}
}

func benchSpike(b *testing.B, impl string, n, keep int) {
	b.ReportAllocs()
	var cycle func()
	var left func() int
	switch impl {
	case implNative:
		h := nativeOf[int](nil)
		cycle = func() {
			for k := len(h.m); k < n; k++ {
				h.m[k] = k
			}
			for k := keep; k < n; k++ {
				delete(h.m, k)
			}
		}
		left = func() int { return len(h.m) }
	case implShrink:
		m := New[int, int]()
		cycle = func() {
			for k := m.Len(); k < n; k++ {
				m.Set(k, k)
			}
			for k := keep; k < n; k++ {
				m.Delete(k)
			}
		}
		left = m.Len
	}
	// A first burst brings each map to its steady state: the native map
	// holding its peak table, ShrinkMap a table compacted by the drain.
	cycle()
	cpu := settle()
	for b.Loop() {
		cycle()
	}
	reportCPU(b, cpu)
	checkLen(b, impl, left(), keep)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(2*(n-keep)), "ns/entry")
}

// value128 is the seed experiment's value: 128 bytes, the largest value a
// Swiss table stores inline.
type value128 [128]byte

const (
	retainedPeak = 1_000_000
	retainedLive = retainedPeak / 100
)

// BenchmarkRetained runs the seed's experiment: 1M int keys with [128]byte
// values drained to 1%, then runtime.GC. It reports the heap the map still
// holds (retained-B) and that as a multiple of a fresh native map grown to
// hold only the live entries (x-fresh). ns/op is the whole fill, drain and
// GC, not a figure to compare.
func BenchmarkRetained(b *testing.B) {
	fresh := heapHeldBy(func() any {
		m := make(map[int]value128)
		for k := range retainedLive {
			m[k] = value128{}
		}
		return m
	})
	runImpls(b, drainImpls, "n=1M/left=1pct", func(b *testing.B, impl string) {
		b.ReportAllocs()
		var held uint64
		for b.Loop() {
			held = heapHeldBy(func() any {
				m := newDrainMap[value128](impl)
				for k := range retainedPeak {
					m.Set(k, value128{})
				}
				for k := retainedLive; k < retainedPeak; k++ {
					m.Delete(k)
				}
				checkLen(b, impl, m.Len(), retainedLive)
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
	if after.HeapAlloc < before.HeapAlloc {
		return 0
	}
	return after.HeapAlloc - before.HeapAlloc
}

// drainMap is what the drain benchmarks need of a map with int keys. The
// native map and ShrinkMap both satisfy it, so one harness times both, each
// paying the same interface call per operation.
type drainMap[V any] interface {
	Set(k int, v V)
	Get(k int) (V, bool)
	Delete(k int)
	Len() int
}

// nativeMap is the native map as a drainMap.
type nativeMap[V any] map[int]V

func (m nativeMap[V]) Set(k int, v V) { m[k] = v }

func (m nativeMap[V]) Get(k int) (V, bool) {
	v, ok := m[k]
	return v, ok
}

func (m nativeMap[V]) Delete(k int) { delete(m, k) }

func (m nativeMap[V]) Len() int { return len(m) }

// newDrainMap makes an empty map of impl: native, shrinkmap, shrinkmap-stw,
// or "step=N", a ShrinkMap made WithIncremental(N).
func newDrainMap[V any](impl string) drainMap[V] {
	switch impl {
	case implNative:
		return nativeMap[V]{}
	case implShrink:
		return New[int, V]()
	case implSTW:
		return New[int, V](WithIncremental(0))
	}
	step, err := strconv.Atoi(impl[len("step="):])
	if err != nil {
		panic("bench: unknown impl " + impl)
	}
	return New[int, V](WithIncremental(step))
}

// BenchmarkDrainLatency fills a map with n int keys, then deletes every key
// with a Get of a present key between deletes, and times each of those
// operations. It reports their latency quantiles (p50-ns ... max-ns, from
// one clock read per operation, which they include; each the mean over the
// b.N drains), the time of a whole drain without the clock reads (drain-ms,
// wall time: ns/op is the same figure; drain-cpu-ms, the process's CPU
// time), and max-best-ns: the worst operation once each operation's time is
// its best over the b.N drains. On a busy machine max-ns mostly measures how
// long other processes held the CPU; a pause the map itself causes happens at
// the same operation in every drain (a compaction starts at the same
// Delete), while preemption rarely hits one operation every time, so with
// -benchtime=5x or more max-best-ns shows the map's own worst pause. It does
// filter out costs that move between drains (a table split during a
// migration), which p99.99-ns still shows. Fills
// are not timed and start with a GC, so both implementations drain from the
// same heap state.
//
// The floors of bounded-pause compaction compare shrinkmap (incremental)
// with shrinkmap-stw (WithIncremental(0)) in the same run: max-ns at most
// 1/20 of stop-the-world's, drain-ms at most 1.2x.
func BenchmarkDrainLatency(b *testing.B) {
	for _, n := range []struct {
		name string
		n    int
	}{{"2M", 2 << 20}, {"4M", 4 << 20}} {
		runImpls(b, drainImpls, "val=int/n="+n.name, func(b *testing.B, impl string) {
			benchDrain[int](b, impl, n.n)
		})
	}
	runImpls(b, drainImpls, "val=128B/n=1M", func(b *testing.B, impl string) {
		benchDrain[value128](b, impl, 1<<20)
	})
}

// drainImpls are the implementations of the drain benchmarks: the native
// map and ShrinkMap with incremental and with stop-the-world compaction.
var drainImpls = []string{implNative, implShrink, implSTW}

// BenchmarkDrainStep is BenchmarkDrainLatency at 1M int->int for a range of
// incremental steps (step=0 copies at once), to choose DefaultStep: the
// longest single operation against the whole drain's time.
func BenchmarkDrainStep(b *testing.B) {
	for _, step := range []string{implNative, "0", "8", "16", "32", "64", "128", "256"} {
		impl := "step=" + step
		if step == implNative {
			impl = implNative
		}
		b.Run("step="+step+"/n=1M", func(b *testing.B) { benchDrain[int](b, impl, 1<<20) })
	}
}

// drainQuantiles are the latency quantiles benchDrain reports, with units.
var drainQuantiles = []struct {
	q    float64
	unit string
}{{0.5, "p50-ns"}, {0.99, "p99-ns"}, {0.999, "p99.9-ns"}, {0.9999, "p99.99-ns"}, {1, "max-ns"}}

func benchDrain[V any](b *testing.B, impl string, n int) {
	b.ReportAllocs()
	lat := make([]float64, 0, 2*n)
	best := make([]float64, 2*n)
	for i := range best {
		best[i] = math.Inf(1)
	}
	qs := make([]float64, len(drainQuantiles))
	sums := make([]float64, len(drainQuantiles))
	var drainCPU time.Duration
	for b.Loop() {
		b.StopTimer()
		m := filledDrainMap[V](impl, n)
		lat = timedDrain(b, impl, m, lat[:0])
		for i, d := range lat {
			best[i] = min(best[i], d)
		}
		slices.Sort(lat)
		for i, d := range drainQuantiles {
			qs[i] = d.q
		}
		for i, v := range stats.Quantiles(lat, qs...) {
			sums[i] += v
		}
		m = filledDrainMap[V](impl, n)
		b.StartTimer()
		cpu := cpuTime()
		for k := range n {
			m.Delete(k)
		}
		drainCPU += cpuTime() - cpu
		checkLen(b, impl, m.Len(), 0)
	}
	for i, d := range drainQuantiles {
		b.ReportMetric(sums[i]/float64(b.N), d.unit)
	}
	b.ReportMetric(slices.Max(best), "max-best-ns")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "drain-ms")
	b.ReportMetric(float64(drainCPU.Nanoseconds())/float64(b.N)/1e6, "drain-cpu-ms")
}

// filledDrainMap returns a map of impl holding keys 0..n-1, after a GC.
func filledDrainMap[V any](impl string, n int) drainMap[V] {
	m := newDrainMap[V](impl)
	var v V
	for k := range n {
		m.Set(k, v)
	}
	runtime.GC()
	return m
}

// timedDrain deletes keys 0..m.Len()-1 in order with a Get of the next key
// between deletes, appending each operation's latency in ns to lat.
func timedDrain[V any](b *testing.B, impl string, m drainMap[V], lat []float64) []float64 {
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
	if hits != n-1 || m.Len() != 0 {
		b.Fatalf("%s: draining %d keys found %d of the %d present by Get and left Len() = %d; want all and 0",
			impl, n, hits, n-1, m.Len())
	}
	return lat
}

// BenchmarkCompactPause times one stop-the-world compaction of a map whose
// table grew for 4x its live entries (what the default policy compacts):
// Shrink on a ShrinkMap, and for the native map the copy into a fresh map
// that the remedy without a library does. It reports the copy as pause-us
// (mean wall time), pause-min-us (the fastest of the b.N copies: the least
// disturbed by other processes), pause-cpu-us (the process's CPU time over
// it, GC workers included) and ns/entry (mean wall time per live entry);
// ns/op also counts building the sparse map and is not a figure to compare. It tells below what live size a whole
// copy is a pause short enough to take at once (DefaultMinIncremental).
func BenchmarkCompactPause(b *testing.B) {
	lives := []struct {
		name string
		n    int
	}{{"1k", 1 << 10}, {"4k", 4 << 10}, {"8k", 8 << 10}, {"16k", 16 << 10}, {"64k", 64 << 10}}
	for _, live := range lives {
		runImpls(b, nativeAndShrink, "val=int/live="+live.name, func(b *testing.B, impl string) {
			benchCompactPause[int](b, impl, live.n)
		})
		runImpls(b, nativeAndShrink, "val=128B/live="+live.name, func(b *testing.B, impl string) {
			benchCompactPause[value128](b, impl, live.n)
		})
	}
}

func benchCompactPause[V any](b *testing.B, impl string, live int) {
	b.ReportAllocs()
	var wall, cpu time.Duration
	fastest := time.Duration(math.MaxInt64)
	timed := func(compact func()) {
		c, t := cpuTime(), time.Now()
		compact()
		d := time.Since(t)
		wall += d
		fastest = min(fastest, d)
		cpu += cpuTime() - c
	}
	var v V
	for b.Loop() {
		switch impl {
		case implNative:
			m := make(map[int]V)
			for k := range 4 * live {
				m[k] = v
			}
			for k := live; k < 4*live; k++ {
				delete(m, k)
			}
			var fresh map[int]V
			timed(func() {
				fresh = make(map[int]V, len(m))
				for k, v := range m {
					fresh[k] = v
				}
			})
			checkLen(b, impl, len(fresh), live)
		case implShrink:
			m := New[int, V](WithPolicy(Never()))
			for k := range 4 * live {
				m.Set(k, v)
			}
			for k := live; k < 4*live; k++ {
				m.Delete(k)
			}
			timed(m.Shrink)
			checkLen(b, impl, m.Len(), live)
		}
	}
	b.ReportMetric(float64(wall.Nanoseconds())/float64(b.N)/1e3, "pause-us")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e3, "pause-cpu-us")
	b.ReportMetric(float64(fastest.Nanoseconds())/1e3, "pause-min-us")
	b.ReportMetric(float64(wall.Nanoseconds())/float64(b.N)/float64(live), "ns/entry")
}
