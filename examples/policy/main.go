// Command policy shows a custom compaction Policy and a shrink hook.
//
// The policy is one a real service might want for a product cache: compact
// when the table wastes more than 64 MiB or holds less than 10% of its peak,
// but never during business hours, when the copy's pause and its CPU would be
// felt by customers. The program runs on a simulated clock: a bulk import
// fills the cache at 09:30, most of it is evicted during the day, and the
// map compacts only once the evictions go on after 18:00.
//
//	go run ./examples/policy
package main

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/shrinkmap/shrinkmap"
)

// OffHoursPolicy compacts when the table wastes more than MaxWastedBytes or
// Len falls below MinLiveRatio of Peak (for tables of at least 1 MiB), but
// never on a weekday between Open and Close o'clock in Location.
type OffHoursPolicy struct {
	MaxWastedBytes int64
	MinLiveRatio   float64
	Open, Close    int // business hours, [Open, Close) in 24-hour clock
	Location       *time.Location
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// ShouldShrink implements shrinkmap.Policy.
func (p OffHoursPolicy) ShouldShrink(s shrinkmap.Stats) bool {
	if p.businessHours() {
		return false
	}
	// The built-in policies make good building blocks.
	wasted := shrinkmap.WastedBytesPolicy{MaxWastedBytes: p.MaxWastedBytes}
	ratio := shrinkmap.RatioPolicy{Threshold: p.MinLiveRatio, MinTableBytes: 1 << 20}
	return wasted.ShouldShrink(s) || ratio.ShouldShrink(s)
}

func (p OffHoursPolicy) businessHours() bool {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	t := now().In(p.Location)
	weekday := t.Weekday() != time.Saturday && t.Weekday() != time.Sunday
	return weekday && t.Hour() >= p.Open && t.Hour() < p.Close
}

// Validate reports settings out of range, as a policy read from a
// configuration file should.
func (p OffHoursPolicy) Validate() error {
	wasted := shrinkmap.WastedBytesPolicy{MaxWastedBytes: p.MaxWastedBytes}
	ratio := shrinkmap.RatioPolicy{Threshold: p.MinLiveRatio}
	var hours error
	if p.Open < 0 || p.Open > p.Close || p.Close > 24 {
		hours = fmt.Errorf("OffHoursPolicy: Open, Close = %d, %d; want 0 <= Open <= Close <= 24", p.Open, p.Close)
	}
	var loc error
	if p.Location == nil {
		loc = errors.New("OffHoursPolicy: Location is nil; want a time zone")
	}
	return errors.Join(wasted.Validate(), ratio.Validate(), hours, loc)
}

// Product is a cached catalog entry.
type Product struct {
	SKU      uint64
	Name     [48]byte
	PriceCts int64
	Stock    int32
	Updated  time.Time
}

const (
	imported = 500_000 // products loaded by the bulk import
	kept     = 20_000  // products still cached after the day's evictions
)

func mb(b int64) float64 { return float64(b) / 1e6 }

func main() {
	fmt.Println("A product cache with a policy that never compacts during business hours (simulated clock):")
	fmt.Println()

	cet := time.FixedZone("CET", 60*60)
	clock := time.Date(2026, time.March, 3, 9, 30, 0, 0, cet) // a Tuesday
	policy := OffHoursPolicy{
		MaxWastedBytes: 64 << 20,
		MinLiveRatio:   0.10,
		Open:           9,
		Close:          18,
		Location:       cet,
		Now:            func() time.Time { return clock },
	}
	bad := policy
	bad.MinLiveRatio, bad.Close = 1.5, 25
	fmt.Printf("Validate of a misconfigured copy:\n%v\n\n", bad.Validate())
	if err := policy.Validate(); err != nil {
		log.Fatal(err)
	}

	cache := shrinkmap.New[uint64, Product](
		shrinkmap.WithPolicy(policy),
		shrinkmap.WithShrinkHook(func(e shrinkmap.ShrinkEvent) {
			fmt.Printf("%s  hook: compacted %d entries, table %.1f MB -> %.1f MB, copying took %v (incremental: %v)\n",
				clock.Format("Mon 15:04"), e.Entries, mb(e.BytesBefore), mb(e.BytesAfter),
				e.Duration.Round(10*time.Microsecond), e.Incremental)
		}),
	)
	show := func(what string) {
		s := cache.Stats()
		fmt.Printf("%s  %-34s Len %7d  Peak %7d  Shrinks %d  TableBytes %6.1f MB  WastedBytes %6.1f MB",
			clock.Format("Mon 15:04"), what, s.Len, s.Peak, s.Shrinks, mb(s.TableBytes), mb(s.WastedBytes))
		if s.Migrating {
			fmt.Printf("  (compacting: %d entries left to move)", s.MigrationLeft)
		}
		fmt.Println()
	}

	for sku := range uint64(imported) {
		cache.Set(sku, Product{SKU: sku, PriceCts: 999, Stock: 3, Updated: clock})
	}
	show("bulk import done")

	// Evictions through the day: the policy is consulted and declines.
	evict := func(from, to uint64) {
		for sku := from; sku < to; sku++ {
			cache.Delete(sku)
		}
	}
	const evening = 100 // evictions left for after 18:00
	day := uint64(imported - kept - evening)
	for h := range uint64(8) {
		clock = time.Date(2026, time.March, 3, 10+int(h), 0, 0, 0, cet)
		evict(day*h/8, day*(h+1)/8)
		show("evictions during business hours")
	}

	// After hours, the next eviction lets the policy say yes.
	clock = time.Date(2026, time.March, 3, 18, 5, 0, 0, cet)
	evict(day, imported-kept)
	show("a few evictions after 18:00")
	// The compaction is incremental: each later Set or Delete moves a step
	// of entries (reads move nothing). The evening's price updates finish
	// it, and the hook reports it.
	for sku := uint64(imported - kept); sku < imported; sku++ {
		p, _ := cache.Get(sku)
		p.PriceCts++
		cache.Set(sku, p)
	}
	show("after the evening's price updates")
}
