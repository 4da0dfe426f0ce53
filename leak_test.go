package shrinkmap

import (
	"iter"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// leakValue makes entries large enough that the tables of a map stand out
// in the heap.
type leakValue [32]byte

// leakEntries is the fill of the maps the leak tests drop mid-migration:
// 200,000 entries of 40 bytes make a table of about 10.7 MB (estimated),
// and half of them a new one of about 5.4 MB.
func leakEntries() int {
	if testing.Short() || raceEnabled {
		return 50_000
	}
	return 200_000
}

// leakMigrating returns a map of n entries in the middle of an incremental
// migration: its paused iterator holds the old table.
func leakMigrating(t *testing.T, n int) *ShrinkMap[int, leakValue] {
	m := New[int, leakValue](WithPolicy(RatioPolicy{Threshold: 0.5}))
	for i := range n {
		m.Set(i, leakValue{byte(i)})
	}
	for i := 0; !m.Stats().Migrating; i++ {
		m.Delete(i)
	}
	for i := range 10 {
		m.Delete(-1 - i) // absent keys: each Delete takes one step
	}
	s := m.Stats()
	require.Truef(t, s.Migrating && s.MigrationLeft > n/4, "after filling %d entries and draining half: Stats() = %+v; want a migration in its early steps", n, s)
	return m
}

// leakHeap returns the bytes of live heap objects after two collections.
func leakHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// leakAbandon makes a map mid-migration, lets abandon do what it tests to
// it, checks that the map is then alive and measurable and that the
// migration runs on no goroutine of its own, and drops the map. It returns
// the live heap with the map.
//
//go:noinline
func leakAbandon(t *testing.T, goroutines int, abandon func(*ShrinkMap[int, leakValue])) uint64 {
	m := leakMigrating(t, leakEntries())
	abandon(m)
	s := m.Stats()
	require.Truef(t, s.Migrating, "after the abandoned iteration: Stats() = %+v; want the migration still in progress", s)
	heap := leakHeap()
	// A goroutine of an earlier test (a Concurrent's table allocation)
	// may end meanwhile, but none may start.
	require.LessOrEqualf(t, runtime.NumGoroutine(), goroutines,
		"runtime.NumGoroutine() mid-migration; want at most the %d before: a migration runs on no goroutine or coroutine", goroutines)
	runtime.KeepAlive(m)
	return heap
}

// requireFreed collects garbage until the goroutines and the heap are back
// to their baselines (the heap within slack bytes), or fails after about
// ten seconds.
func requireFreed(t *testing.T, what string, leaks goleak.Option, goroutines int, heapBase, slack uint64) {
	t.Helper()
	var heap uint64
	n := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		heap, n = leakHeap(), runtime.NumGoroutine()
		if n <= goroutines && heap <= heapBase+slack {
			break
		}
	}
	require.NoErrorf(t, goleak.Find(leaks), "%s: goroutines left behind", what)
	require.LessOrEqualf(t, n, goroutines, "%s: runtime.NumGoroutine() = %d; want back to %d", what, n, goroutines)
	require.LessOrEqualf(t, heap, heapBase+slack, "%s: live heap %d bytes after GC; want at most %d (baseline %d + %d)",
		what, heap, heapBase+slack, heapBase, slack)
}

// TestLeakMigrationAbandoned drops maps in the middle of an incremental
// migration, after iterations abandoned in every way, and checks that
// their tables are freed.
func TestLeakMigrationAbandoned(t *testing.T) {
	cases := []struct {
		name    string
		abandon func(*ShrinkMap[int, leakValue])
	}{
		{"no iteration", func(*ShrinkMap[int, leakValue]) {}},
		{"early break", func(m *ShrinkMap[int, leakValue]) {
			i := 0
			for k := range m.All() {
				m.Delete(k)
				if i++; i == 100 {
					break
				}
			}
		}},
		{"panicking body", func(m *ShrinkMap[int, leakValue]) {
			require.Panics(t, func() {
				for k := range m.Keys() {
					m.Set(k, leakValue{})
					panic("loop body")
				}
			}, "a range over Keys whose body panics: want the panic")
		}},
		{"iter.Pull stopped", func(m *ShrinkMap[int, leakValue]) {
			next, stop := iter.Pull2(m.All())
			for range 100 {
				k, _, ok := next()
				require.Truef(t, ok, "next() of iter.Pull2(All()) mid-migration: ok = false; want an entry")
				m.Delete(k)
			}
			stop()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			leaks := goleak.IgnoreCurrent()
			goroutines := runtime.NumGoroutine()
			base := leakHeap()
			alive := leakAbandon(t, goroutines, c.abandon)
			tables := uint64(tableBytes(leakEntries(), groupBytes[int, leakValue]()))
			require.Greaterf(t, alive, base+tables/2,
				"live heap with the map mid-migration %d bytes; want more than the baseline %d + half its tables' estimate %d (else this test measures nothing)",
				alive, base, tables)
			requireFreed(t, "map dropped mid-migration after "+c.name, leaks, goroutines, base, (alive-base)/20)
		})
	}
}

// TestLeakManyMapsDropped drops many maps mid-migration at once: none
// leaves a goroutine or its tables behind.
func TestLeakManyMapsDropped(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	goroutines := runtime.NumGoroutine()
	base := leakHeap()
	const maps = 20
	func() {
		ms := make([]*ShrinkMap[int, leakValue], maps)
		for i := range ms {
			ms[i] = leakMigrating(t, 2*DefaultMinIncremental+1000)
		}
		for i, m := range ms {
			require.Truef(t, m.Stats().Migrating, "map %d: Stats().Migrating = false; want a migration in progress", i)
		}
		require.Equalf(t, goroutines, runtime.NumGoroutine(),
			"runtime.NumGoroutine() with %d maps mid-migration; want the %d before: no goroutine or coroutine each", maps, goroutines)
		runtime.KeepAlive(ms)
	}()
	requireFreed(t, "20 maps dropped mid-migration", leaks, goroutines, base, 1<<20)
}

// TestLeakMigrationEnded checks that every way a migration ends leaves no
// goroutine, and that a map kept alive after an abandoned iteration frees
// its old table once the migration completes.
func TestLeakMigrationEnded(t *testing.T) {
	cases := []struct {
		name string
		end  func(*ShrinkMap[int, leakValue])
	}{
		{"Shrink", func(m *ShrinkMap[int, leakValue]) { m.Shrink() }},
		{"Clear", func(m *ShrinkMap[int, leakValue]) { m.Clear() }},
		{"completed after an abandoned iter.Pull", func(m *ShrinkMap[int, leakValue]) {
			next, stop := iter.Pull2(m.All())
			next()
			next()
			stop()
			for m.Stats().Migrating {
				m.Delete(-1) // absent: each Delete takes one step
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			leaks := goleak.IgnoreCurrent()
			goroutines := runtime.NumGoroutine()
			base := leakHeap()
			m := leakMigrating(t, leakEntries())
			c.end(m)
			s := m.Stats()
			require.Falsef(t, s.Migrating, "after %s: Stats() = %+v; want the migration ended", c.name, s)
			require.NoErrorf(t, goleak.Find(leaks), "after %s with the map alive: goroutines left behind", c.name)
			// What stays is the map's live entries in a table sized for
			// them; the old table must be gone.
			kept := uint64(s.TableBytes)
			requireFreed(t, c.name+" mid-migration, map alive", leaks, goroutines, base, kept+kept/2+(1<<20))
			require.Equalf(t, s, m.Stats(), "Stats() changed while the map sat idle")
			runtime.KeepAlive(m)
		})
	}
}
