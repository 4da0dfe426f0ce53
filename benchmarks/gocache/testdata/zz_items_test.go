package cache

// This file is ours, not go-cache's: benchmarks/gocache/run.sh copies it only
// into the swapped copy of go-cache (whose items field is a
// *shrinkmap.ShrinkMap[string, Item]) as zz_items_test.go, so that
// BenchmarkBursts3x1M logs the map's Stats.

import "fmt"

func init() {
	describeItems = func(c *cache) string {
		s := c.items.Stats()
		return fmt.Sprintf("%+v", s)
	}
}
