package shrinkmap

import "testing"

// implNamed is a ShrinkMap made WithName, in the benchmarks that take it.
const implNamed = "named"

// optionsOf returns the options that make a ShrinkMap of impl.
func optionsOf(impl string) []Option {
	if impl == implNamed {
		return []Option{WithName("bench-named")}
	}
	return nil
}

// BenchmarkNamed measures what a name costs a ShrinkMap's writes: the
// loops of BenchmarkChurn and BenchmarkDelete on an unnamed map and on a
// named one, which publishes its figures for ReadMetrics at its policy
// checks and compactions.
func BenchmarkNamed(b *testing.B) {
	impls := []string{implShrink, implNamed}
	runImpls(b, impls, "op=churn/key=int/live=64k", func(b *testing.B, impl string) {
		benchChurn(b, impl, intKeys(4*churnLive))
	})
	runImpls(b, impls, "op=delete/key=int/n=64k", func(b *testing.B, impl string) {
		benchWrite[int](true)(b, impl, intKeys(churnLive))
	})
}
