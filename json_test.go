package shrinkmap_test

import (
	"encoding/json"
	"maps"
	"math"
	"net/netip"
	"testing"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/require"
)

// marshalMatches checks that json.Marshal encodes a ShrinkMap holding
// native's entries exactly as it encodes native.
func marshalMatches[K comparable, V any](t *testing.T, native map[K]V) {
	t.Helper()
	want, err := json.Marshal(native)
	require.NoError(t, err, "json.Marshal(%v) of the native map", native)
	m := shrinkmap.Collect(maps.All(native))
	got, err := json.Marshal(m)
	require.NoError(t, err, "json.Marshal of a ShrinkMap holding %v", native)
	require.Equal(t, string(want), string(got), "json.Marshal of a ShrinkMap; want what the native map encodes to")
}

func TestMarshalJSON(t *testing.T) {
	type point struct{ X, Y int }
	t.Run("empty", func(t *testing.T) { marshalMatches(t, map[string]int{}) })
	t.Run("string keys", func(t *testing.T) { marshalMatches(t, map[string]int{"b": 2, "a": 1, "": 0}) })
	t.Run("int keys", func(t *testing.T) { marshalMatches(t, map[int]string{1: "x", -2: "y", 300: "z"}) })
	t.Run("uint8 keys", func(t *testing.T) { marshalMatches(t, map[uint8]bool{1: true, 255: false}) })
	t.Run("struct values", func(t *testing.T) { marshalMatches(t, map[string]point{"p": {1, 2}, "q": {-3, 4}}) })
	t.Run("TextMarshaler keys", func(t *testing.T) {
		marshalMatches(t, map[netip.Addr]int{netip.MustParseAddr("10.0.0.1"): 1, netip.MustParseAddr("::1"): 2})
	})
	t.Run("nested", func(t *testing.T) {
		marshalMatches(t, map[string]map[string]int{"outer": {"inner": 1}})
	})

	t.Run("zero value", func(t *testing.T) {
		var m shrinkmap.ShrinkMap[string, int]
		got, err := json.Marshal(&m)
		require.NoError(t, err, "json.Marshal of a zero ShrinkMap")
		require.Equal(t, `{}`, string(got), "json.Marshal of a zero ShrinkMap")
	})

	t.Run("mid-migration", func(t *testing.T) {
		m, want := startMigration(t)
		got, err := json.Marshal(m)
		require.NoError(t, err, "json.Marshal mid-migration")
		wantJSON, err := json.Marshal(want)
		require.NoError(t, err, "json.Marshal of the model")
		require.Equal(t, string(wantJSON), string(got), "json.Marshal mid-migration")
		require.True(t, m.Stats().Migrating, "Stats().Migrating after Marshal")
	})

	t.Run("unsupported keys fail like a native map", func(t *testing.T) {
		_, nativeErr := json.Marshal(map[float64]int{1.5: 1})
		require.Error(t, nativeErr, "json.Marshal of a native map[float64]int")
		m := shrinkmap.New[float64, int]()
		m.Set(1.5, 1)
		m.Set(math.NaN(), 2)
		_, err := json.Marshal(m)
		require.Error(t, err, "json.Marshal of a ShrinkMap[float64, int]; want the native map's error")
		require.Equal(t, 2, m.Len(), "Len() after a failed Marshal")
	})

	t.Run("unsupported values fail", func(t *testing.T) {
		m := shrinkmap.New[string, float64]()
		m.Set("inf", math.Inf(1))
		_, err := json.Marshal(m)
		require.Error(t, err, "json.Marshal of a map holding +Inf")
		v, ok := m.Get("inf")
		require.True(t, ok && math.IsInf(v, 1), "Get(inf) after a failed Marshal = %v, %v; want +Inf, true", v, ok)
	})
}

func TestUnmarshalJSON(t *testing.T) {
	tests := []struct {
		name    string
		start   map[string]int // entries before UnmarshalJSON
		data    string
		want    map[string]int // entries after it; start again on error
		wantErr bool
	}{
		{"into empty", nil, `{"a":1,"b":2}`, map[string]int{"a": 1, "b": 2}, false},
		{"empty object", map[string]int{"x": 9}, `{}`, map[string]int{"x": 9}, false},
		{"null keeps the map", map[string]int{"x": 9}, `null`, map[string]int{"x": 9}, false},
		{"merges and overwrites", map[string]int{"a": 0, "x": 9}, `{"a":1,"b":2}`, map[string]int{"a": 1, "b": 2, "x": 9}, false},
		{"duplicate member: last wins", nil, `{"a":1,"a":2}`, map[string]int{"a": 2}, false},
		{"syntax error", map[string]int{"x": 9}, `{"a":1,`, nil, true},
		{"wrong value type", map[string]int{"x": 9}, `{"a":1,"b":"two"}`, nil, true},
		{"array", map[string]int{"x": 9}, `[1,2]`, nil, true},
		{"number", map[string]int{"x": 9}, `7`, nil, true},
		{"error after valid members", map[string]int{"a": 0}, `{"a":5,"b":6,"c":true}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := shrinkmap.Collect(maps.All(tt.start))
			err := m.UnmarshalJSON([]byte(tt.data))
			want := tt.want
			if tt.wantErr {
				require.Error(t, err, "UnmarshalJSON(%s) = nil; want an error", tt.data)
				want = tt.start
				if want == nil {
					want = map[string]int{}
				}
			} else {
				require.NoError(t, err, "UnmarshalJSON(%s)", tt.data)
			}
			requireSame(t, m, want)
		})
	}

	t.Run("int keys", func(t *testing.T) {
		m := shrinkmap.New[int64, string]()
		require.NoError(t, m.UnmarshalJSON([]byte(`{"1":"a","-7":"b"}`)), "UnmarshalJSON into int64 keys")
		requireSame(t, m, map[int64]string{1: "a", -7: "b"})
		require.Error(t, m.UnmarshalJSON([]byte(`{"x":"c"}`)), "UnmarshalJSON of a non-integer key into int64 keys")
		requireSame(t, m, map[int64]string{1: "a", -7: "b"})
	})

	t.Run("mid-migration", func(t *testing.T) {
		m, want := startMigration(t)
		require.Error(t, m.UnmarshalJSON([]byte(`{"1":1,"2":"x"}`)), "UnmarshalJSON with a bad member mid-migration")
		requireIterates(t, m, want)
		require.NoError(t, m.UnmarshalJSON([]byte(`{"1":1,"60000":2}`)), "UnmarshalJSON mid-migration")
		want[1], want[60000] = 1, 2
		requireSame(t, m, want)
	})
}

func TestJSONRoundTrip(t *testing.T) {
	type session struct {
		User  string   `json:"user"`
		Roles []string `json:"roles"`
	}
	src := shrinkmap.New[string, session]()
	for _, u := range []string{"alice", "bob", "carol"} {
		src.Set("id-"+u, session{User: u, Roles: []string{"r-" + u}})
	}
	data, err := json.Marshal(src)
	require.NoError(t, err, "json.Marshal")
	var dst shrinkmap.ShrinkMap[string, session]
	require.NoError(t, json.Unmarshal(data, &dst), "json.Unmarshal(%s)", data)
	require.Equal(t, maps.Collect(src.All()), maps.Collect(dst.All()), "entries after a round trip through %s", data)

	t.Run("large, after compactions", func(t *testing.T) {
		m := shrinkmap.New[int64, int64](shrinkmap.WithIncremental(0))
		want := fill(m, 120_000)
		for i := range int64(115_000) {
			m.Delete(i)
			delete(want, i)
		}
		require.Positive(t, m.Stats().Shrinks, "Stats().Shrinks after the drain")
		data, err := json.Marshal(m)
		require.NoError(t, err, "json.Marshal")
		var back shrinkmap.ShrinkMap[int64, int64]
		require.NoError(t, json.Unmarshal(data, &back), "json.Unmarshal")
		requireSame(t, &back, want)
	})
}

func TestJSONStructField(t *testing.T) {
	type byPointer struct {
		Name     string                            `json:"name"`
		Sessions *shrinkmap.ShrinkMap[string, int] `json:"sessions"`
	}
	type byValue struct {
		Name     string                           `json:"name"`
		Sessions shrinkmap.ShrinkMap[string, int] `json:"sessions"`
	}
	const doc = `{"name":"n","sessions":{"a":1,"b":2}}`
	entries := map[string]int{"a": 1, "b": 2}

	t.Run("pointer field", func(t *testing.T) {
		in := byPointer{Name: "n", Sessions: shrinkmap.Collect(maps.All(entries))}
		data, err := json.Marshal(in)
		require.NoError(t, err, "json.Marshal(struct with a *ShrinkMap field)")
		require.Equal(t, doc, string(data), "json.Marshal(struct with a *ShrinkMap field)")

		var out byPointer
		require.NoError(t, json.Unmarshal(data, &out), "json.Unmarshal(%s)", data)
		require.NotNil(t, out.Sessions, "Sessions after json.Unmarshal; want a map allocated by encoding/json")
		requireSame(t, out.Sessions, entries)
		out.Sessions.Set("c", 3) // a map that encoding/json allocated works

		nilField, err := json.Marshal(byPointer{Name: "n"})
		require.NoError(t, err, "json.Marshal with a nil *ShrinkMap field")
		require.Equal(t, `{"name":"n","sessions":null}`, string(nilField), "json.Marshal with a nil *ShrinkMap field")
	})

	t.Run("value field", func(t *testing.T) {
		var in byValue
		in.Name = "n"
		in.Sessions.Insert(maps.All(entries))
		// Through a pointer, so that the field is addressable and its
		// pointer-receiver MarshalJSON applies.
		data, err := json.Marshal(&in)
		require.NoError(t, err, "json.Marshal(&struct with a ShrinkMap field)")
		require.Equal(t, doc, string(data), "json.Marshal(&struct with a ShrinkMap field)")

		var out byValue
		require.NoError(t, json.Unmarshal(data, &out), "json.Unmarshal(%s)", data)
		requireSame(t, &out.Sessions, entries)
	})
}
