package burst

import (
	"bufio"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/shrinkmap/shrinkmap/benchmarks/peers"
)

// Machine describes this machine in one line: Go version, GOOS/GOARCH,
// CPU count and model.
func Machine() string {
	return fmt.Sprintf("%s %s/%s, %d CPUs (GOMAXPROCS %d), %s",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), cpuModel())
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU model"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, model, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(model)
		}
	}
	return "unknown CPU model"
}

// WriteTable writes rep as a markdown section: the command that made it,
// the machine, the scenario and one row per peer.
func WriteTable(w io.Writer, rep Report, command string) error {
	cfg := rep.Config
	where := "each peer in a fresh child process"
	if !rep.Isolated {
		where = "the peers one after another in one process, with runtime.GC between them"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Traffic burst: heap over time\n\n")
	fmt.Fprintf(&b, "Command (inside `benchmarks/`): `%s`  \nMachine: %s\n\n", command, Machine())
	fmt.Fprintf(&b, "Scenario: a session table (`int` keys, `[128]byte` values) bursts to %s sessions, "+
		"drains to %s (every %s key stays), idles for %v touching the survivors (256 reads and ~26 rewrites a millisecond), "+
		"bursts again by %s new sessions and drains them again. ",
		count(cfg.Sessions), count(cfg.Live()), ordinal(cfg.stride()), cfg.Idle, count(cfg.Sessions))
	fmt.Fprintf(&b, "The heap is `%s`, sampled every %v for the chart; "+
		"the columns below are read after a `runtime.GC()` at the end of each step, less the heap before the map was made, "+
		"*peak* is the largest sample less that (so it includes garbage the GC had not yet collected: it depends on GC pacing), "+
		"and *peak live* the largest `%s` (the heap the last GC found live) less that. Runs: %s. ", heapMetric, cfg.Interval, liveMetric, where)
	fmt.Fprintf(&b, "*x fresh* divides by the heap of a fresh native map made for the %s live sessions and holding them: %.2f MiB. "+
		"*work* is the time in the map operations of both bursts and drains.\n\n", count(cfg.Live()), mib(rep.Fresh))
	b.WriteString("| map | peak MiB | peak live MiB | after drain MiB | x fresh | after 2nd burst MiB | after 2nd drain MiB | x fresh | work s |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "| %s | %.1f | %.1f | %.2f | %.2f | %.1f | %.2f | %.2f | %.2f |\n",
			r.Peer, mib(r.Peak), mib(r.PeakLive), mib(r.AfterDrain), ratio(r.AfterDrain, rep.Fresh),
			mib(r.AfterBurst2), mib(r.AfterDrain2), ratio(r.AfterDrain2, rep.Fresh), r.Work.Seconds())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// count writes n with thousands separators.
func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func ordinal(n int) string {
	switch {
	case n == 1:
		return "single"
	case n%10 == 2 && n%100 != 12:
		return fmt.Sprintf("%dnd", n)
	case n%10 == 3 && n%100 != 13:
		return fmt.Sprintf("%drd", n)
	case n%10 == 1 && n%100 != 11:
		return fmt.Sprintf("%dst", n)
	}
	return fmt.Sprintf("%dth", n)
}

// WriteChart draws the heap samples of rep, one line per peer, into each
// of paths; the extension of each (.png, .svg, .pdf) picks its format.
//
// The x axis is the scenario's steps, not seconds: each step of each peer's
// run is stretched over the same width, so that the lines line up step by
// step although the peers run at different speeds (the table has times).
func WriteChart(rep Report, paths ...string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Heap while a session table bursts to %s entries ([128]byte values) twice, draining to %s after each",
		count(rep.Config.Sessions), count(rep.Config.Live()))
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.Text = "scenario step (each stretched to the same width; the heap is read after a runtime.GC at the end of drain, burst 2 and drain 2)"
	p.Y.Label.Text = "heap objects, MiB"
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(10)
	p.Legend.TextStyle.Font.Size = vg.Points(11)
	p.Legend.ThumbnailWidth = vg.Points(30)
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil // the step boundaries below replace it
	p.Add(grid)
	steps := []string{"burst", "drain", "idle", "burst 2", "drain 2"}
	var ticks []plot.Tick
	for i, name := range steps {
		ticks = append(ticks, plot.Tick{Value: float64(i) + 0.5, Label: name})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = 0, float64(len(steps))
	top := 0.0
	var lines, onTop []plot.Plotter
	for i, r := range rep.Results {
		pts := make(plotter.XYs, 0, len(r.Samples))
		for _, s := range r.Samples {
			x, ok := stepX(r.Phases, s.T)
			if ok {
				pts = append(pts, plotter.XY{X: x, Y: mib(s.Heap)})
				top = max(top, mib(s.Heap))
			}
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("burst: chart line for %s: %w", r.Peer, err)
		}
		line.Color = lineColor(i)
		line.Width = vg.Points(1.5)
		switch r.Peer {
		case peers.Native, peers.ShrinkDefault:
			// The baseline and the subject, drawn thick and last (on top).
			line.Width = vg.Points(3)
			onTop = append(onTop, line)
		case peers.ShrinkNever, peers.RWMutexMap:
			// They trace the native line: dashed, so that it shows.
			line.Dashes = []vg.Length{vg.Points(6), vg.Points(5)}
			fallthrough
		default:
			lines = append(lines, line)
		}
		p.Legend.Add(fmt.Sprintf("%s: %.1f MiB after drain, %.1f after drain 2", r.Peer, mib(r.AfterDrain), mib(r.AfterDrain2)), line)
	}
	// Room above the lines for the legend.
	p.Y.Min, p.Y.Max = 0, top*(1.08+0.04*float64(len(rep.Results)))
	for i := 1; i < len(steps); i++ {
		edge, err := plotter.NewLine(plotter.XYs{{X: float64(i), Y: 0}, {X: float64(i), Y: p.Y.Max}})
		if err != nil {
			return err
		}
		edge.Color = color.Gray{Y: 0xb0}
		edge.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(edge)
	}
	p.Y.Tick.Marker = mibTicks(p.Y.Max)
	p.Add(lines...)
	p.Add(onTop...)
	for _, path := range paths {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := p.Save(13*vg.Inch, 7*vg.Inch, path); err != nil {
			return fmt.Errorf("burst: saving chart %s: %w", path, err)
		}
	}
	return nil
}

// mibTicks marks the y axis every 50 or 100 MiB, or a tenth of top on a
// small chart.
func mibTicks(top float64) plot.Ticker {
	every := 100.0
	switch {
	case top < 50:
		every = max(top/10, 0.1)
	case top < 500:
		every = 50
	}
	var ticks []plot.Tick
	for y := 0.0; y <= top; y += every {
		ticks = append(ticks, plot.Tick{Value: y, Label: fmt.Sprintf("%.3g", y)})
	}
	return plot.ConstantTicks(ticks)
}

// stepX places time t of a run on the chart's x axis: step i spans [i, i+1).
func stepX(phases []Phase, t time.Duration) (float64, bool) {
	var begin time.Duration
	for i, ph := range phases {
		if t <= ph.End {
			if ph.End <= begin {
				return float64(i), true
			}
			return float64(i) + float64(t-begin)/float64(ph.End-begin), true
		}
		begin = ph.End
	}
	return 0, false
}

// palette holds colours far enough apart to tell ten lines apart.
var palette = []color.RGBA{
	{0xd6, 0x27, 0x28, 0xff}, // red
	{0x1f, 0x77, 0xb4, 0xff}, // blue
	{0x2c, 0xa0, 0x2c, 0xff}, // green
	{0xff, 0x7f, 0x0e, 0xff}, // orange
	{0x94, 0x67, 0xbd, 0xff}, // purple
	{0x8c, 0x56, 0x4b, 0xff}, // brown
	{0xe3, 0x77, 0xc2, 0xff}, // pink
	{0x17, 0xbe, 0xcf, 0xff}, // cyan
	{0x00, 0x00, 0x00, 0xff}, // black
	{0xbc, 0xbd, 0x22, 0xff}, // olive
}

func lineColor(i int) color.Color { return palette[i%len(palette)] }

// WriteAll writes rep's chart (burst.png, burst.svg) and table (burst.md)
// into dir, and returns the paths written.
func WriteAll(rep Report, dir, command string) ([]string, error) {
	png, svg, md := filepath.Join(dir, "burst.png"), filepath.Join(dir, "burst.svg"), filepath.Join(dir, "burst.md")
	if err := WriteChart(rep, png, svg); err != nil {
		return nil, err
	}
	f, err := os.Create(md)
	if err != nil {
		return nil, err
	}
	if err := WriteTable(f, rep, command); err != nil {
		f.Close()
		return nil, err
	}
	fmt.Fprintf(f, "\n![heap over time](burst.svg)\n\nGenerated %s.\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	return []string{png, svg, md}, f.Close()
}
