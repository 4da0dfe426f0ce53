package shrinkmap_test

import (
	"encoding/json"
	"expvar"
	"fmt"
	"log/slog"
	"os"

	"github.com/shrinkmap/shrinkmap"
)

// Publishing ReadMetrics with expvar is one call; a service that imports
// net/http/pprof or serves expvar.Handler() then shows the figures of its
// named maps at /debug/vars.
func ExampleReadMetrics() {
	expvar.Publish("shrinkmap", expvar.Func(func() any { return shrinkmap.ReadMetrics() }))

	sessions := shrinkmap.New[int, string](shrinkmap.WithName("sessions"), shrinkmap.WithPolicy(shrinkmap.Never()))
	for i := range 10_000 {
		sessions.Set(i, "user")
	}
	for i := range 9_900 {
		sessions.Delete(i)
	}
	sessions.Shrink()

	// What a scrape of /debug/vars shows under "shrinkmap".
	var m shrinkmap.Metrics
	if err := json.Unmarshal([]byte(expvar.Get("shrinkmap").String()), &m); err != nil {
		panic(err)
	}
	for _, mm := range m.Maps {
		if mm.Name == "sessions" {
			fmt.Println(mm.Name, mm.Stats.Len, mm.Stats.Shrinks, mm.Compactions, mm.Stats.WastedBytes)
		}
	}
	fmt.Println(m.Compactions >= 1, m.ReleasedBytes > 0)
	// Output:
	// sessions 100 1 map[manual:1] 0
	// true true
}

// A shrink hook can log each compaction's figures as attributes.
func ExampleShrinkEvent_LogValue() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "Duration" {
				return slog.Attr{} // varies from run to run
			}
			return a
		},
	}))
	m := shrinkmap.New[int, int](shrinkmap.WithPolicy(shrinkmap.Never()), shrinkmap.WithShrinkHook(func(e shrinkmap.ShrinkEvent) {
		logger.Info("compacted", "event", e)
	}))
	for i := range 1000 {
		m.Set(i, i)
	}
	for i := range 900 {
		m.Delete(i)
	}
	m.Shrink()
	// Output:
	// level=INFO msg=compacted event.Entries=100 event.BytesBefore=34816 event.BytesAfter=2176 event.Manual=true event.Incremental=false event.Reason=manual
}
