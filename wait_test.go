package shrinkmap

import "sync"

// goWait runs f on a new goroutine counted by wg (sync.WaitGroup.Go is
// newer than the oldest Go the module supports).
func goWait(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}
