#!/usr/bin/env bash
# Runs Go's sync.Map tests and xsync.Map v4.5.0's map tests against
# shrinkmap.Concurrent, through the adapters in syncmap/ and xsyncmap/.
#
#   bash conformance/run.sh
#
# It copies $(go env GOROOT)/src/sync/map_test.go and map_reference_test.go
# and xsync's map_test.go (from the module cache) into a temporary
# directory, rewrites them with cmd/rewrite (imports and qualified names
# swapped for the adapters; what the adapters cannot offer removed, as
# listed below with the reason), runs every remaining test, then the
# concurrent ones again with -race. It fails if a test fails, if fewer
# tests passed than the rewritten files declare, or if the rewrite removed
# other declarations than those listed (a new version of the tests).
set -euo pipefail
cd "$(dirname "$0")"

self=github.com/shrinkmap/shrinkmap/conformance
xsync=github.com/puzpuzpuz/xsync/v4@v4.5.0

# What the rewrite removes from sync's tests: the comparison with
# internal/sync's HashTrieMap, which only the standard library may import.
sync_drop=(applyHashTrieMap TestMapMatchesHashTrieMap)
# What it removes from xsync's tests:
xsync_drop=(
	# identifiers of xsync's export_test.go (internals, not API):
	TestMap_BucketStructSize              # BucketPadded
	TestMapHashUint64_NoDifferentialBias  # HashUint64
	# MapStats figures of xsync's table layout (buckets, capacity, counter
	# stripes, growths), which a Concurrent does not keep, most with
	# export_test.go's constants too:
	TestMapStoreThenParallelDelete_DoesNotShrinkBelowMinTableLen
	assertMapCapacity TestNewMapWithPresize
	TestNewMapWithPresize_DoesNotShrinkBelowMinTableLen
	TestNewMapGrowOnly_OnlyShrinksOnClear
	TestMapResize TestMapResize_CounterLenLimit
	testParallelResize TestMapParallelResize                                   # TotalGrowths
	testParallelResizeWithSameKeys TestMapParallelResize_IntersectingKeys     # TotalGrowths
	TestMapStats
	# and the benchmarks and their helpers (Cheaprand; benchmarks are not tests).
)
# xsync's export_test.go identifiers that tests keep only as sizes or as a
# source of random numbers (TestMapParallelGrowth, TestMapDoesNotLoseEntriesOnResize):
# the shim gives them xsync v4.5.0's values, checked against its map.go.
shim='package xsync_test

import "math/rand"

const (
	EntriesPerMapBucket   = 5
	DefaultMinMapTableLen = 32
)

func Cheaprand() uint32 { return rand.Uint32() }
'
# The tests run again with -race: those with goroutines, but for xsync's
# TestMapParallelRangeRelaxed, TestMapParallelDeleteMatching and
# TestMapDeleteMatching_ConcurrentResize, which take minutes each under the
# race detector on 2 cores.
race_tests='^(TestConcurrent(Range|Clear)|TestMapLoadOrCompute_ConcurrentExistingKey|TestMapAtomicSnapshot|TestMapParallel(Shrinking|Growth|Growth_GrowOnly|Clear|Stores|StoresAndDeletes|Computes|Range)|TestMapDoesNotLoseEntriesOnResize)$'

# A directory of this module, so that the suites import the adapters; its
# leading _ keeps it out of ./... patterns.
work=$(mktemp -d "$PWD/_suite.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
mkdir "$work/sync" "$work/xsync"
go build -o "$work/rewrite" ./cmd/rewrite
goroot=$(go env GOROOT)
xsync_dir=$(go mod download -json "$xsync" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$xsync_dir" ] || { echo "run.sh: no module directory for $xsync" >&2; exit 1; }

join() { local IFS=,; echo "$*"; }

# check_removed WHAT WANTED... < removed names: fails unless the names the
# rewrite removed are exactly WANTED (benchmarks aside).
check_removed() {
	local what=$1
	shift
	local got want
	got=$(grep -v '^[Bb]enchmark' | sort)
	want=$(printf '%s\n' "$@" | sort)
	if [ "$got" != "$want" ]; then
		echo "run.sh: the rewrite of $what removed other declarations than listed:" >&2
		diff <(echo "$want") <(echo "$got") >&2 || true
		exit 1
	fi
}

for f in map_test.go map_reference_test.go; do
	"$work/rewrite" -drop-import internal/sync,internal/testenv -drop "$(join "${sync_drop[@]}")" \
		-rename sync.Map=syncmap.Map -add-import "syncmap=$self/syncmap" \
		"$goroot/src/sync/$f" "$work/sync/$f"
done | check_removed "sync's tests" "${sync_drop[@]}"
"$work/rewrite" -import "${xsync%@*}=$self/xsyncmap" -drop "$(join "${xsync_drop[@]}")" -drop-benchmarks \
	"$xsync_dir/map_test.go" "$work/xsync/map_test.go" | check_removed "xsync's tests" "${xsync_drop[@]}"

grep -qE '^\s+entriesPerMapBucket\s+= 5$' "$xsync_dir/map.go" && grep -qE '^\s+defaultMinMapTableLen\s+= 32$' "$xsync_dir/map.go" ||
	{ echo "run.sh: xsync's entriesPerMapBucket or defaultMinMapTableLen changed; update the shim" >&2; exit 1; }
echo "$shim" >"$work/xsync/shim_test.go"

# declared DIR [REGEX]: the Test functions of DIR's files, matching REGEX.
declared() {
	sed -n 's/^func \(Test[A-Za-z0-9_]*\)(t \*testing\.T).*/\1/p' "$1"/*_test.go | grep -E "${2:-.}" | sort
}

failed=0
# run NAME DIR REGEX FLAGS...: runs DIR's tests matching REGEX with FLAGS,
# lists them, and fails unless each declared one passed.
run() {
	local name=$1 dir=$2 regex=$3
	shift 3
	local out=$work/$name.out want passed
	echo "== $name: go test $* -run '$regex'"
	if ! go test -count 1 -v "$@" -run "$regex" "./$(basename "$work")/$dir" >"$out" 2>&1; then
		failed=1
	fi
	want=$(declared "$work/$dir" "$regex")
	passed=$(sed -n 's/^--- PASS: \(Test[A-Za-z0-9_]*\) .*/\1/p' "$out" | sort)
	grep -E '^(--- (PASS|FAIL|SKIP): Test|ok|FAIL|panic:)' "$out" | sed 's/^/  /'
	# The log of each failed test: the lines between its === RUN and --- FAIL.
	awk '/^=== RUN/ { log_ = "" } /^    / { log_ = log_ "  " $0 "\n" } /^--- FAIL: / { printf "%s", log_ }' "$out"
	local missing
	missing=$(comm -23 <(echo "$want") <(echo "$passed"))
	echo "  $(echo "$passed" | grep -c .) of $(echo "$want" | grep -c .) tests passed"
	if [ -n "$missing" ]; then
		echo "  not passed:" $missing
		failed=1
	fi
}

run sync sync .
run xsync xsync .
run sync-race sync "$race_tests" -race -short
run xsync-race xsync "$race_tests" -race -short
if [ "$failed" != 0 ]; then
	echo "FAIL: conformance"
	exit 1
fi
echo "ok: conformance"
