// Command burst runs the traffic-burst scenario against every peer and
// writes a heap-over-time chart (burst.png, burst.svg) and a table
// (burst.md) into -out. Run it inside benchmarks/:
//
//	go run ./cmd/burst
//
// Each peer runs in a fresh child process of this program unless -isolate
// is false: a peer then starts with an empty heap, no fragmentation and no
// GC pacing left over by the one before, so the heap lines compare maps,
// not run order.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/shrinkmap/shrinkmap/benchmarks/burst"
)

func main() {
	burst.ChildMain()
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run parses args, runs the scenario and writes the results, printing
// progress to stderr.
func run(args []string, stderr io.Writer) error {
	def := burst.DefaultConfig()
	o := burst.Options{Progress: stderr}
	fs := flag.NewFlagSet("burst", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.Sessions, "sessions", def.Sessions, "peak sessions in each burst")
	fs.Float64Var(&o.Keep, "keep", def.Keep, "fraction of the sessions that survive each drain, in (0, 1]")
	fs.DurationVar(&o.Idle, "idle", def.Idle, "idle time between the bursts")
	fs.DurationVar(&o.Interval, "interval", def.Interval, "heap sampling period")
	fs.BoolVar(&o.Isolate, "isolate", true, "run each peer in a fresh child process")
	out := fs.String("out", "results", "directory for burst.png, burst.svg and burst.md")
	only := fs.String("peers", "", "comma-separated peers to run (default all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *only != "" {
		o.Peers = strings.Split(*only, ",")
	}
	fmt.Fprintf(stderr, "burst: %s\n", burst.Machine())
	rep, err := burst.Run(o)
	if err != nil {
		return err
	}
	command := strings.Join(append([]string{"go run ./cmd/burst"}, args...), " ")
	paths, err := burst.WriteAll(rep, *out, command)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", strings.Join(paths, ", "))
	return nil
}
