package shrinkmap

import (
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Tests of the zero Concurrent: ready to use as a struct field, when its
// first writes race, and with every method; its reads allocate nothing.

func TestConcurrentZeroField(t *testing.T) {
	type conn struct{ id int }
	var server struct {
		conns Concurrent[int, *conn]
	}
	server.conns.Set(1, &conn{id: 1})
	c, ok := server.conns.Get(1)
	require.True(t, ok && c.id == 1, "Get(1) = %v, %v after Set(1) on a zero Concurrent field; want conn 1", c, ok)
	require.Equal(t, 1, server.conns.Len(), "Len() after one Set")
	server.conns.Delete(1)
	require.Equal(t, 0, server.conns.Len(), "Len() after Delete(1)")
	newConcVerifier(&server.conns).quiet(t, "zero field after Set and Delete")
}

func TestConcurrentZeroFirstSetsRace(t *testing.T) {
	// 8 goroutines make the first Sets of a zero map at once: one table
	// wins, and every key lands in it.
	const goroutines, each = 8, 1000
	for round := range 20 {
		var c Concurrent[int, int]
		var start, wg sync.WaitGroup
		start.Add(1)
		for g := range goroutines {
			goWait(&wg, func() {
				start.Wait()
				for i := range each {
					c.Set(g*each+i, i)
				}
			})
		}
		start.Done()
		wg.Wait()
		require.Equal(t, goroutines*each, c.Len(), "round %d: Len() after %d goroutines' first Sets", round, goroutines)
		for k := range goroutines * each {
			if v, ok := c.Get(k); !ok || v != k%each {
				require.Failf(t, "Get after racing first Sets", "round %d: Get(%d) = %d, %v; want %d, true", round, k, v, ok, k%each)
			}
		}
		newConcVerifier(&c).quiet(t, "round %d after racing first Sets", round)
	}
}

func TestConcurrentZeroReadsAllocateNothing(t *testing.T) {
	var c Concurrent[string, int]
	allocs := testing.AllocsPerRun(100, func() {
		c.Get("a")
		c.Has("a")
		c.Len()
		for range c.All() {
			t.Fatal("All() of a zero map yielded")
		}
		c.Stats()
		c.Delete("a")
		c.GetAndDelete("a")
		c.CompareAndSwap("a", 1, 2)
		c.CompareAndDelete("a", 1)
		c.Clear()
		c.Close()
	})
	require.Zero(t, allocs, "allocations of Get, Has, Len, All, Stats, Delete, GetAndDelete, CompareAndSwap, CompareAndDelete, Clear and Close on a zero map")
	c.DeleteFunc(func(string, int) bool { return true })
	require.False(t, c.table.HasTable(), "a zero map has a table after reads and deletes; want none")
}

func TestConcurrentZeroEveryMethod(t *testing.T) {
	// Each method on its own zero map, then checked against a map made
	// by NewConcurrent with the default step and policy, given the same calls.
	type step struct {
		name string
		do   func(c *Concurrent[int, int]) any
	}
	steps := []step{
		{"Get", func(c *Concurrent[int, int]) any { v, ok := c.Get(1); return []any{v, ok} }},
		{"Has", func(c *Concurrent[int, int]) any { return c.Has(1) }},
		{"Len", func(c *Concurrent[int, int]) any { return c.Len() }},
		{"Stats", func(c *Concurrent[int, int]) any { return c.Stats() }},
		{"All", func(c *Concurrent[int, int]) any { return maps.Collect(c.All()) }},
		{"Keys", func(c *Concurrent[int, int]) any { return slices.Collect(c.Keys()) }},
		{"Values", func(c *Concurrent[int, int]) any { return slices.Collect(c.Values()) }},
		{"Set", func(c *Concurrent[int, int]) any { c.Set(1, 2); return c.Len() }},
		{"Delete", func(c *Concurrent[int, int]) any { c.Delete(1); return c.Len() }},
		{"GetOrSet", func(c *Concurrent[int, int]) any { v, ok := c.GetOrSet(1, 2); return []any{v, ok} }},
		{"GetAndDelete", func(c *Concurrent[int, int]) any { v, ok := c.GetAndDelete(1); return []any{v, ok} }},
		{"Swap", func(c *Concurrent[int, int]) any { v, ok := c.Swap(1, 2); return []any{v, ok} }},
		{"Compute", func(c *Concurrent[int, int]) any {
			v, ok := c.Compute(1, func(old int, _ bool) (int, ComputeOp) { return old + 3, UpdateOp })
			return []any{v, ok}
		}},
		{"CompareAndSwap", func(c *Concurrent[int, int]) any { return c.CompareAndSwap(1, 0, 2) }},
		{"CompareAndDelete", func(c *Concurrent[int, int]) any { return c.CompareAndDelete(1, 0) }},
		{"GetOrCompute", func(c *Concurrent[int, int]) any {
			v, ok := c.GetOrCompute(1, func() int { return 4 })
			return []any{v, ok}
		}},
		{"DeleteFunc", func(c *Concurrent[int, int]) any { c.DeleteFunc(func(int, int) bool { return true }); return c.Len() }},
		{"Clear", func(c *Concurrent[int, int]) any { c.Clear(); return c.Stats() }},
		{"Shrink", func(c *Concurrent[int, int]) any { c.Shrink(); return c.Stats() }},
		{"Close", func(c *Concurrent[int, int]) any { c.Close(); return c.Len() }},
	}
	for _, s := range steps {
		var zero Concurrent[int, int]
		got := s.do(&zero)
		want := s.do(NewConcurrent[int, int](WithIncremental(DefaultStep), WithPolicy(DefaultPolicy())))
		require.Equalf(t, want, got, "%s on a zero map; want what it returns on a map configured with the default step and policy", s.name)
		newConcVerifier(&zero).quiet(t, "%s on a zero map", s.name)
		// The map works on after the call.
		zero.Set(7, 7)
		v, ok := zero.Get(7)
		require.Truef(t, ok && v == 7, "Get(7) = %d, %v after %s on a zero map and Set(7, 7)", v, ok, s.name)
		newConcVerifier(&zero).quiet(t, "%s on a zero map, then Set", s.name)
	}
}
