// Package shrinkmap provides maps that give their memory back.
//
// A Go map never releases its table after deletes: on Go 1.26 a
// map[int][128]byte filled with 1,000,000 entries and then emptied still
// holds about 287 MB after runtime.GC, and the builtin clear keeps it too. A
// service whose map spikes once (sessions, connections, in-flight requests)
// holds its peak forever.
//
// ShrinkMap wraps a native map, tracks its live count and its peak since the
// last compaction, and when a Policy says so copies the live entries into a
// fresh map, so that the old table can be freed. The default policy compacts
// once the map has fallen below a quarter of its peak and its table is worth
// at least 4 MiB (DefaultMinTableBytes). Large compactions are incremental:
// each later Set and Delete copies a bounded number of entries into the fresh
// table, so no single call pauses for a whole copy, and Get stays one lookup.
// Shrink compacts by hand and Clear drops the table.
//
//	m := shrinkmap.New[string, Session]()
//	m.Set("alice", s)
//	if s, ok := m.Get("alice"); ok { ... }
//	m.Delete("alice") // compacts when the policy says so
//	fmt.Println(m.Stats().TableBytes)
//
// Guarantees, for ShrinkMap:
//   - Iteration (All, Keys, Values) yields each entry present for the whole
//     iteration exactly once and never an entry deleted before it is
//     reached, also when the loop body's Set, Delete, Shrink or Clear change
//     the map; an early break or a panicking body leaves it consistent.
//   - Keys that are not equal to themselves (NaN) behave as in a native map:
//     each Set adds an entry, Len counts them, compactions keep them, only
//     iteration reaches them and only Clear removes them.
//   - A panic in a shrink hook or a custom policy loses no entry.
//   - Compaction is amortized O(1) per operation.
//
// ShrinkMap is not safe for concurrent use; Concurrent is, and shards the map
// so that a compaction locks one shard only.
package shrinkmap
