package shrinkmap

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logOnce logs msg with args through a handler made by newHandler, without
// the time, and returns what it wrote.
func logOnce(newHandler func(*bytes.Buffer, *slog.HandlerOptions) slog.Handler, msg string, args ...any) string {
	var buf bytes.Buffer
	noTime := func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	slog.New(newHandler(&buf, &slog.HandlerOptions{ReplaceAttr: noTime})).Info(msg, args...)
	return buf.String()
}

func textHandler(b *bytes.Buffer, o *slog.HandlerOptions) slog.Handler {
	return slog.NewTextHandler(b, o)
}

func jsonHandler(b *bytes.Buffer, o *slog.HandlerOptions) slog.Handler {
	return slog.NewJSONHandler(b, o)
}

func TestShrinkEventLogValue(t *testing.T) {
	e := ShrinkEvent{Entries: 10, BytesBefore: 4096, BytesAfter: 256, Duration: 3 * time.Millisecond, Incremental: true, Reason: ReasonDrained}
	got := logOnce(textHandler, "compacted", "event", e)
	want := "level=INFO msg=compacted event.Entries=10 event.BytesBefore=4096 event.BytesAfter=256 " +
		"event.Duration=3ms event.Manual=false event.Incremental=true event.Reason=drained\n"
	assert.Equal(t, want, got, "text handler")

	var decoded struct{ Event map[string]any }
	out := logOnce(jsonHandler, "compacted", "Event", e)
	require.NoError(t, json.Unmarshal([]byte(out), &decoded), "json.Unmarshal(%s)", out)
	assert.Equal(t, map[string]any{
		"Entries": 10.0, "BytesBefore": 4096.0, "BytesAfter": 256.0, "Duration": float64(3 * time.Millisecond),
		"Manual": false, "Incremental": true, "Reason": "drained",
	}, decoded.Event, "JSON handler")
}

func TestStatsLogValue(t *testing.T) {
	m := New[int, int]()
	for i := range 100 {
		m.Set(i, i)
	}
	m.Delete(0)
	s := m.Stats()
	got := logOnce(textHandler, "stats", "map", s)
	want := "level=INFO msg=stats map.Len=99 map.Peak=100 map.Shrinks=0 map.TableBytes=" + strconv.FormatInt(s.TableBytes, 10) +
		" map.WastedBytes=" + strconv.FormatInt(s.WastedBytes, 10) + " map.Migrating=false map.MigrationLeft=0 map.DrainedFrom=0" +
		" map.LowDeletes=0 map.Refills=0 map.SweepEnded=false map.MemoryPressure=false\n"
	assert.Equal(t, want, got, "text handler")

	// The JSON handler's group holds every field of Stats, under its name.
	var decoded struct{ Map Stats }
	out := logOnce(jsonHandler, "stats", "Map", s)
	require.NoError(t, json.Unmarshal([]byte(out), &decoded), "json.Unmarshal(%s)", out)
	assert.Equal(t, s, decoded.Map, "Stats decoded from the JSON handler's group")
}
