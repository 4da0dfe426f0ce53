package shrinkmap

import "log/slog"

// LogValue returns s as a group of its fields, under their Go names, so
// that log/slog handlers log each as an attribute (slog.Info("stats",
// "map", m.Stats()) gives map.Len=... map.Peak=... with the text handler).
func (s Stats) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("Len", s.Len),
		slog.Int("Peak", s.Peak),
		slog.Int("Shrinks", s.Shrinks),
		slog.Int64("TableBytes", s.TableBytes),
		slog.Int64("WastedBytes", s.WastedBytes),
		slog.Bool("Migrating", s.Migrating),
		slog.Int("MigrationLeft", s.MigrationLeft),
		slog.Int("DrainedFrom", s.DrainedFrom),
		slog.Int("LowDeletes", s.LowDeletes),
		slog.Int("Refills", s.Refills),
		slog.Bool("SweepEnded", s.SweepEnded),
		slog.Bool("MemoryPressure", s.MemoryPressure),
	)
}

// LogValue returns e as a group of its fields, under their Go names, with
// Reason as its name, so that a shrink hook can log a compaction with
// slog.Info("compacted", "event", e).
func (e ShrinkEvent) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("Entries", e.Entries),
		slog.Int64("BytesBefore", e.BytesBefore),
		slog.Int64("BytesAfter", e.BytesAfter),
		slog.Duration("Duration", e.Duration),
		slog.Bool("Manual", e.Manual),
		slog.Bool("Incremental", e.Incremental),
		slog.String("Reason", e.Reason.String()),
	)
}
