package ristretto

// This file is ours, not ristretto's: benchmarks/ristretto/run.sh copies it
// only into the swapped copy of ristretto (whose store shards each keep
// their items in a shrinkmap.Concurrent, see store_shrinkmap.go) as
// zz_store_stats_test.go, so that the bursts benchmarks log the maps' Stats
// after the bursts, and TestShrinkmapStoreGivesBack checks and logs them in
// the suite.

import (
	"fmt"
	"strconv"
	"testing"
)

func init() {
	describeStore = func(c *Cache[string, int]) string { return describeShards(c.storedItems) }
}

// shardTotals sums the Stats of a store's shard maps.
type shardTotals struct {
	maps, compacted                      int // maps, and those with Shrinks > 0
	len, peak, shrinks, refills, drained int
	tableBytes, wastedBytes              int64
	migrating                            int
}

func sumShards[V any](s store[V]) shardTotals {
	var t shardTotals
	for _, sh := range s.(*shardedMap[V]).shards {
		st := sh.data.Stats()
		t.maps++
		if st.Shrinks > 0 {
			t.compacted++
		}
		t.len += st.Len
		t.peak += st.Peak
		t.shrinks += st.Shrinks
		t.refills += st.Refills
		t.drained += st.DrainedFrom
		t.tableBytes += st.TableBytes
		t.wastedBytes += st.WastedBytes
		if st.Migrating {
			t.migrating++
		}
	}
	return t
}

func (t shardTotals) String() string {
	return fmt.Sprintf("%d maps, summed: Len %d, Peak %d, Shrinks %d (%d maps compacted), Refills %d, DrainedFrom %d, TableBytes %d, WastedBytes %d, Migrating %d",
		t.maps, t.len, t.peak, t.shrinks, t.compacted, t.refills, t.drained, t.tableBytes, t.wastedBytes, t.migrating)
}

func describeShards[V any](s store[V]) string { return sumShards(s).String() }

// TestShrinkmapStoreGivesBack fills a cache with 100,000 items, deletes 99%
// of them, then clears it, and checks after each step that the store's
// maps hold what they should: after the deletes, a quarter of the table
// bytes at the peak at most.
func TestShrinkmapStoreGivesBack(t *testing.T) {
	const items, live = 100_000, 1_000
	c, err := NewCache(burstConfig(items))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key := func(i int) string { return "k" + strconv.Itoa(i) }
	for i := 0; i < items; i++ {
		burstSet(t, c, key(i), i, 0)
	}
	c.Wait()
	full := sumShards(c.storedItems)
	t.Logf("full:    %v", full)
	if full.len != items {
		t.Fatalf("full: Len %d, want %d", full.len, items)
	}
	for i := live; i < items; i++ {
		c.Del(key(i))
	}
	c.Wait()
	drained := sumShards(c.storedItems)
	t.Logf("drained: %v", drained)
	if drained.len != live {
		t.Fatalf("drained: Len %d, want %d", drained.len, live)
	}
	if drained.tableBytes > full.tableBytes/4 {
		t.Errorf("drained to %d of %d items, the maps hold %d table bytes, more than a quarter of the %d at the peak",
			live, items, drained.tableBytes, full.tableBytes)
	}
	for i := 0; i < live; i++ {
		if v, ok := c.Get(key(i)); !ok || v != i {
			t.Fatalf("Get(%q) = %d, %v; want %d, true", key(i), v, ok, i)
		}
	}
	c.Clear()
	cleared := sumShards(c.storedItems)
	t.Logf("cleared: %v", cleared)
	if cleared.len != 0 {
		t.Fatalf("cleared: Len %d, want 0", cleared.len)
	}
}
