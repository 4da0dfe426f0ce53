// Package swaprules counts what the swap programs of gocache/ and
// ristretto/ rewrote, rule by rule, and checks the counts against the ones
// their run.sh expects, so that a project that changed fails loudly.
package swaprules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Summary returns counts as "rule=n,...", in the order of rules.
func Summary(rules []string, counts map[string]int) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = fmt.Sprintf("%s=%d", r, counts[r])
	}
	return strings.Join(parts, ",")
}

// Check compares counts with spec, "rule=n,..." over rules: a rule that
// spec leaves out is expected 0 times. It returns an error naming each
// rule that applied another number of times, or the entry of spec that is
// not "rule=n" with a rule of rules.
func Check(spec string, rules []string, counts map[string]int) error {
	want := map[string]int{}
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || !slices.Contains(rules, k) {
			return fmt.Errorf("bad -expect entry %q", kv)
		}
		want[k] = n
	}
	var bad []string
	for _, r := range rules {
		if counts[r] != want[r] {
			bad = append(bad, fmt.Sprintf("%s applied %d times, want %d", r, counts[r], want[r]))
		}
	}
	if bad != nil {
		return fmt.Errorf("unexpected rewrite counts: %s", strings.Join(bad, "; "))
	}
	return nil
}
