package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sample is benchstat -format csv -col /impl output for two benchmarks and
// two units, as benchstat v0.0.0-20260908200009 writes it.
const sample = `goos: linux
goarch: amd64
pkg: github.com/shrinkmap/shrinkmap/benchmarks
cpu: AMD EPYC
,native,,shrinkmap,,,,sync.Map,,,
,sec/op,CI,sec/op,CI,vs base,P,sec/op,CI,vs base,P
Ops/workload=get/n=1k-2,1.0e-08,2%,1.1e-08,3%,+10.00%,p=0.002 n=6,3.0e-08,1%,~,p=0.310 n=6
Ops/workload=get/n=1M-2,4.0e-08,2%,4.4e-08,3%,+10.00%,p=0.002 n=6,1.2e-07,1%,+200.00%,p=0.002 n=6
geomean,2.0e-08,,2.2e-08,,+10.00%,,6.0e-08,,+200.00%,

,native,,shrinkmap,,,,sync.Map,,,
,retained-B,CI,retained-B,CI,vs base,P,retained-B,CI,vs base,P
Ops/workload=get/n=1k-2,3.0e+08,1%,4.5e+06,1%,-98.50%,p=0.002 n=6,5e+06,1%,-98.33%,p=0.002 n=6
geomean,3.0e+08,,4.5e+06,,-98.50%,,5e+06,,-98.33%,
`

func TestConvert(t *testing.T) {
	var out strings.Builder
	require.NoError(t, convert(strings.NewReader(sample), &out), "convert(sample)")
	got := out.String()
	for _, want := range []string{
		"**sec/op** (median; ratio to native)",
		"| benchmark | native | shrinkmap | sync.Map |",
		"| Ops/workload=get/n=1k-2 | 10.0ns | 11.0ns ×1.10 | 30.0ns ×3.00 ~ |",
		"| Ops/workload=get/n=1M-2 | 40.0ns | 44.0ns ×1.10 | 120ns ×3.00 |",
		"| geomean | 20.0ns | 22.0ns ×1.10 | 60.0ns ×3.00 |",
		"**retained-B** (median; ratio to native)",
		"| Ops/workload=get/n=1k-2 | 286MiB | 4.29MiB ×0.015 | 4.77MiB ×0.017 |",
	} {
		assert.Contains(t, got, want, "convert(sample) output")
	}
	assert.Equal(t, 1, strings.Count(got, "geomean"), "convert(sample): geomean rows; want the one-benchmark table's left out (output:\n%s)", got)
	assert.Equal(t, 2, strings.Count(got, "| benchmark |"), "convert(sample): tables")
}

func TestConvertRejectsEmptyInput(t *testing.T) {
	err := convert(strings.NewReader("goos: linux\n"), new(strings.Builder))
	assert.ErrorContains(t, err, "no benchstat tables", "convert(no tables)")
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{1.5, "sec/op", "1.50s"},
		{2.5e-3, "sec/op", "2.50ms"},
		{7.25e-6, "sec/op", "7.25µs"},
		{1.234e-8, "sec/op", "12.3ns"},
		{512, "B/op", "512B"},
		{3 << 20, "retained-B", "3.00MiB"},
		{1.5e6, "allocs/op", "1.50M"},
		{12345, "allocs/op", "12.3k"},
		{3, "allocs/op", "3.00"},
		{0, "p99-ns", "0ns"},
		{183358020, "max-ns", "183ms"},
		{1002, "p99.9-ns", "1.00µs"},
		{0.0251, "max-sec", "25.1ms"},
		{4521, "drain-ms", "4.52s"},
		{9.01e-07, "sec/entry", "901ns"},
		{127.8, "x-fresh", "128"},
	} {
		assert.Equal(t, c.want, format(c.v, c.unit), "format(%v, %q)", c.v, c.unit)
	}
}
