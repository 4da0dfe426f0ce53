//go:build race

package shrinkmap_test

// raceSized reports whether the race detector is on: tests that fill large
// maps then use smaller sizes, since the detector slows every map operation
// and multiplies the memory each allocation takes.
const raceSized = true
