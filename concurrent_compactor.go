package shrinkmap

import (
	"runtime"
	"sync"
	"time"
	"weak"
)

// Close stops the background compaction that WithCompactEvery started and
// waits for its goroutine to exit. The map stays usable; it then resizes
// only inside its writes. Close is idempotent and safe to call
// concurrently; without WithCompactEvery it does nothing.
func (c *Concurrent[K, V]) Close() {
	if c.bg == nil {
		return
	}
	c.bg.cleanup.Stop()
	c.bg.halt()
	<-c.bg.done
}

// tidySteps is how many steps of a resize (see WithIncremental) the
// background goroutine moves at a time, yielding the processor between
// batches.
const tidySteps = 16

// compactor is the background compaction goroutine's handle. It holds no
// reference to the map, so that a dropped map can be collected.
type compactor struct {
	stop chan struct{} // closed to ask the goroutine to exit
	done chan struct{} // closed by the goroutine as it exits
	once sync.Once
	// cleanup stops the goroutine once the map is unreachable.
	cleanup runtime.Cleanup
}

func (b *compactor) halt() {
	b.once.Do(func() { close(b.stop) })
}

func (b *compactor) halted() bool {
	select {
	case <-b.stop:
		return true
	default:
		return false
	}
}

// compactLoop tidies the map each tick until b is halted or the map has
// been collected. It holds the map strongly only while it tidies.
func compactLoop[K comparable, V any](b *compactor, wp weak.Pointer[Concurrent[K, V]], every time.Duration) {
	defer close(b.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		c := wp.Value()
		if c == nil {
			return
		}
		c.tidy(b)
	}
}

// tidy asks the policy whether to compact, as a Delete would, and finishes
// the resize in progress, if any, tidySteps steps at a time.
func (c *Concurrent[K, V]) tidy(b *compactor) {
	c.check(0)
	for !b.halted() {
		d, more := c.table.Step(tidySteps)
		c.published(d)
		if !more {
			return
		}
		runtime.Gosched()
	}
}
