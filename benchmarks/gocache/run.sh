#!/usr/bin/env bash
# Swaps go-cache's items map for a ShrinkMap at run time and measures both.
#
# Takes github.com/patrickmn/go-cache v2.1.0+incompatible from the Go module
# proxy (go mod download) and copies it twice into a temporary directory:
# orig/ unchanged, swapped/ rewritten by ./swap (go/ast: cache.items becomes a
# *shrinkmap.ShrinkMap[string, Item], one line per use). Both get a go.mod
# and our testdata/zz_bursts_test.go. Nothing of go-cache is kept in this
# repository: only the figures, in out/.
#
#   bash benchmarks/gocache/run.sh          # suites, then benchmarks -count 6 (about 4 minutes)
#   bash benchmarks/gocache/run.sh quick    # swapped suite with -race, and the bursts, once
#   COUNT=1 bash benchmarks/gocache/run.sh  # a quick look at every benchmark
#
# Environment:
#   SHRINKMAP_DIR  the shrinkmap repository to swap in (default: the one
#                  holding this script)
#   SHRINKMAP_COMMIT  the label for it in the outputs (default: its git HEAD)
#   COUNT          -count for the benchmarks (default 6)
#   KEEP=1         keep the temporary directory (its path is printed)
#
# Writes to out/ (out/quick/ in quick mode): orig.txt and swapped.txt (raw
# benchmark output), benchstat.txt, summary.md (medians and their ratio),
# suite-*.txt (test suite output), swap.txt (what ./swap rewrote) and
# library.txt (the library's commit and go line).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BENCH_MODULE=$(dirname "$HERE")
# shellcheck source=SCRIPTDIR/../swapsummary.sh
source "$BENCH_MODULE/swapsummary.sh"
SHRINKMAP_DIR=$(cd "${SHRINKMAP_DIR:-$HERE/../..}" && pwd)
MODE=${1:-full}
COUNT=${COUNT:-6}
GOCACHE_MODULE=github.com/patrickmn/go-cache
GOCACHE_VERSION=v2.1.0+incompatible
BENCHSTAT=(go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da)

# How often each rule of ./swap applies to cache.go, sharded.go and
# cache_test.go of v2.1.0 (see swap/main.go): 80 uses in cache.go and
# sharded.go, and one in cache_test.go (copy: Save's &c.items and the test's
# tc.items["e"]).
SWAP_EXPECT=field=1,set=33,get=35,delete=2,range=3,len=2,new=2,from=1,copy=2

# The benchmarks: go-cache's own SetDelete ones (BenchmarkRWMutexMap* use a
# plain map, the same in both copies: a control), its DeleteExpiredLoop
# (100,000 entries, none expired), and ours, DeleteExpired1M99 and
# Bursts3x1M.
BENCH_OWN='^Benchmark(CacheSetDelete|CacheSetDeleteSingleLock|RWMutexMapSetDelete|RWMutexMapSetDeleteSingleLock|DeleteExpiredLoop)$'
BENCH_DELETE='^BenchmarkDeleteExpired1M99$'
BENCH_BURSTS='^BenchmarkBursts3x1M$'

case $MODE in
full) OUT=$HERE/out ;;
quick) OUT=$HERE/out/quick ;;
*)
	echo "usage: $0 [full|quick]" >&2
	exit 2
	;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gocache-swap.XXXXXX")
if [ -n "${KEEP:-}" ]; then
	echo "keeping $WORK" >&2
else
	trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$OUT"
rm -f "$OUT"/*.txt "$OUT"/*.md

log() { echo "== $*" >&2; }

# --- the library --------------------------------------------------------
lib_go=$(go mod edit -json "$SHRINKMAP_DIR/go.mod" | sed -n 's/^[[:space:]]*"Go": "\(.*\)",*$/\1/p')
lib_commit=${SHRINKMAP_COMMIT:-$(git -C "$SHRINKMAP_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)}
# Uncommitted changes to the library itself: its top-level .go files and go.mod.
lib_dirty=$(git -C "$SHRINKMAP_DIR" status --porcelain -- ':(glob)*.go' go.mod 2>/dev/null | grep -c . || true)
# Both copies get the same go line, so that the same GODEBUG defaults apply:
# go 1.24, or the library's if that is newer (the swapped copy needs it).
go_line=$(printf '%s\n' 1.24 "$lib_go" | sort -V | tail -n1)
{
	echo "library: $SHRINKMAP_DIR at $lib_commit ($lib_dirty uncommitted .go/go.mod changes)"
	echo "go-cache: $GOCACHE_MODULE@$GOCACHE_VERSION"
	echo "go line of both copies: $go_line; toolchain: $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH), $(nproc) CPUs"
} | tee "$OUT/library.txt" >&2

# --- the two copies -----------------------------------------------------
log "go mod download $GOCACHE_MODULE@$GOCACHE_VERSION"
src=$(cd "$WORK" && go mod download -json "$GOCACHE_MODULE@$GOCACHE_VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -d "$src" ] || {
	echo "go mod download gave no directory for $GOCACHE_MODULE@$GOCACHE_VERSION" >&2
	exit 1
}

for copy in orig swapped; do
	mkdir "$WORK/$copy"
	cp -R "$src"/. "$WORK/$copy"/
	chmod -R u+w "$WORK/$copy"
	printf 'module %s\n\ngo %s\n' "$GOCACHE_MODULE" "$go_line" >"$WORK/$copy/go.mod"
	cp "$HERE/testdata/zz_bursts_test.go" "$WORK/$copy/zz_bursts_test.go"
done
cp "$HERE/testdata/zz_items_test.go" "$WORK/swapped/zz_items_test.go"

log "swap: rewriting swapped/cache.go, sharded.go, cache_test.go"
(cd "$BENCH_MODULE" && go build -o "$WORK/swap" ./gocache/swap)
(cd "$WORK/swapped" && "$WORK/swap" -expect "$SWAP_EXPECT" cache.go sharded.go cache_test.go) | tee "$OUT/swap.txt" >&2
# Every rewrite keeps its line: the diff is one changed line per use (and
# the "}" that becomes "})" after the two multi-line Sets), plus the added
# imports. (The diff itself is go-cache's code: it stays in $WORK.)
(cd "$WORK" && diff -r orig swapped >swap.diff || true)
changed=$(grep -c '^<' "$WORK/swap.diff" || true)
added=$(($(grep -c '^>' "$WORK/swap.diff" || true) - changed))
echo "diff: $changed lines changed, $added import lines added (the diff: $WORK/swap.diff, kept with KEEP=1)" | tee -a "$OUT/swap.txt" >&2

(
	cd "$WORK/swapped"
	go mod edit -require=github.com/shrinkmap/shrinkmap@v0.0.0 -replace="github.com/shrinkmap/shrinkmap=$SHRINKMAP_DIR"
	go mod tidy
)
if [ "$(go mod edit -json "$WORK/swapped/go.mod" | sed -n 's/^[[:space:]]*"Go": "\(.*\)",*$/\1/p')" != "$go_line" ]; then
	echo "go mod tidy changed the swapped copy's go line; both copies must share it" >&2
	exit 1
fi

# --- the suites ---------------------------------------------------------
# suite NAME COPY FLAGS...: go test FLAGS ./... in COPY, output in
# suite-NAME.txt; returns go test's status.
suite() {
	local name=$1 copy=$2
	shift 2
	log "suite $name: go test $* ./... in $copy/"
	local rc=0
	(cd "$WORK/$copy" && go test "$@" ./...) >"$OUT/suite-$name.txt" 2>&1 || rc=$?
	tail -n 3 "$OUT/suite-$name.txt" >&2
	return $rc
}
status=0
if [ "$MODE" = full ]; then
	suite orig orig -count=1 || status=1
	suite swapped swapped -count=1 || status=1
fi
suite swapped-race swapped -race -count=1 || status=1

# --- the benchmarks -----------------------------------------------------
for copy in orig swapped; do
	log "go test -c in $copy/"
	(cd "$WORK/$copy" && go test -c -o "$WORK/$copy.test" .)
done

# bench FLAGS...: runs both copies' test binaries with FLAGS, alternating,
# so that a change in the machine's load hits both alike.
bench() {
	for copy in orig swapped; do
		(cd "$WORK/$copy" && "$WORK/$copy.test" -test.run '^$' -test.benchmem "$@") >>"$OUT/$copy.txt"
	done
}
if [ "$MODE" = full ]; then
	for ((i = 1; i <= COUNT; i++)); do
		log "benchmarks, round $i of $COUNT"
		bench -test.bench "$BENCH_OWN"
		bench -test.bench "$BENCH_DELETE" -test.benchtime 3x
		bench -test.bench "$BENCH_BURSTS" -test.benchtime 1x -test.v
	done
else
	log "bursts"
	bench -test.bench "$BENCH_BURSTS" -test.benchtime 1x -test.v
fi

# --- the results --------------------------------------------------------
for copy in orig swapped; do
	{ grep -h 'BURSTS\|items after\|bursts took' "$OUT/$copy.txt" || true; } | sed "s/^[[:space:]]*/$copy: /"
done >"$OUT/bursts.txt"
(cd "$OUT" && "${BENCHSTAT[@]}" orig=orig.txt swapped=swapped.txt) >"$OUT/benchstat.txt"

# summary.md: see swapsummary.sh.
write_summary "$OUT" "$WORK"

echo >&2
cat "$OUT/summary.md" >&2
echo >&2
cat "$OUT/bursts.txt" >&2
if [ $status -ne 0 ]; then
	echo "FAIL: a test suite failed; see $OUT/suite-*.txt" >&2
	exit 1
fi
echo "ok: outputs in $OUT" >&2
