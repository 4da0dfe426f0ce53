package conformance_test

import (
	"iter"
	"sync"
	"testing"

	"github.com/puzpuzpuz/xsync/v4"
	"github.com/shrinkmap/shrinkmap/conformance/syncmap"
	"github.com/shrinkmap/shrinkmap/conformance/xsyncmap"
)

// syncMapMethods is sync.Map's method set.
type syncMapMethods interface {
	Load(key any) (value any, ok bool)
	Store(key, value any)
	LoadOrStore(key, value any) (actual any, loaded bool)
	LoadAndDelete(key any) (value any, loaded bool)
	Delete(key any)
	Swap(key, value any) (previous any, loaded bool)
	CompareAndSwap(key, old, new any) (swapped bool)
	CompareAndDelete(key, old any) (deleted bool)
	Range(f func(key, value any) bool)
	Clear()
}

// xsyncMapMethods is xsync.Map's method set but for Compute and Stats,
// whose types are xsync's own.
type xsyncMapMethods[K comparable, V any] interface {
	Load(key K) (value V, ok bool)
	Store(key K, value V)
	LoadOrStore(key K, value V) (actual V, loaded bool)
	LoadAndStore(key K, value V) (actual V, loaded bool)
	LoadOrCompute(key K, valueFn func() (newValue V, cancel bool)) (value V, loaded bool)
	LoadAndDelete(key K) (value V, loaded bool)
	Delete(key K)
	Range(f func(key K, value V) bool)
	RangeRelaxed(f func(key K, value V) bool)
	All() iter.Seq2[K, V]
	AllRelaxed() iter.Seq2[K, V]
	DeleteMatching(f func(key K, value V) (delete, stop bool)) int
	Clear()
	Size() int
}

// The adapters offer the methods of the maps they stand in for, with the
// same signatures: checked at compile time against the originals.
var (
	_ syncMapMethods               = new(sync.Map)
	_ syncMapMethods               = new(syncmap.Map)
	_ xsyncMapMethods[string, int] = xsync.NewMap[string, int]()
	_ xsyncMapMethods[string, int] = xsyncmap.NewMap[string, int]()
)

// TestSyncMapZeroValue checks that the adapter's zero value is ready, as
// sync.Map's is.
func TestSyncMapZeroValue(t *testing.T) {
	var m syncmap.Map
	if v, ok := m.Load("k"); ok {
		t.Fatalf("Load(k) on a zero Map = %v, true; want absent", v)
	}
	m.Store("k", 1)
	if v, ok := m.Load("k"); !ok || v != 1 {
		t.Fatalf("Load(k) after Store(k, 1) = %v, %v; want 1, true", v, ok)
	}
}
