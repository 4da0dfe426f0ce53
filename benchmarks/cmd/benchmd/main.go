// Command benchmd turns benchstat's CSV output into markdown tables that fit
// a page: one table per unit, a row per benchmark, a column per
// implementation, each cell the median and, past the first column, its
// ratio to the first column's median (the baseline), marked ~ where
// benchstat finds the difference insignificant. run.sh pipes
//
//	benchstat -format csv -col /impl results/raw/NAME.txt
//
// into it.
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

func main() {
	if err := convert(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchmd:", err)
		os.Exit(1)
	}
}

// table is one unit's block of benchstat's CSV.
type table struct {
	unit  string
	impls []string
	rows  []row
}

type row struct {
	name  string
	cells []cell
}

type cell struct {
	median  float64
	ok      bool
	same    bool // benchstat: "~", no significant difference from the baseline
	hasBase bool // the cell has a "vs base" column
}

// convert reads benchstat CSV from r and writes markdown to w.
func convert(r io.Reader, w io.Writer) error {
	tables, err := parse(r)
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return errors.New("no benchstat tables in the input")
	}
	bw := bufio.NewWriter(w)
	for i, t := range tables {
		if i > 0 {
			fmt.Fprintln(bw)
		}
		writeTable(bw, t)
	}
	return bw.Flush()
}

// parse splits benchstat's CSV into tables: each starts with a header line
// naming the columns' implementations, then a line naming the unit, then
// one line per benchmark. The CSV reader skips blank lines, so a header
// line after benchmark lines starts the next table; one-field lines
// (goos: ...) are dropped.
func parse(r io.Reader) ([]table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	var tables []table
	var cur *table
	var starts []int // the column where each implementation's cells start
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch {
		case len(rec) < 2:
			cur = nil
		case rec[0] == "" && (cur == nil || len(cur.rows) > 0):
			cur = &table{}
			starts = starts[:0]
			for i, f := range rec {
				if i > 0 && f != "" {
					cur.impls = append(cur.impls, f)
					starts = append(starts, i)
				}
			}
		case rec[0] == "" && cur.unit == "":
			cur.unit = rec[starts[0]]
			tables = append(tables, *cur)
			cur = &tables[len(tables)-1]
		case cur != nil:
			cur.rows = append(cur.rows, parseRow(rec, starts))
		}
	}
	return tables, nil
}

func parseRow(rec []string, starts []int) row {
	rw := row{name: rec[0]}
	for i, s := range starts {
		var c cell
		if s < len(rec) {
			v, err := strconv.ParseFloat(rec[s], 64)
			c.median, c.ok = v, err == nil
		}
		// Past the baseline, each implementation has median, CI, vs base, P.
		if i > 0 && s+2 < len(rec) {
			c.hasBase = true
			c.same = rec[s+2] == "~"
		}
		rw.cells = append(rw.cells, c)
	}
	return rw
}

func writeTable(w io.Writer, t table) {
	fmt.Fprintf(w, "**%s** (median; ratio to %s)\n\n", t.unit, t.impls[0])
	fmt.Fprintf(w, "| benchmark | %s |\n|---|%s\n", strings.Join(t.impls, " | "), strings.Repeat("--:|", len(t.impls)))
	for _, r := range t.rows {
		if r.name == "geomean" && len(t.rows) <= 2 {
			continue // the geomean of one benchmark is that benchmark
		}
		fmt.Fprintf(w, "| %s |", r.name)
		base := r.cells[0]
		for i, c := range r.cells {
			switch {
			case !c.ok:
				fmt.Fprint(w, " — |")
			case i == 0 || !base.ok || base.median == 0:
				fmt.Fprintf(w, " %s |", format(c.median, t.unit))
			default:
				mark := ""
				if c.same {
					mark = " ~"
				}
				fmt.Fprintf(w, " %s %s%s |", format(c.median, t.unit), ratio(c.median/base.median), mark)
			}
		}
		fmt.Fprintln(w)
	}
}

// ratio writes r with no decimals from 10 up, two from 0.1 and three below.
func ratio(r float64) string {
	switch {
	case r >= 10:
		return fmt.Sprintf("×%.0f", r)
	case r >= 0.1:
		return fmt.Sprintf("×%.2f", r)
	}
	return fmt.Sprintf("×%.3f", r)
}

// format writes v in unit with a readable scale: times (sec/..., and
// custom units in s, ns or ms such as p99-sec, which benchstat makes of
// p99-ns, and drain-ms) in ns to s, bytes in B to GiB, counts with k and M.
func format(v float64, unit string) string {
	switch {
	case strings.HasSuffix(unit, "-ns"):
		return format(v/1e9, "sec/op")
	case strings.HasSuffix(unit, "-ms"):
		return format(v/1e3, "sec/op")
	case strings.HasPrefix(unit, "sec/") || strings.HasSuffix(unit, "-sec"):
		for _, s := range []struct {
			div  float64
			name string
		}{{1, "s"}, {1e-3, "ms"}, {1e-6, "µs"}} {
			if math.Abs(v) >= s.div {
				return num(v/s.div) + s.name
			}
		}
		return num(v*1e9) + "ns"
	case unit == "B/op" || strings.HasSuffix(unit, "-B"):
		for _, s := range []struct {
			div  float64
			name string
		}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
			if math.Abs(v) >= s.div {
				return num(v/s.div) + s.name
			}
		}
		return num(v) + "B"
	case unit == "allocs/op" && math.Abs(v) >= 1e6:
		return num(v/1e6) + "M"
	case unit == "allocs/op" && math.Abs(v) >= 1e4:
		return num(v/1e3) + "k"
	}
	return num(v)
}

// num writes v with three significant digits, without exponents.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
