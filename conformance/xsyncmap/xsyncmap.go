// Package xsyncmap puts shrinkmap.Concurrent behind the API of xsync.Map
// (github.com/puzpuzpuz/xsync/v4, v4.5.0), so that xsync's map tests can
// run against it (see ../run.sh). Stats reports only the figures a
// Concurrent keeps.
package xsyncmap

import (
	"iter"

	"github.com/shrinkmap/shrinkmap"
)

// ComputeOp tells Compute what to do with the value its function returns.
type ComputeOp = shrinkmap.ComputeOp

// The ComputeOps, as xsync names them.
const (
	CancelOp = shrinkmap.CancelOp
	UpdateOp = shrinkmap.UpdateOp
	DeleteOp = shrinkmap.DeleteOp
)

// MapConfig holds the options of NewMap.
type MapConfig struct {
	sizeHint int
	growOnly bool
}

// WithPresize sizes the map for sizeHint entries, a floor below which it
// does not compact (shrinkmap.WithCapacity); zero or less is ignored.
func WithPresize(sizeHint int) func(*MapConfig) {
	return func(c *MapConfig) { c.sizeHint = sizeHint }
}

// WithGrowOnly makes the map compact only on Clear
// (shrinkmap.WithPolicy(shrinkmap.Never())).
func WithGrowOnly() func(*MapConfig) {
	return func(c *MapConfig) { c.growOnly = true }
}

// WithSerialResize does nothing, as in xsync v4.
func WithSerialResize() func(*MapConfig) {
	return func(*MapConfig) {}
}

// Map has xsync.Map's methods and semantics over a shrinkmap.Concurrent.
// Make it with NewMap. Safe for concurrent use.
type Map[K comparable, V any] struct {
	c *shrinkmap.Concurrent[K, V]
}

// NewMap returns an empty map configured by options.
func NewMap[K comparable, V any](options ...func(*MapConfig)) *Map[K, V] {
	var cfg MapConfig
	for _, o := range options {
		o(&cfg)
	}
	var opts []shrinkmap.Option
	if cfg.sizeHint > 0 {
		opts = append(opts, shrinkmap.WithCapacity(cfg.sizeHint))
	}
	if cfg.growOnly {
		opts = append(opts, shrinkmap.WithPolicy(shrinkmap.Never()))
	}
	return &Map[K, V]{c: shrinkmap.NewConcurrent[K, V](opts...)}
}

// NewMapOf is NewMap, as in xsync v4.
func NewMapOf[K comparable, V any](options ...func(*MapConfig)) *Map[K, V] {
	return NewMap[K, V](options...)
}

// ToPlainMap returns a native map holding m's entries; an empty one for a
// nil m.
func ToPlainMap[K comparable, V any](m *Map[K, V]) map[K]V {
	pm := make(map[K]V)
	if m != nil {
		for k, v := range m.c.All() {
			pm[k] = v
		}
	}
	return pm
}

// Load returns the value stored for key and whether it is present
// (Concurrent.Get).
func (m *Map[K, V]) Load(key K) (value V, ok bool) { return m.c.Get(key) }

// Store sets the value for key (Concurrent.Set).
func (m *Map[K, V]) Store(key K, value V) { m.c.Set(key, value) }

// LoadOrStore returns the value stored for key and true if key is present;
// otherwise it stores value and returns it and false (Concurrent.GetOrSet).
func (m *Map[K, V]) LoadOrStore(key K, value V) (actual V, loaded bool) {
	return m.c.GetOrSet(key, value)
}

// LoadAndStore stores value for key and returns the previous value and
// true if there was one, value and false if not (Concurrent.Swap, which
// returns the zero value then, as sync.Map's Swap does).
func (m *Map[K, V]) LoadAndStore(key K, value V) (actual V, loaded bool) {
	if previous, loaded := m.c.Swap(key, value); loaded {
		return previous, true
	}
	return value, false
}

// LoadOrCompute returns the value stored for key and true if key is
// present; otherwise it stores valueFn's value and returns it and false,
// unless valueFn cancels, which leaves key absent and returns the zero
// value (Concurrent.Compute; Concurrent.GetOrCompute has no cancel).
func (m *Map[K, V]) LoadOrCompute(key K, valueFn func() (newValue V, cancel bool)) (value V, loaded bool) {
	value, _ = m.c.Compute(key, func(old V, ok bool) (V, ComputeOp) {
		if ok {
			loaded = true
			return old, CancelOp
		}
		v, cancel := valueFn()
		if cancel {
			return old, CancelOp
		}
		return v, UpdateOp
	})
	return value, loaded
}

// Compute updates, deletes or keeps key's entry as valueFn's op says and
// returns key's value after it and whether key is then present; after a
// DeleteOp of a present key, the value deleted and false, as xsync's
// Compute does (Concurrent.Compute returns the zero value then).
func (m *Map[K, V]) Compute(key K, valueFn func(oldValue V, loaded bool) (newValue V, op ComputeOp)) (actual V, ok bool) {
	var deleted V
	actual, ok = m.c.Compute(key, func(old V, loaded bool) (V, ComputeOp) {
		v, op := valueFn(old, loaded)
		if op == DeleteOp {
			deleted = old
		}
		return v, op
	})
	if !ok {
		return deleted, false
	}
	return actual, ok
}

// LoadAndDelete deletes key and returns its value and whether it was
// present (Concurrent.GetAndDelete).
func (m *Map[K, V]) LoadAndDelete(key K) (value V, loaded bool) { return m.c.GetAndDelete(key) }

// Delete deletes key (Concurrent.Delete).
func (m *Map[K, V]) Delete(key K) { m.c.Delete(key) }

// Range calls f for each entry until f returns false (Concurrent.All).
func (m *Map[K, V]) Range(f func(key K, value V) bool) {
	for k, v := range m.c.All() {
		if !f(k, v) {
			return
		}
	}
}

// RangeRelaxed is Range: Concurrent has one iteration, as consistent as
// xsync's Range.
func (m *Map[K, V]) RangeRelaxed(f func(key K, value V) bool) { m.Range(f) }

// All returns an iterator over the entries (Concurrent.All).
func (m *Map[K, V]) All() iter.Seq2[K, V] { return m.c.All() }

// AllRelaxed is All.
func (m *Map[K, V]) AllRelaxed() iter.Seq2[K, V] { return m.c.All() }

// DeleteMatching deletes the entries for which f reports delete, until f
// reports stop, and returns how many it deleted (Concurrent.DeleteFunc).
func (m *Map[K, V]) DeleteMatching(f func(key K, value V) (delete, stop bool)) int {
	deleted, stopped := 0, false
	m.c.DeleteFunc(func(k K, v V) bool {
		if stopped {
			return false
		}
		del, stop := f(k, v)
		stopped = stop
		if del {
			deleted++
		}
		return del
	})
	return deleted
}

// Clear deletes every entry (Concurrent.Clear).
func (m *Map[K, V]) Clear() { m.c.Clear() }

// Size returns the number of entries (Concurrent.Len).
func (m *Map[K, V]) Size() int { return m.c.Len() }

// MapStats holds the figures of xsync's MapStats that a Concurrent keeps.
type MapStats struct {
	// Size and Counter are the number of entries (Concurrent.Len).
	Size, Counter int
	// TotalShrinks is the number of compactions (Stats.Shrinks).
	TotalShrinks int64
}

// Stats returns the map's MapStats (Concurrent.Stats).
func (m *Map[K, V]) Stats() MapStats {
	st := m.c.Stats()
	return MapStats{Size: st.Len, Counter: st.Len, TotalShrinks: int64(st.Shrinks)}
}
