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
// fresh map, so that the old table can be freed. The default policy
// (AdaptivePolicy) compacts maps of every size once they drain below a
// quarter of their peak, and each time the table could halve while the
// drain goes on; a map whose compaction a refill undid is compacted again
// only once it stays drained, so a map that refills right after each drain
// does not regrow its table every burst; near the Go memory limit every
// table that could halve is given back. Large compactions are incremental:
// each later Set and Delete copies a bounded number of entries into the
// fresh table, so no single call pauses for a whole copy, and Get stays one
// lookup. Shrink compacts by hand and Clear drops the table.
//
//	m := shrinkmap.New[string, Session]()
//	m.Set("alice", s)
//	if s, ok := m.Get("alice"); ok { ... }
//	m.Delete("alice") // compacts when the policy says so
//	fmt.Println(m.Stats().TableBytes)
//
// Guarantees, for ShrinkMap:
//   - Methods that do not change the contents (Get, Has, Len, All, Keys,
//     Values, Stats, Clone, MarshalJSON, GobEncode) write nothing to the
//     map: any number of goroutines may call them at once while none
//     writes, as with a native map under a sync.RWMutex's RLock.
//   - Iteration (All, Keys, Values) yields each entry present for the whole
//     iteration exactly once and never an entry deleted before it is
//     reached, also when the loop body's Set, Delete, Shrink or Clear change
//     the map; deletes in the body compact the map as outside a loop, and
//     an early break or a panicking body leaves it consistent.
//   - Keys that are not equal to themselves (NaN) behave as in a native map:
//     each Set adds an entry, Len counts them, compactions keep them, only
//     iteration reaches them and only Clear removes them.
//   - A panic in a shrink hook or a custom policy loses no entry.
//   - Compaction is amortized O(1) per operation.
//
// ShrinkMap is not safe for concurrent use with a writer; Concurrent is safe
// for any mix of goroutines: a hash table of its own whose Get takes no lock,
// whose writes lock one bucket, and whose growth and compaction move a
// bounded number of buckets per write, driven by the same Policy.
package shrinkmap
