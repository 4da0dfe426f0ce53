// Command ttlcache runs a small TTL cache, as services write them: a
// sync.RWMutex, a map, reads under RLock and an expiry sweep that deletes
// inside a range. It fills the cache with 200,000 sessions, lets 99% of them
// expire, sweeps, and prints the heap before and after the sweep, for the
// same cache over a native map and over a ShrinkMap.
//
//	go run ./examples/ttlcache
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/shrinkmap/shrinkmap"
)

const (
	sessions = 200_000
	keepOne  = 100 // every 100th session is still alive at the sweep
)

// item is one cached session: 104 bytes of state and when it expires, 128
// bytes in all, which a native map stores in its table (a larger value it
// stores behind a pointer, and frees on delete).
type item struct {
	state   [104]byte
	expires time.Time
}

// store is the map under a cache: a native map or a ShrinkMap.
type store interface {
	Get(k int) (item, bool)
	Set(k int, v item)
	Delete(k int)
	Len() int
	Keys(yield func(int) bool)
}

// nativeStore is a native map behind the store interface.
type nativeStore map[int]item

func (s nativeStore) Get(k int) (item, bool) { v, ok := s[k]; return v, ok }
func (s nativeStore) Set(k int, v item)      { s[k] = v }
func (s nativeStore) Delete(k int)           { delete(s, k) }
func (s nativeStore) Len() int               { return len(s) }
func (s nativeStore) Keys(yield func(int) bool) {
	for k := range s {
		if !yield(k) {
			return
		}
	}
}

// shrinkStore is a ShrinkMap behind the store interface.
type shrinkStore struct {
	*shrinkmap.ShrinkMap[int, item]
}

func (s shrinkStore) Keys(yield func(int) bool) { s.ShrinkMap.Keys()(yield) }

// cache is a TTL cache: Get under a shared lock, Sweep deletes what has
// expired while it ranges over the map.
type cache struct {
	mu    sync.RWMutex
	items store
}

func (c *cache) Get(k int, now time.Time) ([104]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	it, ok := c.items.Get(k)
	if !ok || now.After(it.expires) {
		return [104]byte{}, false
	}
	return it.state, true
}

func (c *cache) Set(k int, state [104]byte, ttl time.Duration, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items.Set(k, item{state: state, expires: now.Add(ttl)})
}

// Sweep deletes the expired items, inside the range over the map, as
// go-cache's DeleteExpired does.
func (c *cache) Sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.items.Keys {
		if it, _ := c.items.Get(k); now.After(it.expires) {
			c.items.Delete(k)
		}
	}
}

func heapMB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// run fills a cache over s, expires 99% of it with one sweep and returns
// the heap before and after the sweep, and the sessions left.
func run(s store) (before, after float64, left int) {
	base := heapMB()
	c := &cache{items: s}
	start := time.Now()
	for k := range sessions {
		ttl := time.Minute
		if k%keepOne == 0 {
			ttl = time.Hour
		}
		c.Set(k, [104]byte{byte(k)}, ttl, start)
	}
	before = heapMB() - base
	later := start.Add(10 * time.Minute)
	c.Sweep(later)
	// Reads only from here on, as a quiet cache sees.
	for k := 0; k < sessions; k += keepOne {
		if _, ok := c.Get(k, later); !ok {
			panic(fmt.Sprintf("session %d lost", k))
		}
	}
	after = heapMB() - base
	left = c.items.Len()
	runtime.KeepAlive(c)
	return before, after, left
}

func main() {
	fmt.Printf("TTL cache of %d sessions of 128 bytes (104 of state, 24 of expiry), 99%% expired by one sweep:\n", sessions)
	fmt.Printf("%-10s %12s %12s %8s\n", "map", "before", "after sweep", "left")
	for _, tc := range []struct {
		name string
		s    store
	}{
		{"native", nativeStore{}},
		{"ShrinkMap", shrinkStore{shrinkmap.New[int, item]()}},
	} {
		before, after, left := run(tc.s)
		fmt.Printf("%-10s %9.1f MB %9.1f MB %8d\n", tc.name, before, after, left)
	}
}
