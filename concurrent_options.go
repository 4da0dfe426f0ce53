package shrinkmap

import "time"

// WithCounterStripes sets the number of counter stripes of a Concurrent
// map: 0 (the default) picks DefaultCounterStripes(), any other n must be
// a power of two. A map counts its entries and deletes in one counter
// until two writers meet on it, and from then on in n stripes, allocated
// once: each write counts on one stripe, and Len, Stats and the policy sum
// them. More stripes mean fewer writers meeting on a counter's cache line,
// and each costs 128 bytes and makes Len and Stats take longer, in
// O(stripes) time; n = 1 keeps the one counter. An n that is negative or
// not a power of two makes NewConcurrent panic. New and Collect ignore the
// setting.
func WithCounterStripes(n int) Option {
	return func(c *config) { c.stripes = n }
}

// WithCompactEvery makes a Concurrent map start one background goroutine
// that every d asks the map's policy whether to compact, as a Delete would,
// and finishes the resize in progress, if any, moving 16 writes' steps of
// buckets at a time (16*64 buckets at DefaultStep, see WithIncremental)
// and yielding the processor in between. This gives memory back from maps
// that stop receiving writes mid-resize or right after a drain.
//
// d == 0 (the default) starts no goroutine: resizes then happen only inside
// writes. Close stops the goroutine; a map dropped without Close stops it
// once the garbage collector finds the map unreachable. A shrink hook or
// custom policy runs on the goroutine when it compacts, so a panic in
// either crashes the program, as in any goroutine. NewConcurrent panics on
// a negative d. New and Collect ignore the setting.
func WithCompactEvery(d time.Duration) Option {
	return func(c *config) { c.compactEvery = d }
}
