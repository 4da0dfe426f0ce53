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
// drain goes on; near the Go memory limit every table that could halve is
// given back.
//
// Three mechanisms keep that cheap where caches use a map:
//   - An expiry sweep (a loop over All whose body deletes) does not compact
//     while it runs: it would copy entries the same loop is about to
//     delete. The loop's end asks the policy once and compacts to the
//     entries left, at once if they are no more than the loop deleted.
//   - A compaction keeps the table it gave up behind a weak pointer. A map
//     that grows back before the next garbage collection moves its entries
//     into that table instead of growing a new one, so a refill right after
//     a drain costs about what it costs a native map; a map that stays
//     drained lets the collector free it. No goroutine or timer is used.
//   - A map whose compactions are undone by refills right after drains by
//     Delete (not by a sweep) is compacted again only once it stays
//     drained, so that it does not copy entries every burst. A refill
//     undoes a compaction if Len reaches half the peak it compacted from
//     within max(100 ms, 1 µs × that peak): regrowing costs 50-100 ns an
//     entry, so a later refill pays for the regrowth with at most a tenth
//     of the time the map spent drained. A drain that lasts longer than
//     that window, or a compaction not undone, ends the backoff. The clock
//     is read once per compaction, drain and refill, never per operation.
//
// Large compactions are incremental: each later Set and Delete copies a
// bounded number of entries into the fresh table, so no single call pauses
// for a whole copy, and Get stays one lookup in one table. The paused copy
// is a reflect.MapIter over the old table: plain memory, no coroutine, so it
// behaves the same on goroutines locked to their OS thread, and a map
// dropped mid-compaction is collected like any other value. Shrink
// compacts by hand and Clear drops the table.
//
// A ShrinkMap that has never deleted and was made without options holds
// only its native map and two words; the policy's state is allocated on
// the first Delete.
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
//     the map; an early break or a panicking body leaves it consistent.
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
