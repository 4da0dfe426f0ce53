package shrinkmap_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shrinkmap/shrinkmap"
)

// An incremental compaction (a migration) that runs as a coroutine kills
// the process with "fatal error: coro: OS thread locking must match locking
// at coroutine creation" when it is created and resumed, or stopped, by
// goroutines in different runtime.LockOSThread states or on different
// locked threads (Go issues 65889 and 67499). A fatal error cannot be
// recovered, so TestLockOSThreadPatterns runs each pattern below in a child
// process (the test binary run again with lockPatternEnv naming the
// pattern) and fails with the child's output if the child dies.
//
// Concurrent has no pattern: its resizes (internal/table) move buckets
// inside writes and on the WithCompactEvery goroutine, and neither it nor
// its iterators use iter.Pull or any other coroutine.

// lockPatternEnv names the pattern a child process runs.
const lockPatternEnv = "SHRINKMAP_LOCK_PATTERN"

// lockPattern is one way of using a map from goroutines in different
// thread-locking states. run runs in the child; it calls lockFail (which
// exits the child) if the map did not migrate where the pattern needs it,
// so that no pattern passes without exercising a migration.
type lockPattern struct {
	name string
	run  func(n int)
}

var lockPatterns = []lockPattern{
	{"start-locked/resume-unlocked", func(n int) {
		m, next := newLockMap(n)
		onLockedThread(func() { startLockMigration(m, next) })
		resumeLockMigration(m, next)
	}},
	{"start-unlocked/resume-locked", func(n int) {
		m, next := newLockMap(n)
		startLockMigration(m, next)
		onLockedThread(func() { resumeLockMigration(m, next) })
		resumeLockMigration(m, next) // and back on an unlocked goroutine
	}},
	{"start-locked/resume-other-locked", func(n int) {
		m, next := newLockMap(n)
		onLockedThread(func() { startLockMigration(m, next) })
		onLockedThread(func() { resumeLockMigration(m, next) })
	}},
	{"start-locked/resume-same-locked", func(n int) {
		// The one pattern a coroutine allows: everything on one locked
		// goroutine. It shows the harness passes what does not crash.
		m, next := newLockMap(n)
		onLockedThread(func() {
			startLockMigration(m, next)
			resumeLockMigration(m, next)
		})
	}},
	{"start-unlocked/clear-locked", func(n int) {
		m, next := newLockMap(n)
		startLockMigration(m, next)
		onLockedThread(func() { clearLockMigration(m, next) })
	}},
	{"start-locked/clear-unlocked", func(n int) {
		m, next := newLockMap(n)
		onLockedThread(func() { startLockMigration(m, next) })
		clearLockMigration(m, next)
	}},
	{"start-unlocked/shrink-locked", func(n int) {
		m, next := newLockMap(n)
		startLockMigration(m, next)
		onLockedThread(func() { shrinkLockMigration(m, next) })
	}},
	{"start-locked/shrink-unlocked", func(n int) {
		m, next := newLockMap(n)
		onLockedThread(func() { startLockMigration(m, next) })
		shrinkLockMigration(m, next)
	}},
	{"iterate-locked/resume-unlocked", func(n int) {
		// A loop on a locked goroutine whose body deletes a few entries
		// brings the map under its policy's threshold: the loop's end
		// starts an incremental migration (more entries are left than
		// the loop deleted), resumed unlocked.
		m, _ := newLockMap(n)
		for k := range n - n/4 - 1 {
			m.Delete(k)
		}
		onLockedThread(func() {
			deleted := 0
			for k := range m.All() {
				m.Delete(k)
				if deleted++; deleted == 100 {
					break
				}
			}
			requireMigrating(m, "after a loop on a locked goroutine deleted 100 entries under the threshold")
		})
		before := m.Len()
		for i := range lockResumeOps {
			m.Set(n+i, i)
			m.Delete(n + i)
		}
		requireLen(m, before, "after Sets and Deletes of new keys on an unlocked goroutine")
	}},
	{"start-unlocked/iterate-locked", func(n int) {
		// A loop on a locked goroutine whose body deletes resumes a
		// migration started unlocked, and completes it if few entries
		// are left when the loop ends.
		m, next := newLockMap(n)
		startLockMigration(m, next)
		onLockedThread(func() {
			requireMigrating(m, "before a loop on a locked goroutine")
			want := m.Len()
			for k := range m.All() {
				if k%2 == 0 {
					m.Delete(k)
					want--
				}
			}
			requireLen(m, want, "after a loop on a locked goroutine deleted the even keys")
		})
	}},
	{"drop-locked", func(n int) {
		// A map dropped mid-migration, after a locked goroutine started
		// and resumed it, is collected with its migration (which holds
		// no goroutine or coroutine to stop).
		collected := make(chan struct{})
		onLockedThread(func() {
			m, next := newLockMap(n)
			startLockMigration(m, next)
			resumeLockMigration(m, next)
			requireMigrating(m, "when the map is dropped")
			runtime.AddCleanup(m, func(ch chan struct{}) { close(ch) }, collected)
		})
		awaitCleanups(collected)
	}},
}

// lockResumeOps is the number of Sets and of Deletes that resume a
// migration: each takes a step of DefaultStep entries, far fewer in all
// than the migration copies, so that it is still in progress after them.
const lockResumeOps = 8

// lockChildOK is the line a child prints once its pattern completed.
func lockChildOK(name string, migrating bool) string {
	return fmt.Sprintf("pattern %s ok migrating=%t", name, migrating)
}

// lockSawMigrating records that a pattern found a migration in progress
// where it needed one; the child reports it in its last line.
var lockSawMigrating bool

func TestLockOSThreadPatterns(t *testing.T) {
	if name := os.Getenv(lockPatternEnv); name != "" {
		runLockPattern(name)
		return
	}
	var (
		mu  sync.Mutex
		ran []string
	)
	t.Run("patterns", func(t *testing.T) {
		for _, p := range lockPatterns {
			t.Run(p.name, func(t *testing.T) {
				t.Parallel()
				if runLockChild(t, p.name) {
					mu.Lock()
					ran = append(ran, p.name)
					mu.Unlock()
				}
			})
		}
	})
	if len(ran) != len(lockPatterns) {
		t.Errorf("%d of %d lock patterns ran to completion in a child process (completed: %q)", len(ran), len(lockPatterns), ran)
	}
}

// runLockChild runs pattern name in a child process and reports whether
// the child completed it, failing t with the child's output if not.
func runLockChild(t *testing.T, name string) bool {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	args := []string{"-test.run=^TestLockOSThreadPatterns$", "-test.count=1", "-test.v"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), lockPatternEnv+"="+name)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("child ran in %v", time.Since(start).Round(time.Millisecond))
	marker := lockChildOK(name, true)
	if err != nil || !strings.Contains(string(out), marker+"\n") {
		what := "did not print " + strconv.Quote(marker)
		if err != nil {
			what = err.Error()
		}
		if i := strings.Index(string(out), "fatal error:"); i >= 0 {
			line, _, _ := strings.Cut(string(out[i:]), "\n")
			what += "; " + line
		}
		t.Errorf("pattern %s: child process %s\nchild output:\n%s", name, what, headLines(string(out), 40))
		return false
	}
	return true
}

// headLines returns the first n lines of s.
func headLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) <= n {
		return s
	}
	return strings.Join(lines[:n], "") + fmt.Sprintf("... (%d more lines)\n", len(lines)-n)
}

// runLockPattern runs pattern name in this (child) process and prints the
// line the parent looks for.
func runLockPattern(name string) {
	n := 200_000
	if testing.Short() {
		n = 40_000 // still past DefaultMinIncremental live entries when it compacts
	}
	for _, p := range lockPatterns {
		if p.name == name {
			p.run(n)
			fmt.Println(lockChildOK(name, lockSawMigrating))
			return
		}
	}
	lockFail("no pattern named %q", name)
}

// lockFail reports that a pattern could not do what it tests and exits
// the child with status 3, from any goroutine.
func lockFail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "lock pattern: "+format+"\n", args...)
	os.Exit(3)
}

// onLockedThread runs f on a new goroutine locked to its OS thread and
// waits for it. The goroutine exits without unlocking, which terminates
// its thread: two calls never run on the same thread.
func onLockedThread(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		f()
	}()
	<-done
}

// newLockMap returns a map holding the keys 0 to n-1 and the first key
// that startLockMigration deletes.
func newLockMap(n int) (*shrinkmap.ShrinkMap[int, int], *int) {
	m := shrinkmap.New[int, int]()
	for i := range n {
		m.Set(i, i)
	}
	if m.Stats().Migrating {
		lockFail("a migration in progress after %d Sets", n)
	}
	return m, new(int)
}

// startLockMigration deletes keys from *next up until a Delete starts an
// incremental migration, on the calling goroutine.
func startLockMigration(m *shrinkmap.ShrinkMap[int, int], next *int) {
	for ; m.Len() > 0; *next++ {
		m.Delete(*next)
		if m.Stats().Migrating {
			*next++
			lockSawMigrating = true
			return
		}
	}
	lockFail("no migration started: the map drained with no incremental compaction")
}

// resumeLockMigration takes migration steps by Sets of new keys and
// Deletes from *next, on the calling goroutine.
func resumeLockMigration(m *shrinkmap.ShrinkMap[int, int], next *int) {
	requireMigrating(m, "before resuming it")
	want := m.Len()
	for range lockResumeOps {
		m.Set(-1-*next, *next) // a key never set before
		m.Delete(*next)
		*next++
	}
	requireLen(m, want, "after resuming the migration")
}

// clearLockMigration calls Clear mid-migration.
func clearLockMigration(m *shrinkmap.ShrinkMap[int, int], next *int) {
	requireMigrating(m, "before Clear")
	m.Clear()
	if s := m.Stats(); s.Migrating || s.Len != 0 {
		lockFail("Stats() after Clear = %+v; want an empty map, not migrating", s)
	}
	m.Set(*next, 1) // the map is usable afterwards
	requireLen(m, 1, "after Clear and one Set")
}

// shrinkLockMigration calls Shrink mid-migration.
func shrinkLockMigration(m *shrinkmap.ShrinkMap[int, int], next *int) {
	requireMigrating(m, "before Shrink")
	want := m.Len()
	m.Shrink()
	if s := m.Stats(); s.Migrating || s.Len != want {
		lockFail("Stats() after Shrink = %+v; want Len %d, not migrating", s, want)
	}
	m.Delete(*next)
	requireLen(m, want-1, "after Shrink and one Delete")
}

func requireMigrating(m *shrinkmap.ShrinkMap[int, int], when string) {
	if !m.Stats().Migrating {
		lockFail("no migration in progress %s: Stats() = %+v", when, m.Stats())
	}
	lockSawMigrating = true
}

func requireLen(m *shrinkmap.ShrinkMap[int, int], want int, when string) {
	if got := m.Len(); got != want {
		lockFail("Len() = %d %s; want %d", got, when, want)
	}
}

// awaitCleanups collects garbage until collected is closed, by a cleanup
// attached to a dropped map, then gives the map's own cleanups, queued in
// the same cycle, time to run.
func awaitCleanups(collected chan struct{}) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		select {
		case <-collected:
			for range 3 {
				time.Sleep(20 * time.Millisecond)
				runtime.GC()
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			lockFail("the dropped map was not collected within 5s: its cleanup never ran")
		}
	}
}
