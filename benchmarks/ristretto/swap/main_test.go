package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A made-up store.go with the declarations swap removes (their bodies are
// stand-ins) and some it keeps.
const store = `package p

import (
	"sync"
	"time"
)

type updateFn[V any] func(cur, prev V) bool

type storeItem[V any] struct{ value V }

type Item[V any] struct{ Key uint64 }

type expirationMap[V any] struct{}

type shardedMap[V any] struct {
	shards []*lockedMap[V]
}

// IterValues has a doc comment.
func (sm *shardedMap[V]) IterValues(cb func(v V) (stop bool)) {
	for _, shard := range sm.shards {
		shard.RLock()
		shard.RUnlock()
	}
}

func (sm *shardedMap[V]) Get(key, conflict uint64) (V, bool) {
	return sm.shards[key%2].get(key, conflict)
}

type lockedMap[V any] struct {
	sync.RWMutex
	data         map[uint64]storeItem[V]
	em           *expirationMap[V]
	shouldUpdate updateFn[V]
}

func newLockedMap[V any](em *expirationMap[V]) *lockedMap[V] { return nil }

func (m *lockedMap[V]) setShouldUpdateFn(f updateFn[V]) {}

// get has a doc comment
// of two lines.
func (m *lockedMap[V]) get(key, conflict uint64) (V, bool) {
	var v V
	// and a comment inside
	return v, false
}

func (m *lockedMap[V]) Expiration(key uint64) time.Time { return time.Time{} }

func (m *lockedMap[V]) Set(i *Item[V]) {}

func (m *lockedMap[V]) Del(key, conflict uint64) (uint64, V) {
	var v V
	return 0, v
}

func (m *lockedMap[V]) Update(newItem *Item[V]) (V, bool) {
	var v V
	return v, false
}

func (m *lockedMap[V]) Clear(onEvict func(item *Item[V])) {}

// kept stays.
func kept() time.Duration { return time.Second }
`

const storeWant = `package p

import (
	"time"
)

type updateFn[V any] func(cur, prev V) bool

type storeItem[V any] struct{ value V }

type Item[V any] struct{ Key uint64 }

type expirationMap[V any] struct{}

type shardedMap[V any] struct {
	shards []*lockedMap[V]
}

func (sm *shardedMap[V]) Get(key, conflict uint64) (V, bool) {
	return sm.shards[key%2].get(key, conflict)
}

// kept stays.
func kept() time.Duration { return time.Second }
`

// A made-up test using a shard's map and lock, as TestStoreCollision does.
const storeTest = `package p

func collide(s *shardedMap[int]) {
	s.shards[1].Lock()
	s.shards[1].data[1] = storeItem[int]{
		value: 1,
	}
	s.shards[1].Unlock()
	s.shards[1].get(1, 0)
}
`

const storeTestWant = `package p

func collide(s *shardedMap[int]) {
	s.shards[1].data.Set(1, storeItem[int]{
		value: 1,
	})
	s.shards[1].get(1, 0)
}
`

func TestRemoveStore(t *testing.T) {
	counts := map[string]int{}
	got, err := RemoveStore("store.go", []byte(store), counts)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != storeWant {
		t.Errorf("RemoveStore gave\n%s\nwant\n%s", got, storeWant)
	}
	if err := check("remove=10,import=1", counts); err != nil {
		t.Error(err)
	}
}

func TestRemoveStoreMismatch(t *testing.T) {
	for name, change := range map[string][2]string{
		"signature": {"Del(key, conflict uint64) (uint64, V)", "Del(key uint64) (uint64, V)"},
		"field":     {"em           *expirationMap[V]", "em           *expirationMap[V]\n\tn int"},
		"missing":   {"func (m *lockedMap[V]) Set(i *Item[V]) {}", ""},
		"extra":     {"func kept()", "func (m *lockedMap[V]) extra() {}\n\nfunc kept()"},
		"leftover":  {"func kept()", "func (sm *shardedMap[V]) n() int { return len(sm.shards[0].data) }\n\nfunc kept()"},
	} {
		src := strings.Replace(store, change[0], change[1], 1)
		if src == store {
			t.Fatalf("%s: the change does not apply", name)
		}
		if _, err := RemoveStore("store.go", []byte(src), map[string]int{}); err == nil {
			t.Errorf("%s: RemoveStore accepted a store.go that differs", name)
		}
	}
}

func TestRewriteShardUses(t *testing.T) {
	counts := map[string]int{}
	got, err := RewriteShardUses("store_test.go", []byte(storeTest), counts)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != storeTestWant {
		t.Errorf("RewriteShardUses gave\n%s\nwant\n%s", got, storeTestWant)
	}
	if err := check("lock=2,data=1", counts); err != nil {
		t.Error(err)
	}
	out, err := RewriteShardUses("other.go", []byte("package p\n\nfunc f() {}\n"), map[string]int{})
	if err != nil || out != nil {
		t.Errorf("RewriteShardUses of a file without uses = %q, %v; want nil, nil", out, err)
	}
}

func TestRewriteShardUsesUnknown(t *testing.T) {
	src := "package p\n\nfunc n(s *shardedMap[int]) int {\n\treturn len(s.shards[0].data)\n}\n"
	_, err := RewriteShardUses("p.go", []byte(src), map[string]int{})
	if err == nil || !strings.Contains(err.Error(), "p.go:4:") {
		t.Fatalf("RewriteShardUses of an unknown use: err = %v, want one naming p.go:4", err)
	}
}

func TestSwapDir(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{"store.go": store, "store_test.go": storeTest, "cache.go": "package p\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := swapDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := check("remove=10,import=1,lock=2,data=1", counts); err != nil {
		t.Error(err)
	}
	for name, want := range map[string]string{"store.go": storeWant, "store_test.go": storeTestWant, "cache.go": "package p\n"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s after swapDir:\n%s\nwant\n%s", name, got, want)
		}
	}
	if _, err := swapDir(t.TempDir()); err == nil {
		t.Error("swapDir of a directory without store.go succeeded")
	}
}
