package burst

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/shrinkmap/shrinkmap/benchmarks/peers"
)

// childEnv is the environment variable that makes a process a child: it
// holds the job, as JSON, that the child runs and answers on its stdout.
const childEnv = "SHRINKMAP_BURST_CHILD"

// Options describes a run of the scenario over several peers.
type Options struct {
	Config
	// Peers names the peers to run, in order; empty means all of them.
	Peers []string
	// Isolate runs each peer in a fresh child process of Self, so that no
	// peer inherits another's heap, fragmentation or GC pacing.
	// Otherwise the peers run one after another in this process, with a
	// runtime.GC between them.
	Isolate bool
	// Self is the executable that runs a child: a program whose main (or
	// TestMain) calls ChildMain first. Empty means os.Executable().
	Self string
	// Progress receives a line per step of each peer's run; nil discards.
	Progress io.Writer
}

// Report is the outcome of Run.
type Report struct {
	Config Config
	// Fresh is the heap of a fresh native map holding the live sessions
	// (FreshBytes): the baseline of the "x fresh" columns.
	Fresh    uint64
	Isolated bool
	Results  []Result
}

type job struct {
	Config Config
	Peer   string
}

// Run runs the scenario for every peer o names and returns their results in
// that order.
func Run(o Options) (Report, error) {
	if err := o.Validate(); err != nil {
		return Report{}, err
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	names := o.Peers
	if len(names) == 0 {
		for _, p := range peers.All[int, Value]() {
			names = append(names, p.Name)
		}
	}
	for _, name := range names {
		if _, ok := peers.Find[int, Value](name); !ok {
			return Report{}, fmt.Errorf("burst: no peer named %q", name)
		}
	}
	rep := Report{Config: o.Config, Fresh: FreshBytes(o.Config), Isolated: o.Isolate}
	fmt.Fprintf(o.Progress, "fresh native map of %d live sessions: %.1f MiB\n", o.Live(), mib(rep.Fresh))
	for i, name := range names {
		fmt.Fprintf(o.Progress, "[%d/%d] %s\n", i+1, len(names), name)
		var r Result
		var err error
		if o.Isolate {
			r, err = runChild(o, name)
		} else {
			p, _ := peers.Find[int, Value](name)
			r, err = RunPeer(o.Config, p, o.Progress)
			runtime.GC()
		}
		if err != nil {
			return rep, err
		}
		fmt.Fprintf(o.Progress, "  %-16s done in %v: peak %.1f MiB, after drain %.1f MiB (%.2fx fresh)\n",
			name, r.Total.Round(time.Millisecond), mib(r.Peak), mib(r.AfterDrain), ratio(r.AfterDrain, rep.Fresh))
		rep.Results = append(rep.Results, r)
	}
	return rep, nil
}

func runChild(o Options, name string) (Result, error) {
	self := o.Self
	if self == "" {
		var err error
		if self, err = os.Executable(); err != nil {
			return Result{}, fmt.Errorf("burst: finding this program to run %s in a child: %w", name, err)
		}
	}
	spec, err := json.Marshal(job{Config: o.Config, Peer: name})
	if err != nil {
		return Result{}, err
	}
	var out bytes.Buffer
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	cmd.Stdout, cmd.Stderr = &out, o.Progress
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("burst: child running %s: %w", name, err)
	}
	var r Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return Result{}, fmt.Errorf("burst: reading the result of the child running %s: %w", name, err)
	}
	return r, nil
}

// ChildMain makes this process a child if the parent asked it to be one: it
// then runs the job, writes its Result as JSON to stdout, its progress to
// stderr, and exits. Otherwise it returns at once. Call it first in main
// (and in TestMain of tests that run isolated).
func ChildMain() {
	spec, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	if err := child(spec, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func child(spec string, stdout, stderr io.Writer) error {
	var j job
	if err := json.Unmarshal([]byte(spec), &j); err != nil {
		return fmt.Errorf("burst: child: bad %s=%q: %w", childEnv, spec, err)
	}
	p, ok := peers.Find[int, Value](j.Peer)
	if !ok {
		return fmt.Errorf("burst: child: no peer named %q", j.Peer)
	}
	r, err := RunPeer(j.Config, p, stderr)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(r)
}

func ratio(b, fresh uint64) float64 {
	if fresh == 0 {
		return 0
	}
	return float64(b) / float64(fresh)
}
