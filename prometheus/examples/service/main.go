// Command service is a small service with two named maps that burst and
// drain: a ShrinkMap of sessions owned by one goroutine, and a Concurrent
// cache shared by four. It serves /debug/vars (expvar) and /metrics
// (Prometheus) on a localhost port, scrapes both after the burst, prints
// what they return about the maps, and exits.
package main

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shrinkmap/shrinkmap"
	shrinkprom "github.com/shrinkmap/shrinkmap/prometheus"
)

const burst, kept = 200_000, 2_000

func main() {
	expvar.Publish("shrinkmap", expvar.Func(func() any { return shrinkmap.ReadMetrics() }))
	prometheus.MustRegister(shrinkprom.NewCollector())
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	mux.Handle("/metrics", promhttp.Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	sessions := shrinkmap.New[int, string](shrinkmap.WithName("sessions"))
	cache := shrinkmap.NewConcurrent[int, []byte](shrinkmap.WithName("cache"))
	burstAndDrain(sessions, cache)

	base := "http://" + ln.Addr().String()
	fmt.Println("GET /metrics (shrinkmap samples):")
	for _, line := range strings.Split(get(base+"/metrics"), "\n") {
		if strings.HasPrefix(line, "shrinkmap_") && !strings.HasSuffix(line, " 0") {
			fmt.Println("  " + line)
		}
	}
	var vars struct{ Shrinkmap shrinkmap.Metrics }
	if err := json.Unmarshal([]byte(get(base+"/debug/vars")), &vars); err != nil {
		log.Fatal(err)
	}
	fmt.Println("GET /debug/vars (shrinkmap):")
	m := vars.Shrinkmap
	fmt.Printf("  %d compactions released %.1f MB in the process\n", m.Compactions, float64(m.ReleasedBytes)/1e6)
	for _, mm := range m.Maps {
		fmt.Printf("  %-8s Len %6d  Peak %6d  table %8d bytes  wasted %6d  compactions %v\n",
			mm.Name, mm.Stats.Len, mm.Stats.Peak, mm.Stats.TableBytes, mm.Stats.WastedBytes, mm.Compactions)
	}
	// The owner is done, so main may read the map: a ShrinkMap's figures
	// above are those it last published, within an eighth or so of Len.
	// Using both maps here also keeps them reachable until the scrapes
	// are done: a named map that is dropped leaves the report.
	fmt.Printf("sessions.Len() = %d, cache.Len() = %d (the owners' view)\n", sessions.Len(), cache.Len())
}

// burstAndDrain fills sessions (from its owner goroutine, no lock) and
// cache (from four goroutines) with burst entries, then deletes all but
// kept of them.
func burstAndDrain(sessions *shrinkmap.ShrinkMap[int, string], cache *shrinkmap.Concurrent[int, []byte]) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the sessions map's only owner
		defer wg.Done()
		for i := range burst {
			sessions.Set(i, "user")
		}
		for i := kept; i < burst; i++ {
			sessions.Delete(i)
		}
	}()
	const writers = 4
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < burst; i += writers {
				cache.Set(i, make([]byte, 16))
			}
			for i := w; i < burst; i += writers {
				if i >= kept {
					cache.Delete(i)
				}
			}
		}()
	}
	wg.Wait()
}

// get returns the body of a GET of url.
func get(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	return string(body)
}
