package main

import (
	"strings"
	"testing"
)

// A made-up package using a map field named items in each way swap knows.
const input = `package store

import (
	"encoding/gob"
	"io"
)

type Item struct{ N int }

type store struct {
	items map[string]Item
	other map[string]Item
}

func newStore(m map[string]Item) *store { return &store{items: m} }

func emptyStore() *store { return &store{items: map[string]Item{}} }

func (s *store) put(k string, n int) {
	s.items[k] = Item{
		N: n,
	}
}

func (s *store) get(k string) (Item, bool) {
	it, ok := s.items[k]
	return it, ok
}

func (s *store) take(k string) bool {
	if _, ok := s.items[k]; ok {
		delete(s.items, k)
		return true
	}
	return false
}

func (s *store) sum() (n int) {
	for _, it := range s.items {
		n += it.N
	}
	return n + len(s.items)
}

func (s *store) reset() { s.items = map[string]Item{} }

func (s *store) save(w io.Writer) error { return gob.NewEncoder(w).Encode(&s.items) }

func (s *store) n(k string) int { return s.items[k].N }
`

const want = `package store

import (
	"encoding/gob"
	"io"
	"maps"

	"github.com/shrinkmap/shrinkmap"
)

type Item struct{ N int }

type store struct {
	items *shrinkmap.ShrinkMap[string, Item]
	other map[string]Item
}

func newStore(m map[string]Item) *store { return &store{items: shrinkmap.FromMap(m)} }

func emptyStore() *store { return &store{items: shrinkmap.New[string, Item]()} }

func (s *store) put(k string, n int) {
	s.items.Set(k, Item{
		N: n,
	})
}

func (s *store) get(k string) (Item, bool) {
	it, ok := s.items.Get(k)
	return it, ok
}

func (s *store) take(k string) bool {
	if _, ok := s.items.Get(k); ok {
		s.items.Delete(k)
		return true
	}
	return false
}

func (s *store) sum() (n int) {
	for _, it := range s.items.All() {
		n += it.N
	}
	return n + s.items.Len()
}

func (s *store) reset() { s.items = shrinkmap.New[string, Item]() }

func (s *store) save(w io.Writer) error { return gob.NewEncoder(w).Encode(maps.Collect(s.items.All())) }

func (s *store) n(k string) int { return maps.Collect(s.items.All())[k].N }
`

func TestRewrite(t *testing.T) {
	counts := map[string]int{}
	got, err := Rewrite("store.go", []byte(input), counts)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Rewrite gave\n%s\nwant\n%s", got, want)
	}
	if err := check("field=1,set=1,get=2,delete=1,range=1,len=1,new=2,from=1,copy=2", counts); err != nil {
		t.Error(err)
	}
	if err := check("field=1", counts); err == nil {
		t.Error("check accepted counts that differ from -expect")
	}
}

func TestRewriteUnknownUse(t *testing.T) {
	src := "package p\n\ntype Item struct{}\n\ntype s struct{ items map[string]Item }\n\nfunc f(x *s) map[string]Item { return x.items }\n"
	_, err := Rewrite("p.go", []byte(src), map[string]int{})
	if err == nil || !strings.Contains(err.Error(), "p.go:7:") {
		t.Fatalf("Rewrite of an unknown use: err = %v, want one naming p.go:7", err)
	}
}

func TestRewriteNoUse(t *testing.T) {
	out, err := Rewrite("p.go", []byte("package p\n\nvar items = map[string]int{}\n"), map[string]int{})
	if err != nil || out != nil {
		t.Fatalf("Rewrite of a file without the field = %q, %v; want nil, nil", out, err)
	}
}
