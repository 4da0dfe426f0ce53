// Package prometheus exports the figures of shrinkmap.ReadMetrics to
// Prometheus. Imported under a name of one's choice beside client_golang's
// package of the same name, as in
//
//	import shrinkprom "github.com/shrinkmap/shrinkmap/prometheus"
//
//	prometheus.MustRegister(shrinkprom.NewCollector())
//
// its [Collector], registered once, reports each live
// named map (made with shrinkmap.WithName) and the process totals at every
// scrape. It lives in a module of its own, so that programs that import
// shrinkmap alone never download client_golang.
//
// The metrics, each per named map labelled map="<name>", are:
//
//	shrinkmap_map_entries                         gauge    Stats.Len
//	shrinkmap_map_peak_entries                    gauge    Stats.Peak
//	shrinkmap_map_table_bytes                     gauge    Stats.TableBytes
//	shrinkmap_map_wasted_bytes                    gauge    Stats.WastedBytes
//	shrinkmap_map_compactions_total{reason="..."} counter  MapMetrics.Compactions, every reason
//
// and for the whole process:
//
//	shrinkmap_compactions_total     counter  Metrics.Compactions
//	shrinkmap_released_bytes_total  counter  Metrics.ReleasedBytes
//
// Maps that share a name are summed into one series per metric. A
// ShrinkMap's figures are as of its last publication (see
// shrinkmap.ReadMetrics for how stale they can be).
package prometheus
