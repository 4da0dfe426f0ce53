package shrinkmap

import (
	"cmp"
	"slices"
	"sync"
)

// names is the registry of the process's live named maps.
var names = registry{maps: make(map[uint64]namedMap)}

// registry holds a reader of each live named map. A reader holds its map
// weakly and reports false once the map is gone; a cleanup attached to the
// map removes its entry. Its lock guards the entries only: no map's reader
// runs under it.
type registry struct {
	mu   sync.Mutex
	next uint64 // the id of the next entry; ids give the order maps were named
	maps map[uint64]namedMap
}

// namedMap is a registry entry: a map's name and how to read its figures.
type namedMap struct {
	id   uint64
	name string
	read func() (MapMetrics, bool)
}

// add registers a map under name, with read reporting its figures, and
// returns the entry's id.
func (r *registry) add(name string, read func() (MapMetrics, bool)) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	r.maps[r.next] = namedMap{id: r.next, name: name, read: read}
	return r.next
}

// remove drops the entry id, if present.
func (r *registry) remove(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.maps, id)
}

// read returns the figures of each live entry, sorted by name and id.
func (r *registry) read() []MapMetrics {
	r.mu.Lock()
	entries := make([]namedMap, 0, len(r.maps))
	for _, e := range r.maps {
		entries = append(entries, e)
	}
	r.mu.Unlock()
	slices.SortFunc(entries, func(a, b namedMap) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.id, b.id))
	})
	out := make([]MapMetrics, 0, len(entries))
	for _, e := range entries {
		if mm, ok := e.read(); ok {
			mm.Name = e.name
			out = append(out, mm)
		}
	}
	return out
}
