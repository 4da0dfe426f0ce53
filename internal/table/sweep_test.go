package table

import (
	"fmt"
	"math"
	"testing"
)

// TestDeleteFunc sweeps a map of each layout while idle, mid-growth and
// mid-compaction (some buckets forwarded), and checks that del saw each
// pair once, that exactly the approved pairs left, and the invariants.
func TestDeleteFunc(t *testing.T) {
	const n = 3000
	for _, entries := range []bool{false, true} {
		for _, state := range []string{"idle", "growing", "compacting"} {
			t.Run(fmt.Sprintf("entries=%v/%s", entries, state), func(t *testing.T) {
				m := newTestMap(n, entries)
				u := m.Usage()
				switch state {
				case "growing":
					m.StartResize(Resize{Kind: Grow, Buckets: u.Buckets * 2}, u.Gen)
				case "compacting":
					m.StartResize(Resize{Kind: Compact, Buckets: u.Buckets / 4}, u.Gen)
				}
				if state != "idle" {
					m.Step(movedFirst)
					if u := m.Usage(); u.Resize == None || u.Left == u.Buckets {
						t.Fatalf("Usage() = %+v; want a resize with moved buckets", u)
					}
				}
				seen := make(map[int]int)
				deleted := m.DeleteFunc(func(k, v int) bool {
					if k != v {
						t.Errorf("del(%d, %d); want the value stored, %d", k, v, k)
					}
					seen[k]++
					return k%3 != 0
				})
				if want := n - (n+2)/3; deleted != want {
					t.Errorf("DeleteFunc = %d; want %d", deleted, want)
				}
				for k := range n {
					if seen[k] != 1 {
						t.Fatalf("del saw key %d %d times; want once", k, seen[k])
					}
					if _, ok := m.Get(k); ok != (k%3 == 0) {
						t.Fatalf("Get(%d) after DeleteFunc: present %v; want %v", k, ok, k%3 == 0)
					}
				}
				if got := m.Len(); got != (n+2)/3 {
					t.Errorf("Len() = %d; want %d", got, (n+2)/3)
				}
				if err := new(Verifier[int, int]).Verify(m, true); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestDeleteFuncPanic checks that a panic in del leaves the pairs it
// approved before it removed and counted, and no lock held.
func TestDeleteFuncPanic(t *testing.T) {
	for _, entries := range []bool{false, true} {
		m := newTestMap(500, entries)
		calls := 0
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("entries=%v: DeleteFunc did not propagate del's panic", entries)
				}
			}()
			m.DeleteFunc(func(int, int) bool {
				if calls++; calls == 200 {
					panic("del")
				}
				return true
			})
		}()
		if got := m.Len(); got != 500-199 {
			t.Errorf("entries=%v: Len() = %d after del approved 199 and panicked; want %d", entries, got, 500-199)
		}
		if err := new(Verifier[int, int]).Verify(m, true); err != nil {
			t.Errorf("entries=%v: %v", entries, err)
		}
		m.Store(-1, -1) // would block on a held lock of its bucket
		if m.DeleteFunc(func(int, int) bool { return true }) != 500-199+1 {
			t.Errorf("entries=%v: a second DeleteFunc did not remove the rest", entries)
		}
	}
}

// TestDeleteFuncKeepsNaN checks that a NaN key stays, as in a native map.
func TestDeleteFuncKeepsNaN(t *testing.T) {
	var m Map[float64, int]
	m.Store(math.NaN(), 1)
	m.Store(1.5, 2)
	calls := 0
	deleted := m.DeleteFunc(func(float64, int) bool { calls++; return true })
	if deleted != 1 || calls != 1 || m.Len() != 1 {
		t.Errorf("DeleteFunc = %d with %d calls, Len() = %d; want 1, 1 and the NaN entry left", deleted, calls, m.Len())
	}
}
