package shrinkmap_test

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/require"
)

// Estimated bytes of map[int64]int64 tables (136-byte groups) of the sizes
// the Stats tests meet.
const (
	table16383  = 4096 * 136  // 32768 slots
	table65536  = 16384 * 136 // 131072 slots
	table262144 = 65536 * 136 // 524288 slots
)

func TestStatsTableBytes(t *testing.T) {
	// TableBytes counts groups of 8 slots (an 8-byte control word and 8
	// keys and values, those over 128 bytes as pointers) for n entries at
	// up to 7/8 load, in a power-of-two number of slots; a map of up to 8
	// entries takes one group.
	tests := []struct {
		name string
		got  func() int64
		want int64
	}{
		{"int64->int64 n=0", func() int64 { return tableFor(0) }, 0},
		{"int64->int64 n=1", func() int64 { return tableFor(1) }, 136},
		{"int64->int64 n=8", func() int64 { return tableFor(8) }, 136},
		{"int64->int64 n=9", func() int64 { return tableFor(9) }, 2 * 136},
		{"int64->int64 n=14", func() int64 { return tableFor(14) }, 2 * 136},
		{"int64->int64 n=15", func() int64 { return tableFor(15) }, 4 * 136},
		{"int64->int64 n=896", func() int64 { return tableFor(896) }, 128 * 136},
		{"int64->int64 n=897", func() int64 { return tableFor(897) }, 256 * 136},
		{"int64->int64 n=16383", func() int64 { return tableFor(16383) }, table16383},
		{"int64->int64 n=65536", func() int64 { return tableFor(65536) }, table65536},
		{"int64->int64 n=262144", func() int64 { return tableFor(262144) }, table262144},
		{"int8->int8 group", groupOf[int8, int8], 8 + 8*2},
		{"int32->int64 group (padded slot)", groupOf[int32, int64], 8 + 8*16},
		{"int64->[128]byte group (inline value)", groupOf[int64, [128]byte], 8 + 8*136},
		{"int64->[129]byte group (indirect value)", groupOf[int64, [129]byte], 8 + 8*16},
		{"string->[200]byte group (indirect value)", groupOf[string, [200]byte], 8 + 8*24},
		{"[256]byte->int64 group (indirect key)", groupOf[[256]byte, int64], 8 + 8*16},
		{"[128]byte->[128]byte group", groupOf[[128]byte, [128]byte], 8 + 8*256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.got(), "Stats().TableBytes")
		})
	}
}

// groupOf returns the estimated bytes of one group of a map[K]V: the table
// of a map sized for one entry.
func groupOf[K comparable, V any]() int64 {
	return shrinkmap.New[K, V](shrinkmap.WithCapacity(1)).Stats().TableBytes
}

func TestStatsMidMigration(t *testing.T) {
	// The new table starts sized for as many live entries as fit in 256 KiB
	// (7,168 int64->int64 entries: 8,192 slots) and grows past that as
	// entries arrive, so mid-way TableBytes is the old table plus the new
	// one, and WastedBytes what a table for the live entries would save.
	const presized = 7168
	presizedBytes := tableFor(presized)
	require.LessOrEqual(t, presizedBytes, int64(256<<10), "the presized table's estimate")
	require.Greater(t, tableFor(2*presized), int64(256<<10), "a table twice the presized one")
	m, want := startMigration(t)
	require.Equal(t, shrinkmap.Stats{
		Len: migrationLive, Peak: migrationLive,
		TableBytes:  presizedBytes + table262144,
		WastedBytes: presizedBytes + table262144 - tableFor(migrationLive),
		Migrating:   true, MigrationLeft: migrationLive,
		DrainedFrom: migrationFill,
	}, m.Stats(), "Stats() when the migration starts")

	m.Set(-1, -1) // a new key, to the new table; the Set moves one step
	want[-1] = -1
	require.Equal(t, shrinkmap.Stats{
		Len: migrationLive + 1, Peak: migrationLive + 1,
		TableBytes:  presizedBytes + table262144,
		WastedBytes: presizedBytes + table262144 - tableFor(migrationLive+1),
		Migrating:   true, MigrationLeft: migrationLive - shrinkmap.DefaultStep,
	}, m.Stats(), "Stats() after a Set mid-migration")

	m.Delete(-1)
	delete(want, -1)
	s := m.Stats()
	require.Equal(t, migrationLive, s.Len, "Stats().Len after a Delete mid-migration")
	require.Equal(t, migrationLive+1, s.Peak, "Stats().Peak after a Delete mid-migration")
	require.Equal(t, migrationLive-2*shrinkmap.DefaultStep, s.MigrationLeft, "Stats().MigrationLeft after a Delete mid-migration")

	gets := finishMigration(t, m, 0)
	left := migrationLive - 2*shrinkmap.DefaultStep
	require.Equal(t, (left+shrinkmap.DefaultStep-1)/shrinkmap.DefaultStep, gets, "Gets to move the last %d entries", left)
	require.Equal(t, shrinkmap.Stats{Len: migrationLive, Peak: migrationLive + 1, Shrinks: 1, TableBytes: tableFor(migrationLive)}, m.Stats(), "Stats() after the migration")
	requireSame(t, m, want)
}

// heapOf returns the heap bytes that the value build returns keeps
// reachable: the settled heap after build minus the settled heap before.
// build itself is kept alive throughout, so that what it captures (the
// keys it inserts) is not freed in between and counted against the map.
func heapOf(build func() any) int64 {
	before := settledHeap()
	v := build()
	after := settledHeap()
	runtime.KeepAlive(v)
	runtime.KeepAlive(build)
	return after - before
}

// settledHeap runs the garbage collector until the live heap stops
// shrinking and returns it. One runtime.GC is not always enough: a map
// dropped mid-migration frees its old table only after a runtime cleanup
// has stopped the migration, which runs after the collection that found
// the map unreachable.
func settledHeap() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	last := int64(ms.HeapAlloc)
	for range 10 {
		runtime.Gosched()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		if int64(ms.HeapAlloc) >= last {
			break
		}
		last = int64(ms.HeapAlloc)
	}
	return int64(ms.HeapAlloc)
}

// estimateCase is one map type for TestStatsTableBytesMatchesHeap, with
// the heap each entry takes outside the table (an out-of-line key or
// value, in its size class).
type estimateCase struct {
	name     string
	indirect int64
	sizes    []int
	// builders makes n keys and returns functions that fill a native map
	// and a ShrinkMap with them, and one that returns the ShrinkMap's
	// Stats().TableBytes once filled. The keys are made first so that
	// their own bytes (string data) are not measured.
	builders func(n int) (native, shrink func() any, table func() int64)
}

func estimateCaseOf[K comparable, V any](name string, indirect int64, key func(i int) K, sizes ...int) estimateCase {
	return estimateCase{
		name:     name,
		indirect: indirect,
		sizes:    sizes,
		builders: func(n int) (native, shrink func() any, table func() int64) {
			keys := make([]K, n)
			for i := range keys {
				keys[i] = key(i)
			}
			var v V
			m := shrinkmap.New[K, V]()
			native = func() any {
				nm := make(map[K]V)
				for _, k := range keys {
					nm[k] = v
				}
				return nm
			}
			shrink = func() any {
				for _, k := range keys {
					m.Set(k, v)
				}
				return m
			}
			return native, shrink, func() int64 { return m.Stats().TableBytes }
		},
	}
}

func TestStatsTableBytesMatchesHeap(t *testing.T) {
	// The estimate counts group arrays, rounded to whole pages when over
	// 32 KiB. It leaves out the size-class rounding of smaller arrays and
	// the header of each table and the directory. Measured on Go 1.26
	// amd64 (the Logf lines): int->int, whose 17408-byte arrays take the
	// 18432-byte class, 1.061-1.063x; [128]byte values, whose arrays are
	// paged, 1.000x; string->[200]byte 1.013x; [256]byte keys 1.007x.
	// 10% covers the size-class rounding with room for the headers.
	const tolerance = 0.10
	big := []int{1 << 10, 1 << 16, 1 << 20}
	if shrinkmap.RaceEnabled || testing.Short() {
		big = big[:2]
	}
	cases := []estimateCase{
		estimateCaseOf[int, int]("int->int", 0, func(i int) int { return i }, big...),
		// 1M [128]byte entries: see TestMemorySeedDrain.
		estimateCaseOf[int, [128]byte]("int->[128]byte", 0, func(i int) int { return i }, 1<<10, 1<<16),
		// A 200-byte value is stored out of line, in the 208-byte class.
		estimateCaseOf[string, [200]byte]("string->[200]byte", 208, strconv.Itoa, 1<<10, 1<<16),
		// A 256-byte key is stored out of line, in the 256-byte class.
		estimateCaseOf[[256]byte, int]("[256]byte->int", 256, func(i int) (k [256]byte) {
			copy(k[:], strconv.Itoa(i))
			return k
		}, 1<<10, 1<<16),
	}
	for _, c := range cases {
		for _, n := range c.sizes {
			t.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(t *testing.T) {
				native, shrink, tableBytes := c.builders(n)
				nativeHeap := heapOf(native)
				shrinkHeap := heapOf(shrink)
				table := tableBytes()
				want := table + int64(n)*c.indirect
				nativeRatio := float64(nativeHeap) / float64(want)
				shrinkRatio := float64(shrinkHeap) / float64(want)
				t.Logf("TableBytes %d + out-of-line %d = %d; heap: native %d (%.3fx), ShrinkMap %d (%.3fx)",
					table, int64(n)*c.indirect, want, nativeHeap, nativeRatio, shrinkHeap, shrinkRatio)
				// Besides the tolerance, small maps allow 8 KiB: the
				// runtime's own allocations move the heap that much.
				delta := max(tolerance*float64(want), 8<<10)
				require.InDelta(t, want, nativeHeap, delta, "native map heap %d / estimate %d = %.3f", nativeHeap, want, nativeRatio)
				require.InDelta(t, want, shrinkHeap, delta, "ShrinkMap heap %d / estimate %d = %.3f", shrinkHeap, want, shrinkRatio)
				// A ShrinkMap is a native map plus a header: the two heaps
				// differ by less than 1%, or 8 KiB for small maps, whose
				// heap the runtime's own allocations can move that much.
				require.InDelta(t, nativeHeap, shrinkHeap, max(0.01*float64(want), 8<<10), "ShrinkMap heap vs native map heap")
			})
		}
	}
}
