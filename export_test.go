package shrinkmap

// RaceEnabled reports whether the race detector is on, for the external
// tests: they use smaller sizes under it, since it slows every map
// operation many times.
const RaceEnabled = raceEnabled
