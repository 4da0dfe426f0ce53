// Package table is the concurrent hash table under shrinkmap.Concurrent,
// as internal/sync.HashTrieMap is the one under sync.Map. Lookups take no
// lock, a write locks one bucket, and a resize moves the table into a new
// one a bounded step of buckets at a time, inside the writes that follow
// it. The table knows nothing of when a map should give memory back: it
// grows by its load factor on its own, counts what a policy needs (entries,
// peaks, deletes since the last check was due) and reports each resize it
// publishes; its owner decides when to compact, and how large.
//
// # Layout
//
// A table is a power-of-two array of head buckets. A bucket holds five
// slots, a meta word and a link to an overflow bucket; with the head's
// mutex, which guards the whole chain, it fills one 64-byte cache line on
// 64-bit platforms. The meta word holds one byte per slot: 0 for an empty
// slot, and 0x80 | bits 56-62 of the key's hash (see h2) for a full one, so
// that a lookup matches all five bytes at once, by a zero-byte search on
// the meta word XOR the byte repeated, and compares keys only where the
// byte agrees. Bit 63 of a head's meta word is the forwarded bit (see
// Resizing).
//
// Slots point to entries, and an entry is never modified once stored: a
// write allocates a new entry and stores its pointer, so that a reader
// loads an entry whole or not at all, for any V. An overflow bucket that a
// removal empties leaves its chain.
//
// A map whose keys are integers and whose values fit in a word and hold no
// pointers uses the word layout instead (the hasher decides once, by
// reflection, when the first table is made): a head bucket (wbucket) is two
// 64-byte lines, bit 55 of a key's hash picks its line, and a line holds
// three pairs of a key's bits and its value's bits, a link to an overflow
// line and a control word. The control word holds the three slots' meta
// bytes, a sequence number above them, the forwarded bit, and in a head
// line the lock of the line and its chain (a lock bit taken by
// compare-and-swap; a waiting writer spins, then yields, then sleeps): a
// write takes from other processors' caches only the line it changes. A hit
// reads one line and no entry, and a write allocates nothing but an
// overflow line. A value word is replaced by one atomic store; a slot's key
// changes only when an empty slot is filled, a fill stores the key and
// value words before it sets the meta byte, and the removal that empties a
// slot moves the line's sequence number as it clears the byte. A reader
// loads the control word, the key and value words of a matching slot, then
// the control word again, and reads the line again if the sequence number
// moved: so it never pairs one key with another's value. Every access is
// atomic, so the race detector has nothing to report and no read is torn.
// A head line's control word also has a byte of chain bits, one set for
// each pair in its overflow lines (three bits of the pair's meta byte pick
// it), set before the pair can be found there and recomputed, under the
// lock, after a removal from the chain: a lookup of an absent key walks
// the chain only if its bit is set. An overflow line that a removal
// empties leaves its chain. The layout
// grows at 5/6 of its six slots a bucket (see wordLoad), where the entry
// layout grows at 3/4 of five; resizes, iteration and the Verifier work on
// both.
//
// Keys are hashed by hash/maphash with a per-map seed, except integer
// keys, whose bits two multiply-and-fold rounds mix with a seed of their
// own (a few cycles, where maphash calls the runtime's generic hasher).
// The seeds are made with the first table, which the first write makes
// in a zero Map (the first of racing writers to store it wins), and
// copied into each later table, so that a lookup reads them from the
// table it loads anyway. The
// low bits of a hash pick the bucket, bits 56-62 the meta byte and bits 32
// and up the counter stripe. A key not equal to itself (a NaN), which the
// runtime hashes at random, is placed by a hash of its entry's address,
// which the garbage collector never changes: each store of it adds an
// entry that no lookup finds, and only iteration and a Clear reach it.
//
// # Operations
//
// A lookup loads the table, the head bucket's meta word and the slots whose
// bytes match, then follows the chain; it takes no lock and writes no
// shared memory. A write locks the head of its key's chain (in the table
// the key's bucket has moved to, if it has), makes its change, unlocks,
// counts the change on the key's stripe, and then moves one step of the
// resize in progress, if any. A slot is filled before the meta byte that
// announces it and emptied before its byte is cleared, so that a lookup
// that matches a byte finds the entry or nil, never another key's entry
// (it compares keys anyway).
//
// Iteration visits the table one head bucket at a time: it copies the
// entries of the bucket's chain under its lock, unlocks, and yields them.
// It starts with the table it loads first; for a bucket that has moved it
// collects, from the table it moved to, exactly the entries whose hashes
// select that bucket in the first table, so that each key present
// throughout is yielded once, whatever resizes run meanwhile.
//
// # Resizing
//
// A table grows when a write that added an overflow bucket finds the map
// holding more than its load factor allows (3/4 of the head slots, 5/6 in
// the word layout) and, if a compaction made it, more than an eighth over
// the entries it was made for (so that a map compacted at a threshold and
// churning around it does not grow and compact by turns). Once the counts
// are spread over stripes, the write sums them only if its own stripe,
// times the stripes, puts the map at 7/8 of the threshold or more: the sum
// reads lines that other writers change. The table's owner starts the
// other resizes: a compaction into a table of the size it asks for, and a
// clear into an empty table. One writer starts a resize by setting the
// table's resize record (a compare-and-swap from nil, which decides who
// starts) and then storing a new table in its next field; a large table
// is allocated on a goroutine of its own, and until it is stored writes go
// on in the old table as if no resize had started. A goroutine may wait
// for a processor for as long as the writer keeps it (all of a drain, with
// GOMAXPROCS=1), so after stallWrites writes, or as many as the resize
// takes steps if more, the next write allocates the table itself, and
// the first of the two to store it wins. From then on every
// write, once its own change is made, claims the next step of the old
// table's buckets, locks each, copies its entries into the next table (or
// drops them, for a clear) and sets the bucket's forwarded bit. Readers and
// writers that meet the bit continue in the next table. The goroutine that
// moves the last bucket publishes the next table with one atomic store,
// and the old one is garbage once no reader holds it. No goroutine waits
// for another's copy, and a write moves at most one step; only Finish
// moves all that is left.
//
// Growing, the buckets of the next table that an old bucket maps to
// receive entries from it alone, and no writer reaches them before it is
// forwarded, so the move needs no lock on them. Shrinking, several old
// buckets share one new bucket, which writers of forwarded buckets may be
// using, so the move locks it.
//
// A forwarded bucket is never changed again: every write to its chain
// happens under its lock before the bit is set, and every later writer
// sees the bit under the same lock and goes to the next table. A reader
// that loaded the bucket's meta word before the bit was set therefore sees
// the entries it held at some instant after the reader started, and
// returns what a lookup at that instant would have returned; a reader that
// sees the bit follows it to where every later write went.
//
// # Counters
//
// Counts are kept as Java's LongAdder keeps a sum: in one counter, until a
// writer's compare-and-swap on it fails because another writer got there
// first; then in stripes, allocated once, padded apart so that writers on
// different cores rarely share a cache line, a key counting on the stripe
// its hash picks. A map that no two goroutines write at once thus keeps a
// few words of counts. Each counter counts live entries (the sum over the
// counters is the map's), the most it has held since the last compaction
// or clear, and its deletes since it last reported a check due. Len and
// Usage sum the counters in O(stripes) time, so they are exact only when
// no write runs meanwhile. A counter reports a check due (see Note) after
// its share of the deletes the owner set with CheckEvery; one that comes
// due during a resize is reported by the write that publishes the resize
// (Done.Skipped).
//
// # Invariants
//
// Verifier verifies these, for tests; the library never calls it.
//   - A meta byte is 0 exactly when its slot is empty, and h2 of the
//     entry's hash when it is full; no other bit of a meta word is set but
//     the forwarded bit, and that only in a head bucket of a table that is
//     being resized.
//   - Every entry sits in the chain of the head bucket its hash selects in
//     its table; an entry of a next table hashes to a forwarded bucket of
//     the table it is filled from. No key is live (in a bucket that is not
//     forwarded) twice.
//   - A forwarded bucket never changes again: its meta word, slots and
//     chain stay as they were when the bit was set.
//   - In the word layout, a head line's chain bits are those of the pairs
//     in its overflow lines when no operation runs, and an overflow line
//     has all eight set.
//   - A table has a next table only once its resize has started, and a
//     next table has none of its own until it is published.
//   - When no operation runs: the counters' counts sum to the live
//     entries, and none is above its peak; the overflow count is the
//     overflow buckets; the moved count is the forwarded buckets; and every
//     lock is free.
package table
