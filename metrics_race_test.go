package shrinkmap

import (
	"encoding/json"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestReadMetricsWhileOwnersWrite scrapes ReadMetrics in a loop while
// owners fill and drain named ShrinkMaps without locks and writers share a
// named Concurrent: under -race it proves that scraping never races an
// owner.
func TestReadMetricsWhileOwnersWrite(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const fill, rounds = 4000, 12
	shrinkMaps := []*ShrinkMap[int, int]{
		New[int, int](WithName("race-shrink-0")),
		New[int, int](WithName("race-shrink-1"), WithIncremental(16), WithPolicy(RatioPolicy{Threshold: 0.5})),
	}
	c := NewConcurrent[int, int](WithName("race-concurrent"))

	var owners sync.WaitGroup
	for _, m := range shrinkMaps {
		owners.Add(1)
		go func() {
			defer owners.Done()
			for range rounds {
				for i := range fill {
					m.Set(i, i)
				}
				for i := range fill {
					m.Delete(i)
				}
			}
		}()
	}
	for w := range 2 {
		owners.Add(1)
		go func() {
			defer owners.Done()
			for range rounds {
				for i := w; i < fill; i += 2 {
					c.Set(i, i)
				}
				for i := w; i < fill; i += 2 {
					c.Delete(i)
				}
			}
		}()
	}

	done := make(chan struct{})
	scraped := make(chan scrapeCounts)
	go func() { scraped <- scrapeUntil(done) }()
	owners.Wait()
	close(done)
	counts := <-scraped

	require.Positive(t, counts.scrapes, "scrapes")
	for _, name := range []string{"race-concurrent", "race-shrink-0", "race-shrink-1"} {
		assert.Equal(t, counts.scrapes, counts.seen[name], "scrapes that listed %s", name)
		assert.LessOrEqual(t, counts.maxLen[name], fill, "largest Len scraped for %s", name)
	}
	t.Logf("%d scrapes; scrapes that saw a non-empty map: %v", counts.scrapes, counts.nonEmpty)
	for i, m := range shrinkMaps {
		mm := published(t, "race-shrink-"+strconv.Itoa(i))
		assert.Equal(t, m.Stats().Shrinks, mm.Stats.Shrinks, "published Shrinks of race-shrink-%d", i)
		assert.Positive(t, mm.Stats.Shrinks, "compactions of race-shrink-%d", i)
	}
	assert.Equal(t, c.Stats(), published(t, "race-concurrent").Stats, "Stats of race-concurrent")
}

// scrapeCounts is what scrapeUntil saw, by map name.
type scrapeCounts struct {
	scrapes  int
	seen     map[string]int // scrapes that listed the map
	nonEmpty map[string]int // scrapes that saw it with entries
	maxLen   map[string]int
}

// scrapeUntil reads and marshals ReadMetrics until done is closed, at
// least once, and counts what it saw of the race-* maps.
func scrapeUntil(done <-chan struct{}) scrapeCounts {
	sc := scrapeCounts{seen: map[string]int{}, nonEmpty: map[string]int{}, maxLen: map[string]int{}}
	for {
		m := ReadMetrics()
		if _, err := json.Marshal(m); err != nil {
			panic(err)
		}
		sc.scrapes++
		for _, mm := range m.Maps {
			if len(mm.Name) < 5 || mm.Name[:5] != "race-" {
				continue
			}
			sc.seen[mm.Name]++
			if mm.Stats.Len > 0 {
				sc.nonEmpty[mm.Name]++
			}
			sc.maxLen[mm.Name] = max(sc.maxLen[mm.Name], mm.Stats.Len)
		}
		select {
		case <-done:
			return sc
		default:
		}
	}
}
