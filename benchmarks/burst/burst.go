// Package burst runs the traffic-burst scenario of the shrinkmap
// benchmarks against every peer: ramp a session table to a peak, drain it to
// 1%, idle while touching the survivors, burst again and drain again, while
// a sampler goroutine records the live heap every few milliseconds. It
// writes the samples as a chart and the figures at each step as a markdown
// table. The command benchmarks/cmd/burst drives it.
package burst

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/shrinkmap/shrinkmap/benchmarks/peers"
)

// Value is a session's value: 128 bytes, the seed's experiment, the largest
// value a Go map stores inline.
type Value = [128]byte

// heapMetric is the runtime/metrics name of the bytes held by heap objects,
// live or not yet swept: the heap a map's table sits in. liveMetric is the
// heap the last GC found live: it ignores garbage awaiting collection, and
// lags by a GC cycle.
const (
	heapMetric = "/memory/classes/heap/objects:bytes"
	liveMetric = "/gc/heap/live:bytes"
)

// Config describes one run of the scenario.
type Config struct {
	// Sessions is the peak number of sessions in each burst.
	Sessions int
	// Keep is the fraction of the first burst's sessions that survive the
	// drains: every 1/Keep-th key stays.
	Keep float64
	// Idle is how long the map idles between the bursts, touching its live
	// sessions.
	Idle time.Duration
	// Interval is the heap sampling period.
	Interval time.Duration
}

// DefaultConfig is the scenario at full size: the seed's 1M sessions of
// [128]byte drained to 1%.
func DefaultConfig() Config {
	// Idle is longer than ShrinkMap's refill window at 1M entries (1 s):
	// bursts that far apart are new bursts, not a refill that undid the
	// last drain's compaction.
	return Config{Sessions: 1_000_000, Keep: 0.01, Idle: 1500 * time.Millisecond, Interval: 5 * time.Millisecond}
}

// Validate reports an error naming the field if a setting is out of range.
func (c Config) Validate() error {
	switch {
	case c.Sessions < 1:
		return fmt.Errorf("burst: Sessions = %d; want >= 1", c.Sessions)
	case !(c.Keep > 0 && c.Keep <= 1):
		return fmt.Errorf("burst: Keep = %v; want a value in (0, 1]", c.Keep)
	case c.Idle < 0:
		return fmt.Errorf("burst: Idle = %v; want >= 0", c.Idle)
	case c.Interval <= 0:
		return fmt.Errorf("burst: Interval = %v; want > 0", c.Interval)
	}
	return nil
}

// stride returns the gap between surviving keys: keys 0, stride, 2*stride...
// of the first burst survive the drains.
func (c Config) stride() int { return max(1, int(1/c.Keep+0.5)) }

// Live returns the number of sessions that survive each drain.
func (c Config) Live() int { return (c.Sessions + c.stride() - 1) / c.stride() }

// Sample is one reading of the heap.
type Sample struct {
	// T is the time since the peer's run started.
	T time.Duration
	// Heap is the bytes in heap objects (heapMetric).
	Heap uint64
	// Live is the heap the last GC found live (liveMetric).
	Live uint64
}

// Phase names a step of the scenario and when it ended.
type Phase struct {
	Name string
	// End is the time since the peer's run started.
	End time.Duration
	// Took is the time the step's map operations took.
	Took time.Duration
}

// Result is what one peer's run measured. Byte figures are heap bytes above
// the baseline read just before the map was made, after a runtime.GC,
// except Samples, which are the process's whole heap.
type Result struct {
	Peer string
	// Baseline is the heap before the map was made, after a runtime.GC.
	Baseline uint64
	// Peak is the largest Heap sample, less Baseline: the map at its
	// largest, plus garbage the GC had not yet collected.
	Peak uint64
	// PeakLive is the largest Live sample, less Baseline: the most the GC
	// ever found live.
	PeakLive uint64
	// AfterDrain, AfterBurst2 and AfterDrain2 are the heap after a
	// runtime.GC at the end of the first drain, the second burst and the
	// second drain, less Baseline.
	AfterDrain, AfterBurst2, AfterDrain2 uint64
	// Work is the time spent in map operations in both bursts and drains,
	// without the idle time and the measurements.
	Work time.Duration
	// Total is the whole run's wall time.
	Total   time.Duration
	Phases  []Phase
	Samples []Sample
}

// sampler records the heap every interval, and on demand, in its own
// goroutine.
type sampler struct {
	start   time.Time
	samples []Sample
	now     chan struct{} // a request for a sample, answered on done
	stop    chan struct{}
	done    chan struct{}
}

// newSampler allocates a sampler's buffers; start starts it. The two are
// apart so that the buffers are already in the heap a run's baseline reads.
func newSampler() *sampler {
	return &sampler{
		samples: make([]Sample, 0, 1<<14),
		now:     make(chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
}

func (s *sampler) run(start time.Time, interval time.Duration) {
	s.start = start
	go func() {
		m := []metrics.Sample{{Name: heapMetric}, {Name: liveMetric}}
		take := func() {
			metrics.Read(m)
			s.samples = append(s.samples, Sample{T: time.Since(s.start), Heap: m[0].Value.Uint64(), Live: m[1].Value.Uint64()})
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		take()
		for {
			select {
			case <-s.stop:
				take()
				close(s.done)
				return
			case <-s.now:
				take()
				s.done <- struct{}{}
			case <-tick.C:
				take()
			}
		}
	}()
}

// sample takes a sample now, and returns once it is recorded.
func (s *sampler) sample() {
	s.now <- struct{}{}
	<-s.done
}

// finish takes a last sample, stops the sampler and returns its samples.
func (s *sampler) finish() []Sample {
	close(s.stop)
	<-s.done
	return s.samples
}

func readHeap() uint64 {
	m := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(m)
	return m[0].Value.Uint64()
}

// liveHeap collects garbage and returns the heap left.
func liveHeap() uint64 {
	runtime.GC()
	return readHeap()
}

func value(k int) Value {
	var v Value
	for i := range 8 {
		v[i] = byte(k >> (8 * i))
	}
	return v
}

// RunPeer runs the scenario once against a fresh map of p in this process,
// printing a line per step to progress.
func RunPeer(cfg Config, p peers.Peer[int, Value], progress io.Writer) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	smp := newSampler()
	r := Result{Peer: p.Name, Baseline: liveHeap()}
	start := time.Now()
	smp.run(start, cfg.Interval)
	m := p.New()
	n, stride := cfg.Sessions, cfg.stride()
	step := func(name string, f func(), after *uint64) {
		t := time.Now()
		f()
		took := time.Since(t)
		heap := readHeap()
		if after != nil {
			heap = liveHeap()
			*after = heap - min(heap, r.Baseline)
			smp.sample()
		}
		r.Phases = append(r.Phases, Phase{Name: name, End: time.Since(start), Took: took})
		fmt.Fprintf(progress, "  %-16s %-7s %8.1f ms  len %8d  heap %7.1f MiB\n",
			p.Name, name, float64(took.Microseconds())/1e3, m.Len(), mib(heap))
	}
	step("burst", func() {
		for k := range n {
			m.Set(k, value(k))
		}
	}, nil)
	step("drain", func() {
		for k := range n {
			if k%stride != 0 {
				m.Delete(k)
			}
		}
	}, &r.AfterDrain)
	step("idle", func() { idle(m, cfg, stride) }, nil)
	step("burst2", func() {
		for k := n; k < 2*n; k++ {
			m.Set(k, value(k))
		}
	}, &r.AfterBurst2)
	step("drain2", func() {
		for k := n; k < 2*n; k++ {
			m.Delete(k)
		}
	}, &r.AfterDrain2)
	r.Total = time.Since(start)
	r.Samples = smp.finish()
	runtime.KeepAlive(m)
	for _, ph := range r.Phases {
		if ph.Name != "idle" {
			r.Work += ph.Took
		}
	}
	for _, s := range r.Samples {
		r.Peak = max(r.Peak, s.Heap-min(s.Heap, r.Baseline))
		r.PeakLive = max(r.PeakLive, s.Live-min(s.Live, r.Baseline))
	}
	if got, want := m.Len(), cfg.Live(); got != want {
		return r, fmt.Errorf("burst: %s: Len() = %d after the scenario; want %d", p.Name, got, want)
	}
	return r, nil
}

// idle touches the live sessions for cfg.Idle, a few hundred a
// millisecond: a quiet server's traffic. Every tenth touch rewrites one.
func idle(m peers.Map[int, Value], cfg Config, stride int) {
	rng := rand.New(rand.NewPCG(1, 2))
	live := cfg.Live()
	for end := time.Now().Add(cfg.Idle); time.Now().Before(end); {
		for i := range 256 {
			k := rng.IntN(live) * stride
			if v, ok := m.Get(k); ok && i%10 == 0 {
				v[8]++
				m.Set(k, v)
			}
		}
		time.Sleep(time.Millisecond)
	}
}

// FreshBytes returns the heap bytes of a fresh native map, made with room
// for them, holding the live sessions of cfg: the memory a perfect map would
// keep after the drain.
func FreshBytes(cfg Config) uint64 {
	before := liveHeap()
	live := cfg.Live()
	m := make(map[int]Value, live)
	for i := range live {
		k := i * cfg.stride()
		m[k] = value(k)
	}
	after := liveHeap()
	runtime.KeepAlive(m)
	return after - min(after, before)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
