package shrinkmap

import (
	"fmt"
	"math"
	"time"
)

// DefaultStep is the number of entries an incremental migration copies per
// map operation unless WithIncremental says otherwise. See WithIncremental.
const DefaultStep = 64

// DefaultMinIncremental is the live size below which a compaction copies the
// map at once even when incremental migration is on, unless its fresh table
// would take DefaultMinIncrementalBytes: under both, a whole copy pauses the
// caller less than the migration's bookkeeping costs overall.
const DefaultMinIncremental = 8192

// DefaultMinIncrementalBytes is the estimated size of a fresh table (see
// Stats.TableBytes) at and above which a compaction is incremental, however
// few its entries: large entries make a copy of fewer of them as long as one
// of DefaultMinIncremental small ones.
const DefaultMinIncrementalBytes = 1 << 20

// MaxCapacity is the largest n that WithCapacity accepts: 7<<33 entries
// (about 6.0e10) where int has 64 bits, math.MaxInt32 where it has 32.
//
// make(map[K]V, n) silently ignores a hint that the runtime will not
// allocate and makes an empty map instead: internal/runtime/maps.NewMap
// rejects a hint whose slots (n*8/7, rounded up to a power-of-two number
// of 1024-slot tables) times the size of a group exceed the largest
// allocation, 1<<48 bytes on 64-bit platforms with 48-bit heap addresses.
// A ShrinkMap given such a capacity would have neither the table nor the
// floor it was asked for, and Stats.TableBytes would count a table that
// was never made (New(WithCapacity(1<<40)) reported 37 TB for int keys and
// values). MaxCapacity entries take 1<<36 slots, and 1<<36 times the
// largest group, 2,056 bytes (8 slots of a 128-byte key and a 128-byte
// value after an 8-byte control word; larger keys and values are stored as
// pointers), is within 1<<48: on those platforms the runtime makes the
// table asked for whatever K and V are, or runs out of memory trying, as
// make would (the table of MaxCapacity entries takes 69 GB for zero-size
// keys and values, 1.2 TB for int keys and values, 18 TB for the largest
// group). One entry more needs 1<<37 slots, which the runtime rejects for
// the largest group. The size estimates do not overflow for any capacity
// up to math.MaxInt, and Concurrent's first table at MaxCapacity has 1<<34
// buckets (1.1 TB).
//
// On platforms with a smaller address space (32-bit ones, js/wasm,
// ios/arm64) the runtime's limit is lower and depends on K and V. There a
// ShrinkMap given a capacity past it gets, as make does, an empty table
// that grows as entries arrive, while its Stats.TableBytes counts the table
// asked for; and NewConcurrent panics or runs out of memory allocating its
// table.
const MaxCapacity = min(7<<33, math.MaxInt)

// An Option configures a map made by New, Collect or NewConcurrent. A nil
// Option makes them panic.
type Option func(*config)

// config holds the settings that Options write. Its zero value means "not
// yet configured"; defaultConfig gives the settings of a zero ShrinkMap.
type config struct {
	policy       Policy
	capacity     int
	hook         func(ShrinkEvent)
	step         int
	stripes      int
	compactEvery time.Duration
	name         string // "" unless WithName
	named        bool   // WithName was given
}

func defaultConfig() config {
	return config{policy: DefaultPolicy(), step: DefaultStep}
}

// newConfig applies opts over the defaults and panics with a message naming
// the field, the value and the allowed range if a setting is invalid.
func newConfig(opts []Option) config {
	return applyOptions(opts).mustValidate()
}

// newMapConfig is newConfig for a ShrinkMap, which ignores the options
// that only Concurrent has.
func newMapConfig(opts []Option) config {
	cfg := applyOptions(opts)
	cfg.stripes, cfg.compactEvery = 0, 0
	return cfg.mustValidate()
}

func applyOptions(opts []Option) config {
	cfg := defaultConfig()
	for i, opt := range opts {
		if opt == nil {
			panic(fmt.Sprintf("shrinkmap: opts[%d] is nil; want a non-nil Option", i))
		}
		opt(&cfg)
	}
	return cfg
}

func (c config) mustValidate() config {
	if err := c.validate(); err != nil {
		panic(err.Error())
	}
	return c
}

func (c *config) validate() error {
	switch {
	case c.policy == nil:
		return fmt.Errorf("shrinkmap: Policy is nil; want a non-nil Policy (use Never() to disable automatic compaction)")
	case c.capacity < 0 || c.capacity > MaxCapacity:
		return fmt.Errorf("shrinkmap: Capacity = %d; want >= 0 and <= MaxCapacity (%d)", c.capacity, MaxCapacity)
	case c.step < 0:
		return fmt.Errorf("shrinkmap: Incremental step = %d; want >= 0 (0 copies at once)", c.step)
	case c.stripes < 0 || c.stripes&(c.stripes-1) != 0:
		return fmt.Errorf("shrinkmap: CounterStripes = %d; want 0 (default) or a power of two >= 1", c.stripes)
	case c.compactEvery < 0:
		return fmt.Errorf("shrinkmap: CompactEvery = %v; want >= 0 (0 disables background compaction)", c.compactEvery)
	case c.named && !validName(c.name):
		return fmt.Errorf("shrinkmap: Name = %q; want a non-empty valid UTF-8 string", c.name)
	}
	if v, ok := c.policy.(interface{ Validate() error }); ok {
		return v.Validate()
	}
	return nil
}

// WithPolicy sets the policy that decides when the map compacts itself.
// The default is DefaultPolicy(). A nil policy makes New panic, and so does
// a policy with a Validate() error method that returns an error (as the
// built-in policies have), with that error's message.
func WithPolicy(p Policy) Option {
	return func(c *config) { c.policy = p }
}

// WithCapacity sizes the map for n entries up front, like make(map[K]V, n),
// and sets a floor that automatic compaction never goes below: a map that
// compacts itself keeps room for at least n entries. Shrink ignores the
// floor. An n that is negative or over MaxCapacity makes New and
// NewConcurrent panic.
func WithCapacity(n int) Option {
	return func(c *config) { c.capacity = n }
}

// WithShrinkHook sets a function that the map calls after each compaction
// completes, with what the compaction did. The hook runs on the goroutine
// whose operation completed the compaction, after the map is consistent
// again: a panic in the hook propagates to that caller and loses no entry.
func WithShrinkHook(hook func(ShrinkEvent)) Option {
	return func(c *config) { c.hook = hook }
}

// WithIncremental sets how a compaction copies the live entries.
//
// With step > 0 (the default, DefaultStep) a compaction of DefaultMinIncremental
// entries or more, or of a fresh table estimated at DefaultMinIncrementalBytes
// or more, is incremental: every later Set and Delete copies at most step
// entries into a fresh table, and writes go to both tables, until the fresh
// table holds every entry and replaces the old one, which is then released.
// No single operation pays for copying a large map, and Get stays one
// lookup in one table. A map that is only read finishes a migration when
// Shrink is called or a loop whose body wrote ends (see All). With step ==
// 0 a compaction copies every live entry at once, inside the operation that
// triggers it. A negative step makes New panic.
//
// For a [Concurrent] map step counts head buckets, not entries: while its
// table grows, compacts or clears, each write moves step buckets (up to
// five or six entries each, plus their overflow buckets) into the new table; step
// 0 makes the write that starts a resize move them all, and so does a
// compaction of a table of at most 16*step buckets. A map that is only
// read finishes a resize through [WithCompactEvery]'s goroutine, Shrink or
// Clear.
func WithIncremental(step int) Option {
	return func(c *config) { c.step = step }
}
