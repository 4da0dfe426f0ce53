package shrinkmap_test

import (
	"bytes"
	"encoding/gob"
	"testing"

	"github.com/shrinkmap/shrinkmap"
	"github.com/stretchr/testify/require"
)

// TestGobInterop pins down what GobEncode's documentation says interoperates
// with a native map[K]V under encoding/gob, and what does not.
func TestGobInterop(t *testing.T) {
	native := map[string]int{"a": 1, "b": 2, "c": 3}
	gobOf := func(v any) []byte {
		t.Helper()
		var buf bytes.Buffer
		require.NoError(t, gob.NewEncoder(&buf).Encode(v), "gob Encode(%T)", v)
		return buf.Bytes()
	}
	decode := func(data []byte, into any) error {
		return gob.NewDecoder(bytes.NewReader(data)).Decode(into)
	}
	m := shrinkmap.FromMap(native)

	t.Run("GobEncode bytes decode into a native map", func(t *testing.T) {
		data, err := m.GobEncode()
		require.NoError(t, err)
		var got map[string]int
		require.NoError(t, decode(data, &got), "Decode of GobEncode's bytes into a map[string]int")
		require.Equal(t, native, got)
	})
	t.Run("GobDecode reads a native map's stream", func(t *testing.T) {
		got := shrinkmap.New[string, int]()
		require.NoError(t, got.GobDecode(gobOf(native)), "GobDecode of a map[string]int's gob stream")
		requireSame(t, got, native)
	})
	t.Run("a native map's stream does not decode into a ShrinkMap", func(t *testing.T) {
		got := shrinkmap.New[string, int]()
		got.Set("kept", 1)
		err := decode(gobOf(native), got)
		require.ErrorContains(t, err, "received remote type map[string]int", "Decode of a map[string]int into a *ShrinkMap")
		requireSame(t, got, map[string]int{"kept": 1})
	})
	t.Run("a ShrinkMap's stream does not decode into a native map", func(t *testing.T) {
		var got map[string]int
		require.Error(t, decode(gobOf(m), &got), "Decode of a *ShrinkMap into a map[string]int")
		require.Empty(t, got)
	})

	type savedNative struct {
		Items map[string]int
		Name  string
	}
	type savedShrink struct {
		Items *shrinkmap.ShrinkMap[string, int]
		Name  string
	}
	t.Run("a native map field does not decode into a ShrinkMap field", func(t *testing.T) {
		var got savedShrink
		require.ErrorContains(t, decode(gobOf(savedNative{native, "x"}), &got), "wrong type", "Decode of a map field into a *ShrinkMap field")
	})
	t.Run("a ShrinkMap field does not decode into a native map field", func(t *testing.T) {
		var got savedNative
		require.ErrorContains(t, decode(gobOf(savedShrink{m, "x"}), &got), "wrong type", "Decode of a *ShrinkMap field into a map field")
	})
	t.Run("decode into the old type, then FromMap", func(t *testing.T) {
		var old savedNative
		require.NoError(t, decode(gobOf(savedNative{native, "x"}), &old))
		got := savedShrink{Items: shrinkmap.FromMap(old.Items), Name: old.Name}
		requireSame(t, got.Items, native)
		require.Equal(t, "x", got.Name)
	})
}
