// Package syncmap puts shrinkmap.Concurrent behind sync.Map's method set,
// so that Go's own sync.Map tests can run against it (see ../run.sh).
package syncmap

import (
	"sync/atomic"

	"github.com/shrinkmap/shrinkmap"
)

// Map has sync.Map's methods and semantics, over a
// shrinkmap.Concurrent[any, any]. Its zero value is an empty map ready to
// use, and it must not be copied after first use. Safe for concurrent use.
type Map struct {
	// c is made by the first call that needs it.
	c atomic.Pointer[shrinkmap.Concurrent[any, any]]
}

// m returns the map's Concurrent, making it on first use.
func (m *Map) m() *shrinkmap.Concurrent[any, any] {
	if c := m.c.Load(); c != nil {
		return c
	}
	m.c.CompareAndSwap(nil, shrinkmap.NewConcurrent[any, any]())
	return m.c.Load()
}

// Load returns the value stored for key and whether it is present
// (Concurrent.Get).
func (m *Map) Load(key any) (value any, ok bool) { return m.m().Get(key) }

// Store sets the value for key (Concurrent.Set).
func (m *Map) Store(key, value any) { m.m().Set(key, value) }

// LoadOrStore returns the value stored for key and true if key is present;
// otherwise it stores value and returns it and false (Concurrent.GetOrSet).
func (m *Map) LoadOrStore(key, value any) (actual any, loaded bool) {
	return m.m().GetOrSet(key, value)
}

// LoadAndDelete deletes key and returns its value and whether it was
// present (Concurrent.GetAndDelete).
func (m *Map) LoadAndDelete(key any) (value any, loaded bool) {
	return m.m().GetAndDelete(key)
}

// Delete deletes key (Concurrent.Delete).
func (m *Map) Delete(key any) { m.m().Delete(key) }

// Swap stores value for key and returns the previous value and whether
// there was one (Concurrent.Swap).
func (m *Map) Swap(key, value any) (previous any, loaded bool) { return m.m().Swap(key, value) }

// CompareAndSwap stores new for key if its value equals old
// (Concurrent.CompareAndSwap).
func (m *Map) CompareAndSwap(key, old, new any) (swapped bool) {
	return m.m().CompareAndSwap(key, old, new)
}

// CompareAndDelete deletes key if its value equals old
// (Concurrent.CompareAndDelete).
func (m *Map) CompareAndDelete(key, old any) (deleted bool) {
	return m.m().CompareAndDelete(key, old)
}

// Range calls f for each entry until f returns false (Concurrent.All).
func (m *Map) Range(f func(key, value any) bool) {
	for k, v := range m.m().All() {
		if !f(k, v) {
			return
		}
	}
}

// Clear deletes every entry (Concurrent.Clear).
func (m *Map) Clear() { m.m().Clear() }
