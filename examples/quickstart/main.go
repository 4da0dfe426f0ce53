// Command quickstart is the README's usage: a session table that bursts
// and drains, as a ShrinkMap, and a counter map shared between goroutines,
// as a Concurrent.
//
//	go run ./examples/quickstart
package main

import (
	"fmt"
	"sync"

	"github.com/shrinkmap/shrinkmap"
)

type Session struct {
	User    string
	Expired bool
}

func main() {
	// ShrinkMap: a native map that gives its table back after deletes.
	var sessions shrinkmap.ShrinkMap[int, Session] // the zero value is ready
	for id := range 100_000 {
		sessions.Set(id, Session{User: fmt.Sprint("user", id), Expired: id%100 != 0})
	}
	for id, s := range sessions.All() { // an expiry sweep: deleting inside the loop is fine
		if s.Expired {
			sessions.Delete(id)
		}
	}
	s, ok := sessions.Get(100)
	fmt.Println(s.User, ok)
	st := sessions.Stats()
	fmt.Printf("Len %d, Peak %d, compactions %d, table %d KiB\n", st.Len, st.Peak, st.Shrinks, st.TableBytes>>10)

	// Concurrent: safe for any mix of goroutines, a drop-in for sync.Map.
	hits := shrinkmap.NewConcurrent[string, int]()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				hits.Compute("home", func(n int, _ bool) (int, shrinkmap.ComputeOp) {
					return n + 1, shrinkmap.UpdateOp
				})
			}
		}()
	}
	wg.Wait()
	n, _ := hits.Get("home")
	fmt.Println("home:", n)
}
