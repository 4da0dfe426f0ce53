//go:build race

package shrinkmap

// raceEnabled reports whether the race detector is on: the model, fuzz and
// leak tests then run shorter sequences, since the detector slows every map
// operation several times over.
const raceEnabled = true
