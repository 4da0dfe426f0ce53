package peers

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPeersBehaveLikeAMap runs bursty random operations on every peer and
// compares each with a native map after every step.
func TestPeersBehaveLikeAMap(t *testing.T) {
	for _, p := range All[int, string]() {
		t.Run(p.Name, func(t *testing.T) {
			m, model := p.New(), map[int]string{}
			rng := rand.New(rand.NewPCG(7, uint64(len(p.Name))))
			for i := range 20_000 {
				k := rng.IntN(4096)
				// Phases of mostly inserts, then mostly deletes; 20% gets.
				sets := 6
				if (i/2000)%2 == 1 {
					sets = 2
				}
				switch r := rng.IntN(10); {
				case r < sets:
					v := string(rune('a' + rng.IntN(26)))
					m.Set(k, v)
					model[k] = v
				case r < 8:
					m.Delete(k)
					delete(model, k)
				default:
					got, ok := m.Get(k)
					want, wantOK := model[k]
					require.Equal(t, wantOK, ok, "step %d: %s.Get(%d) ok", i, p.Name, k)
					require.Equal(t, want, got, "step %d: %s.Get(%d)", i, p.Name, k)
				}
				if i%997 == 0 {
					require.Equal(t, len(model), m.Len(), "step %d: %s.Len()", i, p.Name)
				}
			}
			for k, want := range model {
				got, ok := m.Get(k)
				require.True(t, ok, "%s.Get(%d) after the run: missing", p.Name, k)
				require.Equal(t, want, got, "%s.Get(%d) after the run", p.Name, k)
			}
			assert.Equal(t, len(model), m.Len(), "%s.Len() after the run", p.Name)
		})
	}
}

func TestAllStartsWithNativeAndConcurrentsWithSyncMap(t *testing.T) {
	all := All[int, int]()
	require.NotEmpty(t, all)
	assert.Equal(t, Native, all[0].Name, "All()[0]")
	names := map[string]bool{}
	for _, p := range all {
		assert.False(t, names[p.Name], "All() lists %s twice", p.Name)
		names[p.Name] = true
	}
	for _, want := range []string{Native, NativeCopy, NativePointer, SyncMap, XsyncMap, RWMutexMap, ShrinkDefault, ShrinkSTW, ShrinkNever, Concurrent} {
		assert.True(t, names[want], "All() lacks %s", want)
	}
	safe := Concurrents[int, int]()
	require.NotEmpty(t, safe)
	assert.Equal(t, SyncMap, safe[0].Name, "Concurrents()[0]")
	for _, p := range safe {
		assert.True(t, p.Safe, "Concurrents() returned %s, which is not Safe", p.Name)
	}
	_, ok := Find[int, int]("no-such-map")
	assert.False(t, ok, `Find("no-such-map") ok`)
}

// TestCopyingGivesMemoryBack checks the seed's copy remedy against the
// native map: after a drain to 1%, its heap is a small part of the native
// map's.
func TestCopyingGivesMemoryBack(t *testing.T) {
	const n = 100_000
	retained := func(m Map[int, [64]byte]) uint64 {
		before := heap()
		for k := range n {
			m.Set(k, [64]byte{})
		}
		for k := range n {
			if k%100 != 0 {
				m.Delete(k)
			}
		}
		after := heap()
		require.Equal(t, n/100, m.Len(), "Len() after the drain")
		runtime.KeepAlive(m)
		return after - min(after, before)
	}
	native := retained(NewNative[int, [64]byte]())
	copying := retained(NewCopying[int, [64]byte]())
	assert.Less(t, copying, native/8,
		"Copying keeps %d bytes after a drain to 1%%; want under 1/8 of the native map's %d", copying, native)
}

func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestSweepersDeleteWhatTheyApprove sweeps every peer safe for concurrent
// use down to the multiples of 7 of 5,000 keys.
func TestSweepersDeleteWhatTheyApprove(t *testing.T) {
	for _, p := range Concurrents[int, int]() {
		m := p.New()
		s, ok := m.(Sweeper[int, int])
		require.True(t, ok, "%s is not a Sweeper", p.Name)
		for k := range 5000 {
			m.Set(k, -k)
		}
		visited := 0
		s.DeleteFunc(func(k, v int) bool {
			visited++
			require.Equal(t, -k, v, "%s: DeleteFunc passed the value of another key", p.Name)
			return k%7 != 0
		})
		assert.Equal(t, 5000, visited, "%s: entries DeleteFunc visited", p.Name)
		assert.Equal(t, 715, m.Len(), "%s.Len() after the sweep", p.Name)
		for k := range 5000 {
			_, ok := m.Get(k)
			assert.Equal(t, k%7 == 0, ok, "%s.Get(%d) after the sweep", p.Name, k)
		}
	}
}
