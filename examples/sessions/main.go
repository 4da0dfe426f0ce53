// Command sessions simulates an hour of a web service's session table on a
// simulated clock: a steady trickle of logins, a burst of 300,000 at 09:00
// (a flash sale), and a sweeper that expires sessions after 20 minutes. It
// prints the table's Stats and the heap as the burst arrives and expires,
// then runs the same hour with a native map for comparison.
//
//	go run ./examples/sessions
package main

import (
	"fmt"
	"iter"
	"maps"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/shrinkmap/shrinkmap"
)

// Session is what a service keeps per logged-in user.
type Session struct {
	UserID  uint64
	Created time.Time
	Expires time.Time
}

const (
	ttl            = 20 * time.Minute
	steadyLogins   = 100    // logins per minute outside the burst
	burstLogins    = 60_000 // logins per minute during the burst
	burstMinutes   = 5
	simulatedHours = 1
	reportEvery    = 5 * time.Minute
)

var (
	start      = time.Date(2026, time.March, 2, 8, 50, 0, 0, time.UTC)
	burstStart = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)
	burstEnd   = burstStart.Add(burstMinutes * time.Minute)
)

// table is what the simulation needs from a session table, so that the same
// hour runs on a ShrinkMap and on a native map.
type table interface {
	Set(id string, s Session)
	Delete(id string)
	All() iter.Seq2[string, Session]
}

// nativeTable is a plain Go map, as most services keep sessions today.
type nativeTable map[string]Session

func (t nativeTable) Set(id string, s Session)        { t[id] = s }
func (t nativeTable) Delete(id string)                { delete(t, id) }
func (t nativeTable) All() iter.Seq2[string, Session] { return maps.All(t) }

// loginsIn returns how many users log in during the minute starting at t.
func loginsIn(t time.Time) int {
	if !t.Before(burstStart) && t.Before(burstEnd) {
		return burstLogins
	}
	return steadyLogins
}

// simulate runs the hour minute by minute: the minute's logins, spread over
// it, then a sweep that deletes every session expired by the minute's end.
// Every reportEvery of simulated time it calls report with the time and the
// logins since the last report.
func simulate(t table, report func(now time.Time, logins int)) {
	rng := rand.New(rand.NewPCG(1, 2))
	logins := 0
	for now := start; now.Before(start.Add(simulatedHours * time.Hour)); now = now.Add(time.Minute) {
		n := loginsIn(now)
		for i := range n {
			created := now.Add(time.Duration(i) * time.Minute / time.Duration(n))
			id := fmt.Sprintf("%016x", rng.Uint64())
			t.Set(id, Session{UserID: rng.Uint64N(1 << 40), Created: created, Expires: created.Add(ttl)})
		}
		logins += n
		end := now.Add(time.Minute)
		for id, s := range t.All() {
			// Deleting during the iteration is allowed for both maps; a
			// ShrinkMap compacts, if its policy says so, when the loop ends.
			if !s.Expires.After(end) {
				t.Delete(id)
			}
		}
		if end.Sub(start)%reportEvery == 0 {
			report(end, logins)
			logins = 0
		}
	}
}

// heapMB returns the heap in use after a collection, in MB.
func heapMB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / 1e6
}

func main() {
	fmt.Printf("A session table through a burst of %d logins at %s, sessions expiring after %d minutes (simulated clock):\n\n",
		burstLogins*burstMinutes, burstStart.Format("15:04"), int(ttl.Minutes()))

	sessions := shrinkmap.New[string, Session]()
	fmt.Printf("%5s %8s %9s %9s %8s %11s %13s %9s\n",
		"time", "logins", "Len", "Peak", "Shrinks", "TableBytes", "MigrationLeft", "heap")
	simulate(sessions, func(now time.Time, logins int) {
		s := sessions.Stats()
		fmt.Printf("%5s %8d %9d %9d %8d %8.1f MB %13d %6.1f MB\n",
			now.Format("15:04"), logins, s.Len, s.Peak, s.Shrinks, float64(s.TableBytes)/1e6, s.MigrationLeft, heapMB())
	})
	fmt.Println("\n(MigrationLeft: entries an incremental compaction has still to copy; each later Set or Delete copies a few.)")
	live, final := sessions.Len(), heapMB()
	runtime.KeepAlive(sessions)

	native := nativeTable{}
	simulate(native, func(time.Time, int) {})
	nativeFinal := heapMB()
	runtime.KeepAlive(native)

	fmt.Printf("\nAfter the hour, %d sessions are live. Heap: %.1f MB with ShrinkMap, %.1f MB with a native map.\n",
		live, final, nativeFinal)
}
