package ristretto

// This file is ours, not ristretto's: benchmarks/ristretto/run.sh copies it
// into both copies of ristretto it builds (the original, and the one whose
// store shards are shrinkmap.Concurrent maps) as zz_bursts_test.go. It uses
// only ristretto's public API, so it measures both copies the same way.

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	burstItems = 1_000_000        // items at the top of each burst
	burstLive  = 10_000           // items that stay: 1%, set without a TTL
	burstCount = 3                // bursts back to back
	burstWait  = 30 * time.Second // the longest wait for the TTL cleanup

	// ristretto's TTL cleanup takes expired items a bucket at a time: those
	// whose expiration falls in one 5-second interval of Unix time
	// (bucketDurationSecs in ttl.go), once that interval is over. The items
	// of a TTL burst all expire at one instant, just before the end of such
	// an interval at least burstBudget after the burst starts, so that the
	// whole burst is in the cache before the cleanup removes any of it.
	burstBucket = 5 // seconds
	burstBudget = 4 * time.Second
)

// describeStore, if set (by zz_store_stats_test.go in the swapped copy),
// describes the cache's store for the log.
var describeStore func(c *Cache[string, int]) string

// burstConfig is a cache sized for burstItems items of cost 1: the counters
// ristretto advises (10x the items when full), room for all of them so that
// the policy evicts none, and the TTL cleanup every half second.
func burstConfig(items int) *Config[string, int] {
	return &Config[string, int]{
		NumCounters:            10 * int64(items),
		MaxCost:                2 * int64(items),
		BufferItems:            64,
		IgnoreInternalCost:     true,
		TtlTickerDurationInSec: 1,
	}
}

func burstCache(tb testing.TB, items int) *Cache[string, int] {
	c, err := NewCache(burstConfig(items))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// burstHeap returns the bytes of live heap objects after two collections.
func burstHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// burstSet sets k with cost 1, waiting for the set buffer to drain and
// trying again whenever the cache drops the Set.
func burstSet(tb testing.TB, c *Cache[string, int], k string, v int, ttl time.Duration) {
	for tries := 0; !c.SetWithTTL(k, v, 1, ttl); tries++ {
		if tries == 1000 {
			tb.Fatalf("SetWithTTL(%q) dropped %d times", k, tries)
		}
		c.Wait()
	}
}

// burstUsed returns the number of items the cache's policy holds: its used
// cost, at 1 per item.
func burstUsed(c *Cache[string, int]) int64 { return c.MaxCost() - c.RemainingCost() }

// burstWaitUsed waits until the cache holds n items, or fails after
// burstWait.
func burstWaitUsed(tb testing.TB, c *Cache[string, int], n int64, what string) {
	deadline := time.Now().Add(burstWait)
	for burstUsed(c) != n {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %d items after %v, want %d", what, burstUsed(c), burstWait, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func burstLiveKey(i int) string { return "live-" + strconv.Itoa(i) }

func burstKey(b, i int) string { return "burst" + strconv.Itoa(b) + "-" + strconv.Itoa(i) }

// burstSetLive sets the burstLive items that never expire.
func burstSetLive(tb testing.TB, c *Cache[string, int]) {
	for i := 0; i < burstLive; i++ {
		burstSet(tb, c, burstLiveKey(i), i, 0)
	}
}

// burstFresh returns the heap a new cache holding only the live items
// takes.
func burstFresh(tb testing.TB) uint64 {
	base := burstHeap()
	c := burstCache(tb, burstItems)
	defer c.Close()
	burstSetLive(tb, c)
	c.Wait()
	if n := burstUsed(c); n != burstLive {
		tb.Fatalf("fresh cache: %d items, want %d", n, burstLive)
	}
	return burstHeap() - base
}

// burstExpiry returns the instant at which the items of a TTL burst that
// starts at now expire: 1 ms before the first multiple of burstBucket
// seconds (Unix time) at least burstBudget after now.
func burstExpiry(now time.Time) time.Time {
	t := now.Add(burstBudget).Unix()
	end := (t + burstBucket - 1) / burstBucket * burstBucket
	return time.Unix(end, 0).Add(-time.Millisecond)
}

// burstBytes returns the heap a cache takes after burstCount bursts back to
// back: each sets the live items and fills the cache to burstItems with
// others, which leave it, all but the live ones, either by their TTL (del
// false: they expire together, see burstBucket, and the cache's cleanup
// removes them) or by Del. Then the cache idles: nothing touches it, and
// two collections run.
func burstBytes(tb testing.TB, del bool) uint64 {
	base := burstHeap()
	c := burstCache(tb, burstItems)
	defer c.Close()
	var phases []string
	for b := 0; b < burstCount; b++ {
		start := time.Now()
		expiry := burstExpiry(start)
		burstSetLive(tb, c)
		for i := burstLive; i < burstItems; i++ {
			ttl := time.Duration(0)
			if !del {
				// A fill that overruns its budget gives the rest 1 ms.
				ttl = max(time.Until(expiry), time.Millisecond)
			}
			burstSet(tb, c, burstKey(b, i), i, ttl)
		}
		c.Wait()
		filled := time.Now()
		// Every item is in: for a TTL burst, unless the fill overran its
		// budget and the cleanup started; logged, not fatal.
		full := burstUsed(c)
		if del && full != burstItems {
			tb.Fatalf("burst %d: %d items, want %d", b, full, burstItems)
		}
		if del {
			for i := burstLive; i < burstItems; i++ {
				c.Del(burstKey(b, i))
			}
			c.Wait()
		}
		burstWaitUsed(tb, c, burstLive, fmt.Sprintf("burst %d", b))
		phase := fmt.Sprintf("fill %v to %d items, ", filled.Sub(start).Round(time.Millisecond), full)
		if del {
			phase += fmt.Sprintf("Del %v", time.Since(filled).Round(time.Millisecond))
		} else {
			phase += fmt.Sprintf("expired and removed %v later", time.Since(filled).Round(time.Millisecond))
			if !filled.Before(expiry) {
				phase += fmt.Sprintf(" (fill overran its %v budget)", burstBudget)
			}
		}
		phases = append(phases, phase)
	}
	after := burstHeap()
	// Log how long each phase took, and how full the cache got.
	tb.Logf("bursts took: %s", strings.Join(phases, "; "))
	if describeStore != nil {
		tb.Logf("store after the bursts: %s", describeStore(c))
	}
	for i := 0; i < burstLive; i += burstLive / 10 {
		if v, ok := c.Get(burstLiveKey(i)); !ok || v != i {
			tb.Fatalf("after the bursts: Get(%q) = %d, %v; want %d, true", burstLiveKey(i), v, ok, i)
		}
	}
	return after - base
}

func burstBench(b *testing.B, del bool) {
	var fresh, burst uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fresh = burstFresh(b)
		b.StartTimer()
		burst = burstBytes(b, del)
	}
	b.ReportMetric(float64(burst), "heap-bytes")
	b.ReportMetric(float64(fresh), "fresh-bytes")
	b.ReportMetric(float64(burst)/float64(fresh), "heap/fresh")
	b.Logf("BURSTS heap after %d bursts to %d then idle: %d bytes; fresh cache with %d items: %d bytes; ratio %.2f",
		burstCount, burstItems, burst, burstLive, fresh, float64(burst)/float64(fresh))
}

// BenchmarkTTLBursts3x1M reports the heap a cache keeps after three
// back-to-back bursts to 1M items, 99% of them with a TTL, each drained to
// 1% by the cache's TTL cleanup (heap-bytes); a fresh cache holding only
// those 1% (fresh-bytes); and their ratio (heap/fresh). Run it with
// -benchtime 1x: each iteration does the whole sequence. Its ns/op is
// mostly the wait for the items to expire (see burstBucket): not a measure
// of speed.
func BenchmarkTTLBursts3x1M(b *testing.B) { burstBench(b, false) }

// BenchmarkDelBursts3x1M is BenchmarkTTLBursts3x1M with the 99% removed by
// Del instead. Its ns/op is the time of the three fills and deletes.
func BenchmarkDelBursts3x1M(b *testing.B) { burstBench(b, true) }

const manyKeys = 100_000

// manyCache returns a cache holding manyKeys items and their keys.
func manyCache(b *testing.B) (*Cache[string, int], []string) {
	c := burstCache(b, manyKeys)
	keys := make([]string, manyKeys)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
		burstSet(b, c, keys[i], i, 0)
	}
	c.Wait()
	if n := burstUsed(c); n != manyKeys {
		b.Fatalf("%d items, want %d", n, manyKeys)
	}
	return c, keys
}

// BenchmarkCacheGet100k times Get of a random one of 100,000 present keys,
// from GOMAXPROCS goroutines.
func BenchmarkCacheGet100k(b *testing.B) {
	c, keys := manyCache(b)
	defer c.Close()
	var misses atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		n := int64(0)
		for pb.Next() {
			if _, ok := c.Get(keys[r.IntN(len(keys))]); !ok {
				n++
			}
		}
		misses.Add(n)
	})
	b.StopTimer()
	if n := misses.Load(); n != 0 {
		b.Fatalf("%d Gets of present keys missed", n)
	}
}

// BenchmarkCacheUpdate100k times Set of a random one of 100,000 present
// keys (which updates the store at once, then queues the cost update for
// the policy), from GOMAXPROCS goroutines.
func BenchmarkCacheUpdate100k(b *testing.B) {
	c, keys := manyCache(b)
	defer c.Close()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		for v := 0; pb.Next(); v++ {
			c.Set(keys[r.IntN(len(keys))], v, 1)
		}
	})
}
