package shrinkmap

import "time"

// WithShards sets the number of shards of a Concurrent map: 0 (the
// default) picks DefaultShards(), any other n must be a power of two. More
// shards mean less lock contention and smaller compactions; each shard
// costs 256 bytes (on 64-bit platforms) plus its table, and Len, Stats and
// All take O(shards) time. An n that is negative or not a power of two
// makes NewConcurrent panic. New and Collect ignore the setting.
func WithShards(n int) Option {
	return func(c *config) { c.shards = n }
}

// WithCompactEvery makes a Concurrent map start one background goroutine
// that every d visits each shard in turn: it finishes the shard's
// incremental compaction, if one is in progress, in batches that each hold
// the shard's lock for at most 16 steps (16*64 entries at the default step,
// see WithIncremental), and otherwise asks the shard's policy whether to
// compact, as a Delete would. This gives memory back from maps that stop
// receiving operations mid-migration or right after a drain.
//
// d == 0 (the default) starts no goroutine: compaction then happens only
// inside map operations. Close stops the goroutine; a map dropped without
// Close stops it once the garbage collector finds the map unreachable. A
// shrink hook or custom policy runs on the goroutine when it compacts, so
// a panic in either crashes the program, as in any goroutine. NewConcurrent
// panics on a negative d. New and Collect ignore the setting.
func WithCompactEvery(d time.Duration) Option {
	return func(c *config) { c.compactEvery = d }
}
