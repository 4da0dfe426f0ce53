package shrinkmap_test

import (
	"runtime"
	"testing"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/require"
)

// seedValue is the value type of the seed's experiment.
type seedValue = [128]byte

// seedSize is the number of entries of the seed's experiment: 1M, as the
// issue states it, at every setting. A smaller size is no cheaper proof:
// the ratio depends on n through the compaction points (a quarter of the
// peak, then each halving of the table) and the power-of-two tables.
const seedSize = 1_000_000

// freshHeap returns the heap of a fresh native map holding keys lo..hi-1.
func freshHeap(lo, hi int) int64 {
	return heapOf(func() any {
		m := make(map[int]seedValue)
		for k := lo; k < hi; k++ {
			m[k] = seedValue{byte(k)}
		}
		return m
	})
}

func TestMemorySeedDrain(t *testing.T) {
	// The seed's experiment: n x [128]byte inserted, drained to 1% by
	// Delete. The heap the ShrinkMap keeps must be at most twice that of a
	// fresh native map holding only the live entries.
	//
	// With the default policy the drain's peak holds through its
	// compactions, so the map compacts at a quarter of 1M and then each
	// time its table could halve (with an eighth of headroom); the last
	// compaction leaves a table of the fresh map's 16384 slots. Measured on
	// Go 1.26 amd64: a ratio of 1.000.
	n := seedSize
	live := n / 100
	fresh := freshHeap(n-live, n)
	// The comparison allows 0.5% for what lies outside the slots (the
	// ShrinkMap and map headers, the tables' directories) and for the
	// fresh map's tables splitting a little differently from run to run.
	// The bounds below: 1.6 for the default (measured 1.000; 1.25-1.50 in
	// runs before the headroom rule), 1.75 for a policy on wasted bytes.
	const slack = 1.005
	//
	// keptEstimate is how close Stats().TableBytes must be to the heap kept.
	// The wasted-bytes policy's last compaction is incremental and lands
	// right at a table boundary: its fresh table grows while the drain
	// goes on, and some of its tables split where a table sized in one go
	// would not (measured: heap 1.25x to 1.50x the estimate).
	variants := []struct {
		name         string
		opts         []shrinkmap.Option
		bound        float64
		keptEstimate float64
	}{
		{"default", nil, 1.6, 0.6},
		{"WithIncremental(0)", []shrinkmap.Option{shrinkmap.WithIncremental(0)}, 1.6, 0.6},
		{"WastedBytesPolicy", []shrinkmap.Option{shrinkmap.WithPolicy(shrinkmap.WastedBytesPolicy{MaxWastedBytes: 1 << 20})}, 1.75, 0.75},
	}
	if shrinkmap.RaceEnabled {
		variants = variants[:1] // 17 s under the race detector
	}
	for _, tt := range variants {
		t.Run(tt.name, func(t *testing.T) {
			base := settledHeap()
			m := shrinkmap.New[int, seedValue](tt.opts...)
			for k := range n {
				m.Set(k, seedValue{byte(k)})
			}
			peak := settledHeap() - base
			peakTable := m.Stats().TableBytes
			for k := range n - live {
				m.Delete(k)
			}
			// Operations after the drain finish any migration in progress.
			gets := finishMigration(t, m, n-1)
			s := m.Stats()
			require.False(t, s.Migrating, "Stats().Migrating after %d operations", gets)
			require.Equal(t, live, s.Len, "Stats().Len after the drain")
			require.Positive(t, s.Shrinks, "Stats().Shrinks after the drain")
			kept := settledHeap() - base
			runtime.KeepAlive(m)

			ratio := float64(kept) / float64(fresh)
			t.Logf("n=%d drained to %d: peak heap %.2f MB (TableBytes %.2f MB), kept %.2f MB (TableBytes %.2f MB, %d compactions, %d operations to finish), fresh native map %.2f MB: ratio %.3f",
				n, live, mb(peak), mb(peakTable), mb(kept), mb(s.TableBytes), s.Shrinks, gets, mb(fresh), ratio)
			require.LessOrEqual(t, ratio, tt.bound*slack, "heap kept after the drain (%d B) / heap of a fresh map of the %d live entries (%d B); want <= %.1f", kept, live, fresh, tt.bound)
			// The table estimate, at the peak and after the drain, within
			// the tolerance of TestStatsTableBytesMatchesHeap.
			require.InDelta(t, 1, float64(peak)/float64(peakTable), 0.10, "peak heap %d / Stats().TableBytes %d", peak, peakTable)
			require.InDelta(t, 1, float64(kept)/float64(s.TableBytes), tt.keptEstimate, "heap kept %d / Stats().TableBytes %d", kept, s.TableBytes)
		})
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// releaseSize is the number of [128]byte entries of the tests that empty a
// map: a 36 MB table, or 9 MB under the race detector, still enough for a
// default compaction to be incremental (a quarter of it is over
// DefaultMinIncremental).
func releaseSize() int {
	if shrinkmap.RaceEnabled {
		return 1 << 16
	}
	return 1 << 17
}

// drainUntilMigrating deletes keys from 0 up until m starts an incremental
// compaction and returns the next key.
func drainUntilMigrating(t *testing.T, m *shrinkmap.ShrinkMap[int, seedValue], n int) int {
	t.Helper()
	k := 0
	for ; !m.Stats().Migrating; k++ {
		require.Less(t, k, n, "no incremental compaction started after deleting every key")
		m.Delete(k)
	}
	return k
}

func TestMemoryGivesTableBack(t *testing.T) {
	// Shrink of an emptied map and Clear must give back at least 98% of
	// what the map held.
	n := releaseSize()
	fillSeed := func(m *shrinkmap.ShrinkMap[int, seedValue]) {
		for k := range n {
			m.Set(k, seedValue{byte(k)})
		}
	}
	emptied := func(_ *testing.T, m *shrinkmap.ShrinkMap[int, seedValue]) {
		fillSeed(m)
		for k := range n {
			m.Delete(k)
		}
	}
	tests := []struct {
		name    string
		opts    []shrinkmap.Option
		prepare func(t *testing.T, m *shrinkmap.ShrinkMap[int, seedValue])
		release func(m *shrinkmap.ShrinkMap[int, seedValue])
	}{
		{"Shrink of an emptied map", []shrinkmap.Option{shrinkmap.WithPolicy(shrinkmap.Never())},
			emptied, (*shrinkmap.ShrinkMap[int, seedValue]).Shrink},
		{"Clear of a full map", nil,
			func(_ *testing.T, m *shrinkmap.ShrinkMap[int, seedValue]) { fillSeed(m) },
			(*shrinkmap.ShrinkMap[int, seedValue]).Clear},
		{"Clear of an emptied map", []shrinkmap.Option{shrinkmap.WithPolicy(shrinkmap.Never())},
			emptied, (*shrinkmap.ShrinkMap[int, seedValue]).Clear},
		{"Clear mid-migration", nil,
			func(t *testing.T, m *shrinkmap.ShrinkMap[int, seedValue]) {
				fillSeed(m)
				k := drainUntilMigrating(t, m, n)
				for range 100 { // entries in both tables
					m.Get(k)
				}
				require.True(t, m.Stats().Migrating, "Stats().Migrating before Clear")
			},
			(*shrinkmap.ShrinkMap[int, seedValue]).Clear},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := settledHeap()
			m := shrinkmap.New[int, seedValue](tt.opts...)
			tt.prepare(t, m)
			held := settledHeap() - base
			table := m.Stats().TableBytes
			tt.release(m)
			s := m.Stats()
			require.Zero(t, s.TableBytes, "Stats().TableBytes after release (%+v)", s)
			require.Zero(t, s.Len, "Stats().Len after release")
			left := settledHeap() - base
			runtime.KeepAlive(m)

			gaveBack := float64(held-left) / float64(held)
			t.Logf("n=%d: held %.2f MB (TableBytes %.2f MB), left %d B: gave back %.4f%%",
				n, mb(held), mb(table), left, 100*gaveBack)
			require.GreaterOrEqual(t, gaveBack, 0.98, "share of the %d B held that was given back (%d B left)", held, left)
		})
	}
}

func TestMemoryDroppedMidMigration(t *testing.T) {
	// A map dropped mid-migration frees both tables once the garbage
	// collector finds it unreachable; the migration runs on no goroutine.
	n := releaseSize()
	base := settledHeap() // also ends migrations of maps dropped earlier
	goroutines := runtime.NumGoroutine()
	func() {
		m := shrinkmap.New[int, seedValue]()
		for k := range n {
			m.Set(k, seedValue{})
		}
		drainUntilMigrating(t, m, n)
		require.Equal(t, goroutines, runtime.NumGoroutine(), "goroutines mid-migration; want none of the migration's own")
	}()
	left := settledHeap() - base
	t.Logf("n=%d: %d B left after dropping a map mid-migration", n, left)
	require.Less(t, left, int64(1<<20), "heap left after dropping a map mid-migration")
	require.Equal(t, goroutines, runtime.NumGoroutine(), "goroutines after dropping a map mid-migration")
}
