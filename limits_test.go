package shrinkmap

import (
	"fmt"
	"maps"
	"math"
	"math/big"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Tests of the limits on inputs: capacities the table arithmetic and the
// runtime can hold, nil Options, and the size estimates at extreme inputs.

// limitPanic returns the string that f panics with, failing t if f returns
// or panics with something else.
func limitPanic(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		require.NotNil(t, r, "call did not panic; want a shrinkmap: panic")
		s, ok := r.(string)
		require.True(t, ok, "panic value %#v (%T); want a string", r, r)
		msg = s
	}()
	f()
	return ""
}

// wideInt returns u as an int if it fits, so that tests name 64-bit values
// and still compile where int has 32 bits.
func wideInt(u uint64) (int, bool) {
	if u > math.MaxInt {
		return 0, false
	}
	return int(u), true
}

// limitCalls are the constructors that validate options, each called with
// opts; Init is called on a map holding one entry, which it must leave
// unchanged when it panics.
func limitCalls(t *testing.T, opts ...Option) map[string]func() {
	return map[string]func(){
		"New":           func() { New[int, int](opts...) },
		"NewConcurrent": func() { NewConcurrent[int, int](opts...) },
		"Collect":       func() { Collect(maps.All(map[int]int{1: 1}), opts...) },
		"FromMap":       func() { FromMap(map[int]int{1: 1}, opts...) },
		"Init": func() {
			var m ShrinkMap[int, int]
			m.Set(1, 1)
			defer func() {
				require.Equal(t, 1, m.Len(), "Len() after Init panicked; want the map unchanged")
				v, ok := m.Get(1)
				require.True(t, ok && v == 1, "Get(1) = %d, %t after Init panicked; want 1, true", v, ok)
			}()
			m.Init(opts...)
		},
	}
}

func TestCapacityOutOfRangePanics(t *testing.T) {
	type tc struct {
		name string
		n    int
	}
	tests := []tc{
		{"-1", -1},
		{"MinInt", math.MinInt},
		{"MaxInt", math.MaxInt},
	}
	maxCap := MaxCapacity // a variable: MaxCapacity+1 overflows int where int has 32 bits
	if maxCap < math.MaxInt {
		tests = append(tests, tc{"MaxCapacity+1", maxCap + 1}, tc{"2*MaxCapacity", 2 * maxCap})
	}
	// 1<<40 reported 37 TB of TableBytes; 1<<61 and more divided by zero.
	for _, e := range []uint{40, 61, 62} {
		if n, ok := wideInt(1 << e); ok {
			tests = append(tests, tc{fmt.Sprintf("1<<%d", e), n})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for call, f := range limitCalls(t, WithPolicy(Never()), WithCapacity(tt.n)) {
				msg := limitPanic(t, f)
				for _, frag := range []string{
					"shrinkmap: Capacity = " + strconv.Itoa(tt.n) + ";",
					">= 0",
					"<= MaxCapacity (" + strconv.Itoa(MaxCapacity) + ")",
				} {
					require.Contains(t, msg, frag, "%s(WithCapacity(%d)) panicked with %q; want it to contain %q", call, tt.n, msg, frag)
				}
			}
			runtime.ReadMemStats(&after)
			require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20),
				"bytes allocated by the calls that panicked on WithCapacity(%d); want no table made", tt.n)
		})
	}
}

func TestCapacityInRangeValidates(t *testing.T) {
	// Validated without making a table: one for MaxCapacity entries is a
	// terabyte or more.
	for _, n := range []int{0, 1, 8, 9, 1 << 20, MaxCapacity - 1, MaxCapacity} {
		cfg := applyOptions([]Option{WithCapacity(n)})
		require.NoError(t, cfg.validate(), "validate() of WithCapacity(%d)", n)
	}
	if strconv.IntSize == 64 {
		n, _ := wideInt(7 << 33)
		require.Equal(t, n, MaxCapacity, "MaxCapacity where int has 64 bits")
	} else {
		require.Equal(t, math.MaxInt32, MaxCapacity, "MaxCapacity where int has 32 bits")
	}
}

func TestNilOptionPanics(t *testing.T) {
	tests := []struct {
		name  string
		opts  []Option
		index int
	}{
		{"only", []Option{nil}, 0},
		{"second", []Option{WithCapacity(10), nil}, 1},
		{"before an invalid one", []Option{WithIncremental(1), WithCounterStripes(2), nil, WithCapacity(-1)}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := fmt.Sprintf("shrinkmap: opts[%d] is nil; want a non-nil Option", tt.index)
			for call, f := range limitCalls(t, tt.opts...) {
				require.Equal(t, want, limitPanic(t, f), "%s's panic on a nil Option", call)
			}
		})
	}
}

// Reference arithmetic, exact for any input, in math/big.

// refTableSlots is tableSlots without saturation: ceil(8n/7) rounded up to
// a power of two, 8 for n <= 8.
func refTableSlots(n int) *big.Int {
	if n <= groupSlots {
		return big.NewInt(groupSlots)
	}
	need := new(big.Int).Mul(big.NewInt(int64(n)), big.NewInt(groupSlots))
	need.Add(need, big.NewInt(maxAvgGroupLoad-1)).Quo(need, big.NewInt(maxAvgGroupLoad))
	return pow2AtLeast(need)
}

func pow2AtLeast(x *big.Int) *big.Int {
	p := big.NewInt(1)
	for p.Cmp(x) < 0 {
		p.Lsh(p, 1)
	}
	return p
}

// refTableBytes is tableBytes without saturation, for slots from
// refTableSlots.
func refTableBytes(n int, group int64) *big.Int {
	switch {
	case n <= 0:
		return new(big.Int)
	case n <= groupSlots:
		return big.NewInt(group)
	}
	slots := refTableSlots(n)
	perTable := big.NewInt(maxTableSlots)
	if slots.Cmp(perTable) < 0 {
		perTable = slots
	}
	array := new(big.Int).Quo(perTable, big.NewInt(groupSlots))
	array.Mul(array, big.NewInt(group))
	if array.Cmp(big.NewInt(maxSmallAlloc)) > 0 {
		array.Add(array, big.NewInt(pageBytes-1)).Quo(array, big.NewInt(pageBytes)).Mul(array, big.NewInt(pageBytes))
	}
	return array.Mul(array, new(big.Int).Quo(slots, perTable))
}

// limitInputs are entry counts at the edges of the arithmetic.
func limitInputs() []int {
	ns := []int{math.MinInt, -1, 0, 1, 7, 8, 9, 14, 15, 16, 896, 897, 1 << 20, MaxCapacity - 1, MaxCapacity, math.MaxInt - 1, math.MaxInt}
	if MaxCapacity < math.MaxInt {
		maxCap := MaxCapacity
		ns = append(ns, maxCap+1)
	}
	for _, u := range []uint64{7 << 60, 7<<60 + 1, 1 << 61, 1<<61 + 1, 1 << 62, math.MaxInt32, math.MaxInt32 + 1} {
		if n, ok := wideInt(u); ok {
			ns = append(ns, n)
		}
	}
	return ns
}

func TestTableSlotsSaturates(t *testing.T) {
	fixed := map[int]uint64{0: 8, 1: 8, 8: 8, 9: 16, 14: 16, 15: 32, 896: 1024, 897: 2048}
	if strconv.IntSize == 64 {
		fixed[MaxCapacity] = 1 << 36
		fixed[math.MaxInt] = 1 << 63
	}
	limit := new(big.Int).Lsh(big.NewInt(1), 63)
	for _, n := range limitInputs() {
		want := refTableSlots(n)
		if want.Cmp(limit) > 0 {
			want = limit
		}
		got := tableSlots(n)
		require.Equal(t, want.Uint64(), got, "tableSlots(%d)", n)
		if w, ok := fixed[n]; ok {
			require.Equal(t, w, got, "tableSlots(%d)", n)
		}
	}
}

func TestTableBytesSaturates(t *testing.T) {
	limit := big.NewInt(math.MaxInt64)
	groups := []int64{8, groupBytes[int, int](), maxGroupBytes}
	for _, group := range groups {
		prev := int64(0)
		ns := limitInputs()
		for _, n := range ns {
			want := refTableBytes(n, group)
			if want.Cmp(limit) > 0 {
				want = limit
			}
			got := tableBytes(n, group)
			require.Equal(t, want.Int64(), got, "tableBytes(%d, %d)", n, group)
			require.GreaterOrEqual(t, got, int64(0), "tableBytes(%d, %d)", n, group)
		}
		// Non-decreasing in n over the sorted inputs.
		sortInts(ns)
		for _, n := range ns {
			got := tableBytes(n, group)
			require.GreaterOrEqual(t, got, prev, "tableBytes(%d, %d) below the estimate for fewer entries", n, group)
			prev = got
		}
		require.Equal(t, int64(0), tableBytes(0, group), "tableBytes(0, %d)", group)
		require.Equal(t, group, tableBytes(1, group), "tableBytes(1, %d)", group)
		require.Equal(t, group, tableBytes(8, group), "tableBytes(8, %d)", group)
		require.Equal(t, 2*group, tableBytes(9, group), "tableBytes(9, %d)", group)
		if strconv.IntSize == 64 {
			require.Less(t, tableBytes(MaxCapacity, group), int64(1<<45), "tableBytes(MaxCapacity, %d): far from saturating", group)
			require.Equal(t, int64(math.MaxInt64), tableBytes(math.MaxInt, group), "tableBytes(MaxInt, %d)", group)
		}
	}
	// The estimate for 1<<40 int->int entries (37 TB), over MaxCapacity:
	// the arithmetic still holds it exactly.
	if n, ok := wideInt(1 << 40); ok {
		require.Equal(t, int64(37383395344384), tableBytes(n, 136), "tableBytes(1<<40, 136)")
	}
}

func sortInts(ns []int) {
	for i := 1; i < len(ns); i++ {
		for j := i; j > 0 && ns[j] < ns[j-1]; j-- {
			ns[j], ns[j-1] = ns[j-1], ns[j]
		}
	}
}

func TestEntriesWithinSaturates(t *testing.T) {
	for _, group := range []int64{1, 8, 136, maxGroupBytes} {
		for _, budget := range []int64{math.MinInt64, -1, 0, 1, group, 2*group - 1, 2 * group, 256 << 10, 1 << 40, math.MaxInt64} {
			groups := new(big.Int).SetInt64(max(budget/group, 1))
			pow := big.NewInt(1)
			for new(big.Int).Lsh(pow, 1).Cmp(groups) <= 0 {
				pow.Lsh(pow, 1)
			}
			want := pow.Mul(pow, big.NewInt(maxAvgGroupLoad))
			if want.Cmp(big.NewInt(math.MaxInt)) > 0 {
				want = big.NewInt(math.MaxInt)
			}
			got := entriesWithin(budget, group)
			require.Equal(t, want.Int64(), int64(got), "entriesWithin(%d, %d)", budget, group)
			require.Positive(t, got, "entriesWithin(%d, %d)", budget, group)
		}
	}
	require.Equal(t, math.MaxInt, entriesWithin(math.MaxInt64, 1), "entriesWithin(MaxInt64, 1)")
	require.Equal(t, 7, entriesWithin(0, 136), "entriesWithin(0, 136): one group's entries")
}

// maxGroupBytes is the largest group of a map's table: 8 slots of a
// 128-byte key and a 128-byte value after an 8-byte control word (larger
// keys and values are stored as pointers).
const maxGroupBytes = 8 + groupSlots*2*maxInlineBytes

func TestMaxGroupBytes(t *testing.T) {
	require.Equal(t, int64(maxGroupBytes), groupBytes[[128]byte, [128]byte](), "groupBytes of 128-byte keys and values")
	for name, got := range map[string]int64{
		"int->int":                 groupBytes[int, int](),
		"struct{}->struct{}":       groupBytes[struct{}, struct{}](),
		"[129]byte->[129]byte":     groupBytes[[129]byte, [129]byte](),
		"[127]byte->[128]byte":     groupBytes[[127]byte, [128]byte](),
		"byte->[8]complex128":      groupBytes[byte, [8]complex128](),
		"[128]byte->[1 << 20]byte": groupBytes[[128]byte, [1 << 20]byte](),
		"string->struct{[120]byte; int64}": groupBytes[string, struct {
			a [120]byte
			b int64
		}](),
		"[8]complex128->int8 (align)": groupBytes[[8]complex128, int8](),
	} {
		require.LessOrEqual(t, got, int64(maxGroupBytes), "groupBytes for %s", name)
	}
}

// runtimeHonours mirrors internal/runtime/maps.NewMap (Go 1.26): make with
// hint > 8 sizes a directory of power-of-two many 1024-slot tables for
// hint*8/7 slots, and returns an empty map instead if those slots times
// the group size exceed maxAlloc.
func runtimeHonours(hint uint64, group, maxAlloc uint64) bool {
	if hint <= groupSlots {
		return true
	}
	target := hint * groupSlots / maxAvgGroupLoad
	dir := pow2AtLeast(new(big.Int).SetUint64((target + maxTableSlots - 1) / maxTableSlots))
	mem := dir.Mul(dir, new(big.Int).SetUint64(maxTableSlots*group))
	return mem.Cmp(new(big.Int).SetUint64(maxAlloc)) <= 0
}

func TestMaxCapacityIsWhatTheRuntimeAllocates(t *testing.T) {
	if strconv.IntSize < 64 {
		t.Skip("MaxCapacity is math.MaxInt32 where int has 32 bits")
	}
	const maxAlloc = 1 << 48 // runtime.maxAlloc on 64-bit platforms with 48-bit heap addresses
	for _, group := range []uint64{8, 136, maxGroupBytes} {
		require.True(t, runtimeHonours(MaxCapacity, group, maxAlloc), "the runtime allocates a table of MaxCapacity entries of %d-byte groups", group)
	}
	require.False(t, runtimeHonours(MaxCapacity+1, maxGroupBytes, maxAlloc), "the runtime ignores a hint of MaxCapacity+1 for the largest group: MaxCapacity is the most it takes for any K and V")
	require.False(t, runtimeHonours(1<<40, 136, maxAlloc), "the runtime ignores make(map[int]int, 1<<40)")
	// The arithmetic of tableSlots agrees with the runtime's at the bound.
	maxCap := MaxCapacity
	require.Equal(t, uint64(1<<36), tableSlots(maxCap), "tableSlots(MaxCapacity)")
	require.Equal(t, uint64(1<<37), tableSlots(maxCap+1), "tableSlots(MaxCapacity+1)")
}

func TestRuntimeIgnoresHintItCannotAllocate(t *testing.T) {
	// The reason for MaxCapacity: make ignores a hint past what the runtime
	// allocates and makes an empty map, so a ShrinkMap that accepted such a
	// capacity would have neither the table nor the floor it reports.
	hint, ok := wideInt(1 << 40)
	if !ok {
		t.Skip("1<<40 does not fit in an int")
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m := make(map[int]int, hint)
	m[1] = 1
	runtime.ReadMemStats(&after)
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated by make(map[int]int, 1<<40); want the hint ignored")
	require.Len(t, m, 1)
	msg := limitPanic(t, func() { New[int, int](WithCapacity(hint)) })
	require.True(t, strings.HasPrefix(msg, "shrinkmap: Capacity = 1099511627776;"), "New(WithCapacity(1<<40)) panicked with %q", msg)
}
