package shrinkmap_test

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"iter"
	"strconv"
	"sync"
	"testing"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/require"
)

// The drop-in tests check what code written for a native map relies on:
// reads under a shared lock, deletes inside a range, a map held by value,
// gob encoding.

func TestReadersUnderRLockThenDrain(t *testing.T) {
	// Readers of a native map under a shared RLock run at once; so must a
	// ShrinkMap's (the race detector reports any write they make), and the
	// map must still compact once a writer drains it.
	n := releaseSize() / 4
	readers := 4
	for round := range 20 {
		var mu sync.RWMutex
		m := shrinkmap.New[int, seedValue]()
		for k := range n {
			m.Set(k, seedValue{byte(k)})
		}
		var wg sync.WaitGroup
		errs := make(chan error, readers)
		for r := range readers {
			goWait(&wg, func() {
				mu.RLock()
				defer mu.RUnlock()
				errs <- readAll(m, n, r)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err, "round %d", round)
		}
		mu.Lock()
		for k := range n - n/100 {
			m.Delete(k)
		}
		s := m.Stats()
		mu.Unlock()
		require.Positive(t, s.Shrinks, "round %d: Stats() after draining to 1%% = %+v; want a compaction", round, s)
		require.LessOrEqual(t, s.TableBytes, 4*tableBytesOf(s.Len), "round %d: Stats() = %+v; want the table given back", round, s)
	}
}

// readAll reads m as a reader under RLock would: Get, Has, Len, Stats, a
// full All, Keys and Values, and a JSON encoding.
func readAll(m *shrinkmap.ShrinkMap[int, seedValue], n, r int) error {
	for k := r; k < n; k += 7 {
		if v, ok := m.Get(k); !ok || v[0] != byte(k) || !m.Has(k) {
			return fmt.Errorf("Get(%d) = %v, %v", k, v[0], ok)
		}
	}
	seen := 0
	for k, v := range m.All() {
		if v[0] != byte(k) {
			return fmt.Errorf("All yielded %d: %d", k, v[0])
		}
		seen++
	}
	for range m.Keys() {
		seen++
	}
	for range m.Values() {
		seen++
	}
	if seen != 3*n || m.Len() != n || m.Stats().Len != n {
		return fmt.Errorf("iterations saw %d entries, Len %d; want %d each", seen, m.Len(), n)
	}
	if _, err := m.MarshalJSON(); err != nil {
		return err
	}
	return nil
}

func TestExpiryLoopGivesMemoryBack(t *testing.T) {
	// Expiry code deletes inside a range and then may not write again: the
	// memory must be back by the time the loop ends.
	n := releaseSize()
	loops := map[string]func(m *shrinkmap.ShrinkMap[int, seedValue], expired func(int) bool){
		"All": func(m *shrinkmap.ShrinkMap[int, seedValue], expired func(int) bool) {
			for k := range m.All() {
				if expired(k) {
					m.Delete(k)
				}
			}
		},
		"Keys": func(m *shrinkmap.ShrinkMap[int, seedValue], expired func(int) bool) {
			for k := range m.Keys() {
				if expired(k) {
					m.Delete(k)
				}
			}
		},
		"iter.Pull2": func(m *shrinkmap.ShrinkMap[int, seedValue], expired func(int) bool) {
			next, stop := iter.Pull2(m.All())
			defer stop()
			for k, _, ok := next(); ok; k, _, ok = next() {
				if expired(k) {
					m.Delete(k)
				}
			}
		},
	}
	for name, loop := range loops {
		for _, left := range []int{0, n / 100} {
			t.Run(name+"/left="+strconv.Itoa(left), func(t *testing.T) {
				base := settledHeap()
				m := shrinkmap.New[int, seedValue]()
				for k := range n {
					m.Set(k, seedValue{byte(k)})
				}
				loop(m, func(k int) bool { return k >= left })
				for k := range left { // reads only afterwards
					v, ok := m.Get(k)
					require.True(t, ok && v[0] == byte(k), "Get(%d) after the loop", k)
				}
				s := m.Stats()
				require.Equal(t, left, s.Len, "Len after the loop")
				require.False(t, s.Migrating, "Stats() after the loop = %+v; want no compaction left in progress", s)
				// An emptied map keeps at most one group (see AdaptivePolicy).
				require.LessOrEqual(t, s.TableBytes, max(4*tableBytesOf(left), tableBytesOf(1)), "Stats() after the loop = %+v; want the table given back", s)
				kept := settledHeap() - base
				fresh := freshHeap(0, left)
				t.Logf("n=%d, left %d: heap kept %.2f MB, a fresh map %.2f MB", n, left, mb(kept), mb(fresh))
				require.LessOrEqual(t, kept, 4*fresh+64<<10, "heap kept after the loop; want at most 4x a fresh map's")
				require.Equal(t, left, m.Len())
			})
		}
	}
}

// tableBytesOf is Stats().TableBytes of a fresh map of n seedValue entries.
func tableBytesOf(n int) int64 {
	m := shrinkmap.New[int, seedValue]()
	for k := range n {
		m.Set(k, seedValue{})
	}
	return m.Stats().TableBytes
}

func TestInitInPlace(t *testing.T) {
	type server struct {
		sessions shrinkmap.ShrinkMap[string, int]
	}
	var s server
	var events []shrinkmap.ShrinkEvent
	s.sessions.Init(shrinkmap.WithPolicy(shrinkmap.Never()), shrinkmap.WithShrinkHook(func(e shrinkmap.ShrinkEvent) { events = append(events, e) }))
	for i := range 1000 {
		s.sessions.Set(strconv.Itoa(i), i)
	}
	for i := range 1000 {
		s.sessions.Delete(strconv.Itoa(i))
	}
	require.Zero(t, s.sessions.Stats().Shrinks, "Shrinks under Never() set by Init")
	s.sessions.Set("a", 1)
	s.sessions.Shrink()
	require.Len(t, events, 1, "hook set by Init")

	got := s.sessions.Init()
	require.Same(t, &s.sessions, got, "Init returns its receiver")
	require.Equal(t, shrinkmap.Stats{}, s.sessions.Stats(), "Stats after Init; want an empty map with a new history")
	_, ok := s.sessions.Get("a")
	require.False(t, ok, "Get after Init")

	msg := panicMessage(t, func() { s.sessions.Init(shrinkmap.WithCapacity(-1)) })
	require.Contains(t, msg, "Capacity = -1", "Init's panic on an invalid option")

	// Init mid-migration and inside a loop body.
	m, _ := startMigration(t)
	for range m.All() {
		m.Init()
	}
	require.Equal(t, shrinkmap.Stats{}, m.Stats(), "Stats after Init inside a loop body, mid-migration")
}

func TestGobRoundTrip(t *testing.T) {
	type saved struct {
		Items *shrinkmap.ShrinkMap[string, int]
		Name  string
	}
	in := saved{Items: shrinkmap.New[string, int](), Name: "cache"}
	want := map[string]int{}
	for i := range 500 {
		in.Items.Set(strconv.Itoa(i), i)
		want[strconv.Itoa(i)] = i
	}
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(in))
	var out saved
	require.NoError(t, gob.NewDecoder(&buf).Decode(&out))
	require.Equal(t, "cache", out.Name)
	requireSame(t, out.Items, want)

	// Decoding into a map keeps its entries unless overwritten; bad input
	// changes nothing.
	m := shrinkmap.New[string, int]()
	m.Set("kept", -1)
	m.Set("0", -1)
	data, err := in.Items.GobEncode()
	require.NoError(t, err)
	require.NoError(t, m.GobDecode(data))
	want["kept"] = -1
	requireSame(t, m, want)
	require.Error(t, m.GobDecode([]byte("not gob")), "GobDecode of garbage")
	requireSame(t, m, want)
}

func TestFromMap(t *testing.T) {
	src := map[int64]int64{}
	for i := range int64(5000) {
		src[i] = i * 3
	}
	m := shrinkmap.FromMap(src)
	requireSame(t, m, src)
	s := m.Stats()
	require.Equal(t, tableFor(len(src)), s.TableBytes, "FromMap presizes the table for len(src)")
	require.Equal(t, 5000, s.Peak)

	// The size is a hint, not a floor: a drain compacts below it.
	for i := range int64(4990) {
		m.Delete(i)
		delete(src, i)
	}
	requireSame(t, m, src)
	m.Shrink()
	require.Equal(t, tableFor(10), m.Stats().TableBytes, "TableBytes after a drain and Shrink")
	require.Panics(t, func() { shrinkmap.FromMap(src, shrinkmap.WithIncremental(-1)) })
}
