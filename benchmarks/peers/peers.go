// Package peers puts every map the benchmarks compare behind one small
// interface: the native map, the seed's two remedies (a periodic full copy
// and pointer values), sync.Map, xsync.Map, a sync.RWMutex-guarded map,
// ShrinkMap in three configurations (default, stop-the-world compaction,
// Never) and shrinkmap.Concurrent with its default options.
package peers

import (
	"maps"
	"sync"

	"github.com/puzpuzpuz/xsync/v4"
	"github.com/shrinkmap/shrinkmap"
)

// Map is what every peer offers: the operations a session table needs.
// Implementations for which Peer.Safe is false are not safe for concurrent
// use.
type Map[K comparable, V any] interface {
	Get(k K) (V, bool)
	Set(k K, v V)
	Delete(k K)
	Len() int
}

// Sweeper is a map that deletes, in one pass, the entries a predicate
// approves, the way its users sweep it (an expiry sweep). The native map
// and every peer safe for concurrent use are one; shrinkmap.Concurrent by
// its own DeleteFunc.
type Sweeper[K comparable, V any] interface {
	DeleteFunc(del func(K, V) bool)
}

// Peer names one implementation and makes empty maps of it.
type Peer[K comparable, V any] struct {
	// Name is the implementation's name in benchmark names, charts and
	// tables (impl=Name).
	Name string
	// Safe reports whether the map is safe for concurrent use.
	Safe bool
	// New returns an empty map.
	New func() Map[K, V]
}

// Names of the peers, in the order All returns them: the native map first,
// as every comparison's baseline.
const (
	Native        = "native"
	NativeCopy    = "native-copy"
	NativePointer = "native-ptr"
	SyncMap       = "sync.Map"
	XsyncMap      = "xsync.Map"
	RWMutexMap    = "rwmutex"
	ShrinkDefault = "shrinkmap"
	ShrinkSTW     = "shrinkmap-stw"
	ShrinkNever   = "shrinkmap-never"
	Concurrent    = "concurrent"
)

// All returns every peer, the native map first.
func All[K comparable, V any]() []Peer[K, V] {
	return []Peer[K, V]{
		{Name: Native, New: func() Map[K, V] { return NewNative[K, V]() }},
		{Name: NativeCopy, New: func() Map[K, V] { return NewCopying[K, V]() }},
		{Name: NativePointer, New: func() Map[K, V] { return NewPointers[K, V]() }},
		{Name: SyncMap, Safe: true, New: func() Map[K, V] { return new(Sync[K, V]) }},
		{Name: XsyncMap, Safe: true, New: func() Map[K, V] { return NewXsync[K, V]() }},
		{Name: RWMutexMap, Safe: true, New: func() Map[K, V] { return NewRWMutex[K, V]() }},
		{Name: ShrinkDefault, New: func() Map[K, V] { return shrinkmap.New[K, V]() }},
		{Name: ShrinkSTW, New: func() Map[K, V] { return shrinkmap.New[K, V](shrinkmap.WithIncremental(0)) }},
		{Name: ShrinkNever, New: func() Map[K, V] {
			return shrinkmap.New[K, V](shrinkmap.WithPolicy(shrinkmap.Never()))
		}},
		{Name: Concurrent, Safe: true, New: func() Map[K, V] { return shrinkmap.NewConcurrent[K, V]() }},
	}
}

// Concurrents returns the peers that are safe for concurrent use, sync.Map
// first, as the concurrent comparisons' baseline.
func Concurrents[K comparable, V any]() []Peer[K, V] {
	var safe []Peer[K, V]
	for _, p := range All[K, V]() {
		if p.Safe {
			safe = append(safe, p)
		}
	}
	return safe
}

// Find returns the peer called name, and whether there is one.
func Find[K comparable, V any](name string) (Peer[K, V], bool) {
	for _, p := range All[K, V]() {
		if p.Name == name {
			return p, true
		}
	}
	return Peer[K, V]{}, false
}

// NativeMap is a plain Go map: the speed baseline, and the map that never
// gives its table back.
type NativeMap[K comparable, V any] map[K]V

// NewNative returns an empty native map.
func NewNative[K comparable, V any]() NativeMap[K, V] { return make(NativeMap[K, V]) }

// Get returns m[k].
func (m NativeMap[K, V]) Get(k K) (V, bool) { v, ok := m[k]; return v, ok }

// Set stores m[k] = v.
func (m NativeMap[K, V]) Set(k K, v V) { m[k] = v }

// Delete deletes k from m.
func (m NativeMap[K, V]) Delete(k K) { delete(m, k) }

// Len returns len(m).
func (m NativeMap[K, V]) Len() int { return len(m) }

// DeleteFunc deletes the entries del approves, by maps.DeleteFunc.
func (m NativeMap[K, V]) DeleteFunc(del func(K, V) bool) { maps.DeleteFunc(m, del) }

// MinCopyEvery is the fewest deletes between two copies of a Copying map.
const MinCopyEvery = 1024

// Copying is the seed's third remedy, "periodically copy the map into a new
// one": a native map copied into a fresh map, sized for its live entries,
// once the deletes since the last copy reach its live count (and at least
// MinCopyEvery). Tying the period to the live count keeps the copying
// amortized O(1) per delete, as a fixed period would not for a large map;
// a drain from n to 1% copies at n/2, n/4, ... and ends with a table at
// most about twice the live size. Each copy happens at once, inside Delete.
type Copying[K comparable, V any] struct {
	m       map[K]V
	deletes int
}

// NewCopying returns an empty Copying map.
func NewCopying[K comparable, V any]() *Copying[K, V] { return &Copying[K, V]{m: make(map[K]V)} }

// Get returns the value stored for k.
func (c *Copying[K, V]) Get(k K) (V, bool) { v, ok := c.m[k]; return v, ok }

// Set stores v for k.
func (c *Copying[K, V]) Set(k K, v V) { c.m[k] = v }

// Delete removes k and copies the map if its period is up.
func (c *Copying[K, V]) Delete(k K) {
	delete(c.m, k)
	c.deletes++
	if c.deletes >= max(MinCopyEvery, len(c.m)) {
		fresh := make(map[K]V, len(c.m))
		for k, v := range c.m {
			fresh[k] = v
		}
		c.m, c.deletes = fresh, 0
	}
}

// Len returns the number of entries.
func (c *Copying[K, V]) Len() int { return len(c.m) }

// Pointers is the seed's second remedy, "make the value a pointer": a
// native map of *V. Its table still never shrinks, but holds a pointer per
// slot instead of a V, and a deleted value is freed.
type Pointers[K comparable, V any] map[K]*V

// NewPointers returns an empty Pointers map.
func NewPointers[K comparable, V any]() Pointers[K, V] { return make(Pointers[K, V]) }

// Get returns the value stored for k.
func (m Pointers[K, V]) Get(k K) (V, bool) {
	if p, ok := m[k]; ok {
		return *p, true
	}
	var zero V
	return zero, false
}

// Set stores a new copy of v for k, as code written this way does.
func (m Pointers[K, V]) Set(k K, v V) { m[k] = &v }

// Delete deletes k.
func (m Pointers[K, V]) Delete(k K) { delete(m, k) }

// Len returns the number of entries.
func (m Pointers[K, V]) Len() int { return len(m) }

// Sync is a typed view of a sync.Map. Len counts by ranging, in O(n), as
// sync.Map offers no count; the benchmarks call it only outside timing.
type Sync[K comparable, V any] struct{ m sync.Map }

// Get returns the value stored for k.
func (s *Sync[K, V]) Get(k K) (V, bool) {
	v, ok := s.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// Set stores v for k.
func (s *Sync[K, V]) Set(k K, v V) { s.m.Store(k, v) }

// Delete deletes k.
func (s *Sync[K, V]) Delete(k K) { s.m.Delete(k) }

// Len returns the number of entries, in O(n).
func (s *Sync[K, V]) Len() int {
	n := 0
	s.m.Range(func(any, any) bool { n++; return true })
	return n
}

// DeleteFunc deletes the entries del approves, by Range and Delete.
func (s *Sync[K, V]) DeleteFunc(del func(K, V) bool) {
	s.m.Range(func(k, v any) bool {
		if del(k.(K), v.(V)) {
			s.m.Delete(k)
		}
		return true
	})
}

// Xsync is an xsync.Map with its default configuration (it shrinks its
// table when it falls below 1/128 full).
type Xsync[K comparable, V any] struct{ m *xsync.Map[K, V] }

// NewXsync returns an empty xsync.Map.
func NewXsync[K comparable, V any]() Xsync[K, V] { return Xsync[K, V]{xsync.NewMap[K, V]()} }

// Get returns the value stored for k.
func (x Xsync[K, V]) Get(k K) (V, bool) { return x.m.Load(k) }

// Set stores v for k.
func (x Xsync[K, V]) Set(k K, v V) { x.m.Store(k, v) }

// Delete deletes k.
func (x Xsync[K, V]) Delete(k K) { x.m.Delete(k) }

// Len returns the number of entries.
func (x Xsync[K, V]) Len() int { return x.m.Size() }

// DeleteFunc deletes the entries del approves, by xsync's DeleteMatching.
func (x Xsync[K, V]) DeleteFunc(del func(K, V) bool) {
	x.m.DeleteMatching(func(k K, v V) (bool, bool) { return del(k, v), false })
}

// RWMutex is a native map guarded by a sync.RWMutex: Get takes the read
// lock, Set and Delete the write lock.
type RWMutex[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

// NewRWMutex returns an empty RWMutex map.
func NewRWMutex[K comparable, V any]() *RWMutex[K, V] { return &RWMutex[K, V]{m: make(map[K]V)} }

// Get returns the value stored for k.
func (r *RWMutex[K, V]) Get(k K) (V, bool) {
	r.mu.RLock()
	v, ok := r.m[k]
	r.mu.RUnlock()
	return v, ok
}

// Set stores v for k.
func (r *RWMutex[K, V]) Set(k K, v V) {
	r.mu.Lock()
	r.m[k] = v
	r.mu.Unlock()
}

// Delete deletes k.
func (r *RWMutex[K, V]) Delete(k K) {
	r.mu.Lock()
	delete(r.m, k)
	r.mu.Unlock()
}

// DeleteFunc deletes the entries del approves, under the write lock.
func (r *RWMutex[K, V]) DeleteFunc(del func(K, V) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	maps.DeleteFunc(r.m, del)
}

// Len returns the number of entries.
func (r *RWMutex[K, V]) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.m)
}
