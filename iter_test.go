package shrinkmap_test

import (
	"fmt"
	"iter"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/require"
)

// iterSetup makes a map to iterate over and returns it with its model.
type iterSetup struct {
	name string
	make func(t *testing.T) (*shrinkmap.ShrinkMap[int64, int64], map[int64]int64)
}

// iterSetups are the two states an iteration may start in: a map whose
// every Delete would compact it at once if the iteration did not hold
// compaction back, and a map in the middle of an incremental compaction,
// with entries in both tables. Both use a policy that always agrees, so
// that requireCompacts can check a drain compacts them afterwards.
var iterSetups = []iterSetup{
	{"compacts on every chance", func(*testing.T) (*shrinkmap.ShrinkMap[int64, int64], map[int64]int64) {
		m := shrinkmap.New[int64, int64](shrinkmap.WithPolicy(always), shrinkmap.WithIncremental(0))
		return m, fill(m, 3000)
	}},
	{"mid-migration", func(t *testing.T) (*shrinkmap.ShrinkMap[int64, int64], map[int64]int64) {
		// The policy compacts 65536 entries at 57344 live, 16384 at 14336:
		// either is over DefaultMinIncremental.
		n := 1 << 16
		if shrinkmap.RaceEnabled {
			n = 1 << 14
		}
		m, want := startMigrationOf(t, n, shrinkmap.WithPolicy(always))
		for range 100 {
			m.Delete(-1) // absent: each Delete takes one step
		}
		s := m.Stats()
		require.True(t, s.Migrating && s.MigrationLeft < s.Len, "Stats() = %+v; want a migration with entries in both tables", s)
		return m, want
	}},
}

// forEachSetup runs test on a fresh map of each setup.
func forEachSetup(t *testing.T, test func(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], want map[int64]int64)) {
	for _, s := range iterSetups {
		t.Run(s.name, func(t *testing.T) {
			m, want := s.make(t)
			test(t, m, want)
		})
	}
}

// requireCompacts checks that m is not held back by an iteration that
// should have ended: a migration in progress moves entries on the next
// Delete (of an absent key here),
// and otherwise deleting all but an eighth of the entries compacts the map.
// It deletes those entries from want too.
func requireCompacts(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], want map[int64]int64) {
	t.Helper()
	before := m.Stats()
	if before.Migrating {
		m.Delete(-1)
		after := m.Stats()
		require.Less(t, after.MigrationLeft, before.MigrationLeft, "Stats().MigrationLeft after a Delete of an absent key (before: %+v); want the migration to move on", before)
		return
	}
	keys := slices.Sorted(maps.Keys(want))
	for _, k := range keys[:len(keys)*7/8] {
		m.Delete(k)
		delete(want, k)
	}
	after := m.Stats()
	require.Greater(t, after.Shrinks, before.Shrinks, "Stats().Shrinks after deleting 7/8 of %d entries (before: %+v, after: %+v)", len(keys), before, after)
	requireSame(t, m, want)
}

// iterCheck tracks one iteration against the model: each key yielded at
// most once, only while present and with its current value, and every key
// present for the whole iteration yielded.
type iterCheck struct {
	t       *testing.T
	want    map[int64]int64 // the model, kept current by the loop body
	start   map[int64]bool  // keys present when the iteration started
	removed map[int64]bool  // keys deleted at some point during it
	yielded map[int64]int
	keys    []int64 // the keys in start, sorted, for randomKey
	rng     *rand.Rand
}

func newIterCheck(t *testing.T, want map[int64]int64, seed uint64) *iterCheck {
	start := make(map[int64]bool, len(want))
	for k := range want {
		start[k] = true
	}
	return &iterCheck{
		t: t, want: want, start: start, removed: map[int64]bool{}, yielded: map[int64]int{},
		keys: slices.Sorted(maps.Keys(want)), rng: rand.New(rand.NewPCG(seed, 1)),
	}
}

// randomKey returns one of the keys present at the start, which the
// iteration may or may not have reached.
func (c *iterCheck) randomKey() int64 {
	return c.keys[c.rng.IntN(len(c.keys))]
}

func (c *iterCheck) yield(k, v int64) {
	c.t.Helper()
	c.yielded[k]++
	w, ok := c.want[k]
	if c.yielded[k] > 1 || !ok || w != v {
		require.Equal(c.t, 1, c.yielded[k], "All() yielded key %d %d times", k, c.yielded[k])
		require.True(c.t, ok, "All() yielded key %d, deleted before it was reached", k)
		require.Equal(c.t, w, v, "All() value of key %d; want its current value", k)
	}
}

func (c *iterCheck) set(m *shrinkmap.ShrinkMap[int64, int64], k, v int64) {
	m.Set(k, v)
	c.want[k] = v
}

func (c *iterCheck) delete(m *shrinkmap.ShrinkMap[int64, int64], k int64) {
	m.Delete(k)
	delete(c.want, k)
	c.removed[k] = true
}

// done checks that every key present for the whole iteration was yielded.
func (c *iterCheck) done() {
	c.t.Helper()
	for k := range c.start {
		if !c.removed[k] && c.yielded[k] != 1 {
			require.Equal(c.t, 1, c.yielded[k], "All() yielded key %d, present for the whole iteration, %d times", k, c.yielded[k])
		}
	}
}

func TestIterationEarlyBreak(t *testing.T) {
	breaks := map[string]func(m *shrinkmap.ShrinkMap[int64, int64]) int{
		"All": func(m *shrinkmap.ShrinkMap[int64, int64]) (n int) {
			for range m.All() {
				if n++; n == 5 {
					break
				}
			}
			return n
		},
		"Keys": func(m *shrinkmap.ShrinkMap[int64, int64]) (n int) {
			for range m.Keys() {
				if n++; n == 5 {
					break
				}
			}
			return n
		},
		"Values": func(m *shrinkmap.ShrinkMap[int64, int64]) (n int) {
			for range m.Values() {
				if n++; n == 5 {
					break
				}
			}
			return n
		},
		"iter.Pull2 stopped": func(m *shrinkmap.ShrinkMap[int64, int64]) (n int) {
			next, stop := iter.Pull2(m.All())
			defer stop()
			for ; n < 5; n++ {
				if _, _, ok := next(); !ok {
					break
				}
			}
			return n
		},
	}
	for name, brk := range breaks {
		t.Run(name, func(t *testing.T) {
			forEachSetup(t, func(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], want map[int64]int64) {
				require.Equal(t, 5, brk(m), "entries seen before the break")
				requireIterates(t, m, want)
				requireCompacts(t, m, want)
			})
		})
	}
}

func TestIterationDeleteInBody(t *testing.T) {
	forEachSetup(t, func(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], want map[int64]int64) {
		c := newIterCheck(t, want, 3)
		before := m.Stats()
		for k, v := range m.All() {
			c.yield(k, v)
			// Delete the yielded key and one chosen at random, which may
			// or may not have been reached yet.
			c.delete(m, k)
			c.delete(m, c.randomKey())
		}
		c.done()
		require.Empty(t, want, "model after deleting every yielded key")
		requireSame(t, m, want)
		after := m.Stats()
		require.Greater(t, after.Shrinks, before.Shrinks, "Stats() after the loop = %+v (before: %+v); want the deletes in the body to have compacted the map", after, before)
		require.False(t, after.Migrating, "Stats() after the loop = %+v; want no migration left on an empty map", after)
		require.Zero(t, after.TableBytes, "Stats().TableBytes after deleting every entry in the body")
	})
}

func TestIterationSetInBody(t *testing.T) {
	forEachSetup(t, func(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], want map[int64]int64) {
		c := newIterCheck(t, want, 5)
		added := int64(0)
		for k, v := range m.All() {
			c.yield(k, v)
			c.set(m, k, v+1)                       // update the yielded entry
			c.set(m, c.randomKey(), c.rng.Int64()) // update another, reached or not
			c.set(m, 1_000_000+added, added)       // add a new one
			added++
			if m.Len() != len(want) {
				require.Equal(t, len(want), m.Len(), "Len() during the iteration")
			}
		}
		c.done()
		require.Positive(t, added, "iterations")
		requireSame(t, m, want)
	})
}

func TestIterationShrinkInBody(t *testing.T) {
	forEachSetup(t, func(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], want map[int64]int64) {
		c := newIterCheck(t, want, 7)
		n := 0
		for k, v := range m.All() {
			c.yield(k, v)
			n++
			switch {
			case n%5000 == 10:
				m.Shrink()
				require.False(t, m.Stats().Migrating, "Stats().Migrating after Shrink in the loop body")
			case n%3 == 0:
				c.delete(m, c.randomKey())
			default:
				c.set(m, c.randomKey(), int64(n))
			}
		}
		c.done()
		require.Greater(t, n, 10, "entries yielded; the test wants a Shrink mid-loop")
		requireSame(t, m, want)
		requireCompacts(t, m, want)
	})
}

func TestIterationClearInBody(t *testing.T) {
	forEachSetup(t, func(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], want map[int64]int64) {
		c := newIterCheck(t, want, 0)
		n := 0
		for k, v := range m.All() {
			c.yield(k, v)
			if n++; n == 10 {
				m.Clear()
				for k := range want {
					c.removed[k] = true
				}
				clear(want)
				c.set(m, -5, -5) // added during the iteration: may be yielded once
			}
		}
		c.done()
		require.LessOrEqual(t, n, 11, "entries yielded; want none of the cleared ones after Clear")
		requireSame(t, m, map[int64]int64{-5: -5})
		require.Equal(t, shrinkmap.Stats{Len: 1, Peak: 1, Shrinks: m.Stats().Shrinks, TableBytes: tableFor(1)}, m.Stats(), "Stats() after Clear and one Set in the body")
	})
}

func TestIterationPanickingBody(t *testing.T) {
	forEachSetup(t, func(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], want map[int64]int64) {
		keys := slices.Sorted(maps.Keys(want))
		func() {
			defer func() {
				require.Equal(t, "body failed", recover(), "recovered panic")
			}()
			n := 0
			for k := range m.Keys() {
				m.Delete(k)
				delete(want, k)
				m.Set(keys[n], 7)
				want[keys[n]] = 7
				if n++; n == 20 {
					panic("body failed")
				}
			}
		}()
		requireSame(t, m, want)
		requireCompacts(t, m, want)
	})
}

func TestNestedIterations(t *testing.T) {
	forEachSetup(t, func(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], want map[int64]int64) {
		outer := newIterCheck(t, want, 0)
		n := 0
		for k, v := range m.All() {
			outer.yield(k, v)
			if n++; n%1000 != 1 {
				continue
			}
			// A full inner iteration that deletes keys as it goes: the
			// outer one must not reach them afterwards.
			inner, present := 0, len(want)
			for ik := range m.Keys() {
				if inner++; inner%2 == 0 && ik != k {
					outer.delete(m, ik)
				}
			}
			require.Equal(t, present, inner, "keys from an inner Keys() that deletes every other key it yields")
		}
		outer.done()
		requireSame(t, m, want)
		requireCompacts(t, m, want)
	})
}

func TestIterationRandomBody(t *testing.T) {
	seeds := uint64(3)
	if shrinkmap.RaceEnabled {
		seeds = 1
	}
	for seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			forEachSetup(t, func(t *testing.T, m *shrinkmap.ShrinkMap[int64, int64], want map[int64]int64) {
				c := newIterCheck(t, want, seed)
				rng := c.rng
				lo, span := c.keys[0], 2*(c.keys[len(c.keys)-1]-c.keys[0]+1)
				var ran [10]int // body operations by rng.IntN(10)
				shrinks := 0
				for k, v := range m.All() {
					c.yield(k, v)
					for range rng.IntN(4) {
						key := lo + rng.Int64N(span)
						op := rng.IntN(10)
						ran[op]++
						switch op {
						case 0, 1, 2, 3:
							c.delete(m, key)
						case 4, 5, 6:
							c.set(m, key, rng.Int64())
						case 7, 8:
							got, ok := m.Get(key)
							w, wok := want[key]
							require.Equal(t, wok, ok, "Get(%d) ok in the loop body", key)
							require.Equal(t, w, got, "Get(%d) in the loop body", key)
						case 9:
							if rng.IntN(200) == 0 {
								shrinks++
								m.Shrink()
							}
						}
					}
				}
				c.done()
				requireSame(t, m, want)
				// Deletes, Sets, Gets and Shrinks all ran in the bodies.
				require.Positive(t, ran[0]+ran[1]+ran[2]+ran[3], "Deletes in the loop body")
				require.Positive(t, ran[4]+ran[5]+ran[6], "Sets in the loop body")
				require.Positive(t, ran[7]+ran[8], "Gets in the loop body")
				require.Positive(t, shrinks, "Shrinks in the loop body (of %d chances)", ran[9])
			})
		})
	}
}

func TestIterationBreakAmongNaNKeys(t *testing.T) {
	// Entries with NaN keys come after the tables: a break among them must
	// end the iteration like any other.
	m := shrinkmap.New[float64, int](shrinkmap.WithPolicy(always), shrinkmap.WithIncremental(0))
	for i := range 1000 {
		m.Set(float64(i), i)
	}
	for i := range 3 {
		m.Set(math.NaN(), -i)
	}
	n, nans := 0, 0
	for k := range m.All() {
		n++
		if k != k {
			if nans++; nans == 2 {
				break
			}
		}
	}
	require.Equal(t, 1002, n, "entries yielded up to the second NaN key")
	require.Equal(t, 1003, len(slices.Collect(m.Keys())), "Keys() after the break")
	for i := range 900 {
		m.Delete(float64(i))
	}
	require.Positive(t, m.Stats().Shrinks, "Stats().Shrinks after a drain that follows the break; want compaction no longer held back")
	require.Equal(t, 103, m.Len(), "Len() after the drain")
}
