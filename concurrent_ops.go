package shrinkmap

import (
	"fmt"
	"reflect"
)

// The operations of sync.Map, xsync.Map and the maps package that
// Concurrent offers on top of Compute: each runs under the key's bucket
// lock, so it is atomic with respect to every other write of the key.

// CompareAndSwap stores new for k if k is present with a value equal to
// old, and reports whether it did, as sync.Map's CompareAndSwap does. V's
// values must be comparable: if old's type is not (a slice in an interface
// V, say), CompareAndSwap panics with a message naming the type, before
// taking any lock and leaving the map unchanged. Safe for concurrent use.
func (c *Concurrent[K, V]) CompareAndSwap(k K, old, new V) (swapped bool) {
	mustBeComparable("CompareAndSwap", old)
	return c.ifEqual(k, old, new, UpdateOp)
}

// CompareAndDelete deletes k if it is present with a value equal to old, and
// reports whether it did, as sync.Map's CompareAndDelete does; it panics as
// CompareAndSwap does for a value type that is not comparable. A delete
// counts toward compaction as Delete's do. Safe for concurrent use.
func (c *Concurrent[K, V]) CompareAndDelete(k K, old V) (deleted bool) {
	mustBeComparable("CompareAndDelete", old)
	var zero V
	return c.ifEqual(k, old, zero, DeleteOp)
}

// ifEqual applies op (with v for UpdateOp) to k if k is present with a
// value equal to old, and reports whether it did. A map with no table has
// no k, and gets no table.
func (c *Concurrent[K, V]) ifEqual(k K, old, v V, op ComputeOp) (done bool) {
	if !c.table.HasTable() {
		return false
	}
	c.Compute(k, func(cur V, loaded bool) (V, ComputeOp) {
		if loaded && any(cur) == any(old) {
			done = true
			return v, op
		}
		return cur, CancelOp
	})
	return done
}

// GetOrCompute returns the value stored for k and true if k is present;
// otherwise it stores f() for k and returns that and false, as xsync.Map's
// LoadOrCompute does. f runs at most once per call, only for an absent key,
// under the key's bucket lock: goroutines racing to add the same key call
// it once between them, and f must not use the map. A panic in f
// propagates and leaves the map unchanged. For a key not equal to itself
// (a NaN) f always runs and adds an entry. Safe for concurrent use.
func (c *Concurrent[K, V]) GetOrCompute(k K, f func() V) (actual V, loaded bool) {
	actual, _ = c.Compute(k, func(cur V, ok bool) (V, ComputeOp) {
		if ok {
			loaded = true
			return cur, CancelOp
		}
		return f(), UpdateOp
	})
	return actual, loaded
}

// DeleteFunc deletes every entry for which del returns true, as
// maps.DeleteFunc does for a native map and xsync.Map's DeleteMatching
// does. It visits each bucket once, as All does, and calls del for each of
// the bucket's entries with the bucket locked and the value stored at that
// moment, so del must not use the map; an entry set after the visit of its
// bucket is not considered. Its deletes count as Delete's do, and its end
// is the end of an expiry sweep (see Stats.SweepEnded): a map it leaves
// drained compacts even if it refilled right after its earlier drains. A
// panic in del propagates, with the entries approved before it deleted and
// no lock held. An entry whose key is a NaN stays, as in a native map.
// O(Len + table size). Safe for concurrent use.
func (c *Concurrent[K, V]) DeleteFunc(del func(K, V) bool) {
	if deleted := c.table.DeleteFunc(del); deleted > 0 {
		c.sweepEnded(deleted)
	}
}

// mustBeComparable panics, naming op and v's type, if v's dynamic type does
// not support ==.
func mustBeComparable[V any](op string, v V) {
	t := reflect.TypeFor[V]()
	if t.Kind() == reflect.Interface {
		if any(v) == nil {
			return
		}
		t = reflect.TypeOf(any(v))
	}
	if !t.Comparable() {
		panic(fmt.Sprintf("shrinkmap: Concurrent.%s: value of type %v is not comparable", op, t))
	}
}
