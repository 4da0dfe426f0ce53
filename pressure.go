package shrinkmap

import (
	"math"
	"runtime/debug"
	"runtime/metrics"
)

// pressureSampleEvery is how many deletes a map lets pass, while a smaller
// table would hold its entries, between two samples of memory pressure. A
// sample costs 0.3-0.5 µs (measured with a limit set); once per 256 deletes
// that is under 2 ns a delete.
const pressureSampleEvery = 256

// pressureMargin sets how near the memory limit the heap must be to count
// as pressure: within limit/pressureMargin of it.
const pressureMargin = 8

// memoryPressure reports whether a Go memory limit is set (GOMEMLIMIT or
// debug.SetMemoryLimit) and the memory the runtime counts against it is
// within an eighth of it. It reads the limit and runtime/metrics; it takes
// no stop-the-world pause.
func memoryPressure() bool {
	limit := debug.SetMemoryLimit(-1)
	if limit <= 0 || limit == math.MaxInt64 {
		return false
	}
	samples := [...]metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(samples[:])
	used := samples[0].Value.Uint64() - samples[1].Value.Uint64()
	return used >= uint64(limit-limit/pressureMargin)
}

// pressureSampler keeps a map's last sample of memory pressure and when to
// take the next: once per pressureSampleEvery deletes, the first at once.
type pressureSampler struct {
	under bool // memoryPressure() at the last sample
	in    int  // deletes until the next sample
}

// after counts deletes and samples memory pressure when they are due, and
// reports the last sample.
func (p *pressureSampler) after(deletes int) bool {
	if p.in -= deletes; p.in < 0 {
		p.under = memoryPressure()
		p.in = pressureSampleEvery - 1
	}
	return p.under
}
