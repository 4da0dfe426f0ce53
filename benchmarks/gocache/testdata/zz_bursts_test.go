package cache

// This file is ours, not go-cache's: benchmarks/gocache/run.sh copies it into
// both copies of go-cache it builds (the original, and the one whose items
// map is a shrinkmap.ShrinkMap) as zz_bursts_test.go. It uses only go-cache's
// API (and its unexported set, as go-cache's own benchmarks do), so it
// measures both copies the same way.

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	burstItems = 1_000_000 // entries at the top of each burst
	burstLive  = 10_000    // entries that stay: 1%, set with NoExpiration
	burstCount = 3         // bursts back to back
)

// describeItems, if set (by zz_items_test.go in the swapped copy), describes
// the cache's items table for the log.
var describeItems func(c *cache) string

// heapAlloc returns the bytes of live heap objects after two collections.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func liveKey(i int) string { return "live-" + strconv.Itoa(i) }

// setLive sets the burstLive entries that never expire.
func setLive(c *cache) {
	c.mu.Lock()
	for i := 0; i < burstLive; i++ {
		c.set(liveKey(i), i, NoExpiration)
	}
	c.mu.Unlock()
}

// fillExpired fills c up to burstItems entries with ones that expire in 1ns,
// under keys of their own for burst b, and waits until they have expired.
func fillExpired(c *cache, b int) {
	prefix := "burst" + strconv.Itoa(b) + "-"
	c.mu.Lock()
	for i := burstLive; i < burstItems; i++ {
		c.set(prefix+strconv.Itoa(i), i, time.Nanosecond)
	}
	c.mu.Unlock()
	time.Sleep(time.Millisecond)
}

// freshBytes returns the heap a new cache holding only the live entries takes.
func freshBytes(tb testing.TB) uint64 {
	base := heapAlloc()
	c := New(NoExpiration, 0)
	setLive(c.cache)
	after := heapAlloc()
	if n := c.ItemCount(); n != burstLive {
		tb.Fatalf("fresh cache: ItemCount() = %d, want %d", n, burstLive)
	}
	runtime.KeepAlive(c)
	return after - base
}

// burstBytes returns the heap a cache takes after burstCount bursts back
// to back: each sets the live entries, fills the cache to burstItems with
// entries that expire, and DeleteExpired drops all but the live ones. Then
// the cache idles: nothing touches it, and two collections run.
func burstBytes(tb testing.TB) uint64 {
	base := heapAlloc()
	c := New(NoExpiration, 0)
	var phases []string
	for b := 0; b < burstCount; b++ {
		start := time.Now()
		setLive(c.cache)
		fillExpired(c.cache, b)
		if n := c.ItemCount(); n != burstItems {
			tb.Fatalf("burst %d: ItemCount() = %d, want %d", b, n, burstItems)
		}
		filled := time.Now()
		c.DeleteExpired()
		if n := c.ItemCount(); n != burstLive {
			tb.Fatalf("burst %d: ItemCount() after DeleteExpired = %d, want %d", b, n, burstLive)
		}
		phases = append(phases, fmt.Sprintf("fill %v, DeleteExpired %v",
			filled.Sub(start).Round(time.Millisecond), time.Since(filled).Round(time.Millisecond)))
	}
	after := heapAlloc()
	// A map whose policy reads the clock (a refill soon after a drain) may
	// behave differently when the machine is slow: log how long each took.
	tb.Logf("bursts took: %s", strings.Join(phases, "; "))
	if describeItems != nil {
		tb.Logf("items after the bursts: %s", describeItems(c.cache))
	}
	runtime.KeepAlive(c)
	return after - base
}

// BenchmarkBursts3x1M reports the heap a cache keeps after three
// back-to-back bursts to 1M entries that each drain to 1% (heap-bytes), a
// fresh cache holding only those 1% (fresh-bytes), and their ratio
// (heap/fresh). Run it with -benchtime 1x: each iteration does the whole
// sequence.
func BenchmarkBursts3x1M(b *testing.B) {
	var fresh, burst uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fresh = freshBytes(b)
		b.StartTimer()
		burst = burstBytes(b)
	}
	b.ReportMetric(float64(burst), "heap-bytes")
	b.ReportMetric(float64(fresh), "fresh-bytes")
	b.ReportMetric(float64(burst)/float64(fresh), "heap/fresh")
	b.Logf("BURSTS heap after %d bursts to %d then idle: %d bytes; fresh cache with %d items: %d bytes; ratio %.2f",
		burstCount, burstItems, burst, burstLive, fresh, float64(burst)/float64(fresh))
}

// BenchmarkDeleteExpired1M99 times one DeleteExpired over 1M entries of
// which 99% have expired. Building the cache is outside the timer; run it
// with -benchtime Nx, since each iteration builds a cache of 1M entries.
func BenchmarkDeleteExpired1M99(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		c := New(NoExpiration, 0)
		setLive(c.cache)
		fillExpired(c.cache, 0)
		runtime.GC()
		b.StartTimer()
		c.DeleteExpired()
		b.StopTimer()
		if n := c.ItemCount(); n != burstLive {
			b.Fatalf("ItemCount() after DeleteExpired = %d, want %d", n, burstLive)
		}
		b.StartTimer()
	}
}
