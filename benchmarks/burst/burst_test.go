package burst

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shrinkmap/shrinkmap/benchmarks/peers"
)

// TestMain lets the isolated test re-run this test binary as a child.
func TestMain(m *testing.M) {
	ChildMain()
	os.Exit(m.Run())
}

// tiny is the scenario at a size that runs in well under a second a peer,
// yet leaves a native table of ~19 MiB, above the default policy's 4 MiB floor.
func tiny() Config {
	// Idle exceeds the default policy's refill window (100 ms at this
	// size), so that the second burst counts as a new one, not a refill
	// that undid the first drain's compaction.
	return Config{Sessions: 100_000, Keep: 0.01, Idle: 250 * time.Millisecond, Interval: 2 * time.Millisecond}
}

func resultOf(t *testing.T, rep Report, peer string) Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Peer == peer {
			return r
		}
	}
	require.Failf(t, "no result", "Run returned no result for peer %q", peer)
	return Result{}
}

func TestRunInProcessWritesChartAndTable(t *testing.T) {
	var progress strings.Builder
	rep, err := Run(Options{Config: tiny(), Progress: &progress})
	require.NoError(t, err, "Run(tiny, in process)")

	all := peers.All[int, Value]()
	require.Len(t, rep.Results, len(all), "Run(tiny) results; want one per peer")
	for i, r := range rep.Results {
		assert.Equal(t, all[i].Name, r.Peer, "result %d's peer", i)
		assert.NotEmpty(t, r.Samples, "%s: heap samples", r.Peer)
		assert.Len(t, r.Phases, 5, "%s: phases", r.Peer)
		assert.GreaterOrEqual(t, r.Peak, r.AfterDrain, "%s: peak heap below the heap after the drain", r.Peer)
		assert.Greater(t, r.AfterBurst2, r.AfterDrain, "%s: heap after the second burst not above the heap after the drain", r.Peer)
	}
	assert.Contains(t, progress.String(), "[1/", "Run's progress output")
	assert.Contains(t, progress.String(), "drain2", "Run's progress output")

	native, shrink := resultOf(t, rep, peers.Native), resultOf(t, rep, peers.ShrinkDefault)
	assert.Less(t, shrink.AfterDrain, native.AfterDrain/4,
		"ShrinkMap's heap after the drain = %d bytes; want under a quarter of the native map's %d", shrink.AfterDrain, native.AfterDrain)
	assert.Less(t, shrink.AfterDrain2, native.AfterDrain2/4,
		"ShrinkMap's heap after the second drain = %d bytes; want under a quarter of the native map's %d", shrink.AfterDrain2, native.AfterDrain2)
	assert.Greater(t, native.AfterDrain, 8*rep.Fresh,
		"native map's heap after the drain = %d bytes; want it to keep its table, over 8x the fresh map's %d", native.AfterDrain, rep.Fresh)

	dir := t.TempDir()
	paths, err := WriteAll(rep, dir, "go run ./cmd/burst -sessions 50000")
	require.NoError(t, err, "WriteAll(%s)", dir)
	assert.ElementsMatch(t, []string{"burst.png", "burst.svg", "burst.md"}, baseNames(paths), "WriteAll's paths")
	png, err := os.ReadFile(filepath.Join(dir, "burst.png"))
	require.NoError(t, err)
	assert.Equal(t, "\x89PNG", string(png[:4]), "burst.png's magic bytes")
	svg, err := os.ReadFile(filepath.Join(dir, "burst.svg"))
	require.NoError(t, err)
	assert.Contains(t, string(svg), "<svg", "burst.svg")
	md, err := os.ReadFile(filepath.Join(dir, "burst.md"))
	require.NoError(t, err)
	for _, want := range []string{"`go run ./cmd/burst -sessions 50000`", "Machine: go1.", "| " + peers.ShrinkDefault + " |", "| " + peers.XsyncMap + " |", "x fresh"} {
		assert.Contains(t, string(md), want, "burst.md")
	}
}

func TestRunIsolatedInChildren(t *testing.T) {
	cfg := tiny()
	rep, err := Run(Options{Config: cfg, Peers: []string{peers.Native, peers.ShrinkDefault}, Isolate: true})
	require.NoError(t, err, "Run(tiny, isolated)")
	require.Len(t, rep.Results, 2, "Run(isolated) results")
	native, shrink := rep.Results[0], rep.Results[1]
	assert.Equal(t, peers.Native, native.Peer)
	assert.Equal(t, peers.ShrinkDefault, shrink.Peer)
	assert.NotEmpty(t, shrink.Samples, "child's samples")
	assert.Less(t, shrink.AfterDrain, native.AfterDrain/4,
		"isolated: ShrinkMap's heap after the drain = %d bytes; want under a quarter of the native map's %d", shrink.AfterDrain, native.AfterDrain)
}

func TestRunRejectsBadInput(t *testing.T) {
	_, err := Run(Options{Config: tiny(), Peers: []string{"no-such-map"}})
	assert.ErrorContains(t, err, `no peer named "no-such-map"`, "Run with an unknown peer")
	bad := tiny()
	bad.Keep = 0
	_, err = Run(Options{Config: bad})
	assert.ErrorContains(t, err, "Keep = 0", "Run with Keep = 0")
}

func TestStepX(t *testing.T) {
	phases := []Phase{{Name: "a", End: 10}, {Name: "b", End: 30}}
	for _, c := range []struct {
		t    time.Duration
		want float64
		ok   bool
	}{{0, 0, true}, {5, 0.5, true}, {10, 1, true}, {20, 1.5, true}, {30, 2, true}, {31, 0, false}} {
		got, ok := stepX(phases, c.t)
		assert.Equal(t, c.ok, ok, "stepX(%v) ok", c.t)
		assert.InDelta(t, c.want, got, 1e-9, "stepX(%v)", c.t)
	}
}

func TestConfigLive(t *testing.T) {
	for _, c := range []struct {
		sessions int
		keep     float64
		want     int
	}{{1_000_000, 0.01, 10_000}, {50_000, 0.01, 500}, {101, 0.01, 2}, {10, 1, 10}, {10, 0.5, 5}} {
		cfg := Config{Sessions: c.sessions, Keep: c.keep}
		assert.Equal(t, c.want, cfg.Live(), "Config{Sessions: %d, Keep: %v}.Live()", c.sessions, c.keep)
	}
}

func baseNames(paths []string) []string {
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	return names
}
