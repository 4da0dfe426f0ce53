package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shrinkmap/shrinkmap/benchmarks/burst"
)

func TestMain(m *testing.M) {
	burst.ChildMain()
	os.Exit(m.Run())
}

func TestRunWritesResults(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-sessions", "40000", "-idle", "10ms", "-peers", "native,shrinkmap,sync.Map", "-out", dir}
	var stderr strings.Builder
	require.NoError(t, run(args, &stderr), "run(%q); stderr:\n%s", args, stderr.String())
	for _, name := range []string{"burst.png", "burst.svg", "burst.md"} {
		info, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, "run(%q) wrote no %s", args, name)
		assert.Positive(t, info.Size(), "size of %s", name)
	}
	md, err := os.ReadFile(filepath.Join(dir, "burst.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "`go run ./cmd/burst "+strings.Join(args, " ")+"`", "burst.md's command line")
	assert.Contains(t, string(md), "each peer in a fresh child process", "burst.md's isolation note")
	assert.Contains(t, stderr.String(), "[3/3] sync.Map", "run's progress")
}

func TestRunRejectsBadFlags(t *testing.T) {
	var stderr strings.Builder
	err := run([]string{"-sessions", "0", "-out", t.TempDir()}, &stderr)
	assert.ErrorContains(t, err, "Sessions = 0", "run(-sessions 0)")
	err = run([]string{"-no-such-flag"}, &stderr)
	assert.Error(t, err, "run(-no-such-flag)")
}
