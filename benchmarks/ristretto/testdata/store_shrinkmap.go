package ristretto

// This file is ours, not ristretto's: benchmarks/ristretto/run.sh copies it
// into the swapped copy of ristretto as store_shrinkmap.go, after ./swap has
// taken out of store.go the lockedMap type, newLockedMap, lockedMap's
// methods and shardedMap.IterValues. It gives the same methods to a
// lockedMap whose sync.RWMutex and map[uint64]storeItem[V] are one
// shrinkmap.Concurrent[uint64, storeItem[V]], which needs no lock around it:
//
//   - get and Expiration read with Concurrent.Get, which takes no lock.
//   - Set, Update and Del decide and write in one Compute, so that the
//     conflict check, ShouldUpdate and the expiration map's bookkeeping see
//     and change the entry atomically, as they did under the shard's write
//     lock. (They run with the key's bucket locked, as they ran with the
//     shard locked; the expiration map's own lock is taken inside either.)
//     Update and Del first look for the key with Has, without a lock, and
//     return at once if it is absent: ristretto's Set calls Update for
//     every new key, and its Del and the set buffer's delete both call Del.
//   - Clear without a callback is Concurrent.Clear; with one, DeleteFunc
//     hands each entry to it and deletes it, a bucket at a time.
//   - IterValues ranges over each shard's Values, which holds no lock while
//     the callback runs.
//
// The shards stay: 256 Concurrent maps, each growing and compacting on its
// own.

import (
	"time"

	"github.com/shrinkmap/shrinkmap"
)

type lockedMap[V any] struct {
	data         shrinkmap.Concurrent[uint64, storeItem[V]]
	em           *expirationMap[V]
	shouldUpdate updateFn[V]
}

func newLockedMap[V any](em *expirationMap[V]) *lockedMap[V] {
	return &lockedMap[V]{
		em:           em,
		shouldUpdate: func(cur, prev V) bool { return true },
	}
}

func (m *lockedMap[V]) setShouldUpdateFn(f updateFn[V]) {
	m.shouldUpdate = f
}

// expired reports whether it has an expiration and it has passed.
func (it *storeItem[V]) expired() bool {
	return !it.expiration.IsZero() && time.Now().After(it.expiration)
}

func (m *lockedMap[V]) get(key, conflict uint64) (V, bool) {
	it, ok := m.data.Get(key)
	if !ok || (conflict != 0 && conflict != it.conflict) || it.expired() {
		return zeroValue[V](), false
	}
	return it.value, true
}

func (m *lockedMap[V]) Expiration(key uint64) time.Time {
	it, _ := m.data.Get(key)
	return it.expiration
}

// stored returns what the map keeps for i.
func stored[V any](i *Item[V]) storeItem[V] {
	return storeItem[V]{key: i.Key, conflict: i.Conflict, value: i.Value, expiration: i.Expiration}
}

func (m *lockedMap[V]) Set(i *Item[V]) {
	if i == nil {
		return
	}
	m.data.Compute(i.Key, func(cur storeItem[V], loaded bool) (storeItem[V], shrinkmap.ComputeOp) {
		if !loaded {
			m.em.add(i.Key, i.Conflict, i.Expiration)
			return stored(i), shrinkmap.UpdateOp
		}
		// Another key's item under the same hash, or one ShouldUpdate
		// keeps: leave it, and the expiration map, as they are.
		if i.Conflict != 0 && i.Conflict != cur.conflict {
			return cur, shrinkmap.CancelOp
		}
		if m.shouldUpdate != nil && !m.shouldUpdate(i.Value, cur.value) {
			return cur, shrinkmap.CancelOp
		}
		m.em.update(i.Key, i.Conflict, cur.expiration, i.Expiration)
		return stored(i), shrinkmap.UpdateOp
	})
}

func (m *lockedMap[V]) Del(key, conflict uint64) (uint64, V) {
	if !m.data.Has(key) {
		return 0, zeroValue[V]()
	}
	var gone storeItem[V]
	deleted := false
	m.data.Compute(key, func(cur storeItem[V], loaded bool) (storeItem[V], shrinkmap.ComputeOp) {
		if !loaded || (conflict != 0 && conflict != cur.conflict) {
			return cur, shrinkmap.CancelOp
		}
		if !cur.expiration.IsZero() {
			m.em.del(key, cur.expiration)
		}
		gone, deleted = cur, true
		return cur, shrinkmap.DeleteOp
	})
	if !deleted {
		return 0, zeroValue[V]()
	}
	return gone.conflict, gone.value
}

func (m *lockedMap[V]) Update(newItem *Item[V]) (V, bool) {
	if !m.data.Has(newItem.Key) {
		return zeroValue[V](), false
	}
	prev, updated := zeroValue[V](), false
	m.data.Compute(newItem.Key, func(cur storeItem[V], loaded bool) (storeItem[V], shrinkmap.ComputeOp) {
		if !loaded || (newItem.Conflict != 0 && newItem.Conflict != cur.conflict) {
			return cur, shrinkmap.CancelOp
		}
		if m.shouldUpdate != nil && !m.shouldUpdate(newItem.Value, cur.value) {
			// Refused: the value stays, and is returned with false.
			prev = cur.value
			return cur, shrinkmap.CancelOp
		}
		m.em.update(newItem.Key, newItem.Conflict, cur.expiration, newItem.Expiration)
		prev, updated = cur.value, true
		return stored(newItem), shrinkmap.UpdateOp
	})
	return prev, updated
}

func (m *lockedMap[V]) Clear(onEvict func(item *Item[V])) {
	if onEvict == nil {
		m.data.Clear()
		return
	}
	i := &Item[V]{}
	m.data.DeleteFunc(func(_ uint64, it storeItem[V]) bool {
		i.Key, i.Conflict, i.Value = it.key, it.conflict, it.value
		onEvict(i)
		return true
	})
}

// IterValues iterates the values of the Map, passing them to the callback,
// each value once; expired items are skipped.
func (sm *shardedMap[V]) IterValues(cb func(v V) (stop bool)) {
	for _, shard := range sm.shards {
		for it := range shard.data.Values() {
			if it.expired() {
				continue
			}
			if cb(it.value) {
				return
			}
		}
	}
}
