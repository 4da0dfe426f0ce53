#!/usr/bin/env bash
# Swaps ristretto's store shards for shrinkmap.Concurrent maps at run time
# and measures both.
#
# Takes github.com/dgraph-io/ristretto/v2 v2.4.2 from the Go module proxy
# (go mod download) and copies it twice into a temporary directory: orig/
# unchanged, swapped/ with ./swap taking lockedMap (a sync.RWMutex and a
# map[uint64]storeItem[V]) and shardedMap.IterValues out of store.go and
# testdata/store_shrinkmap.go, our lockedMap on a
# shrinkmap.Concurrent[uint64, storeItem[V]], put in their place. Both get
# our testdata/zz_bursts_test.go. Nothing of ristretto is kept in this
# repository: only the figures, in out/.
#
#   bash benchmarks/ristretto/run.sh          # suites, then benchmarks -count 6 (about 15 minutes)
#   bash benchmarks/ristretto/run.sh quick    # swapped suite with -race, and the bursts, once
#   COUNT=1 bash benchmarks/ristretto/run.sh  # a quick look at every benchmark
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
# bursts.txt (the bursts' log lines), suite-*.txt (test suite output, -v),
# suites.txt (tests passed, failed and skipped in each suite, and any test
# that passes on orig but not on swapped), swap.txt (what ./swap did) and
# library.txt (the library's commit and go line).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BENCH_MODULE=$(dirname "$HERE")
# shellcheck source=SCRIPTDIR/../swapsummary.sh
source "$BENCH_MODULE/swapsummary.sh"
SHRINKMAP_DIR=$(cd "${SHRINKMAP_DIR:-$HERE/../..}" && pwd)
MODE=${1:-full}
COUNT=${COUNT:-6}
RISTRETTO_MODULE=github.com/dgraph-io/ristretto/v2
RISTRETTO_VERSION=v2.4.2
BENCHSTAT=(go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da)

# How often each rule of ./swap applies to v2.4.2 (see swap/main.go): it
# removes 10 declarations from store.go (lockedMap, newLockedMap, lockedMap's
# 7 methods, shardedMap.IterValues) and its "sync" import, and rewrites
# TestStoreCollision's Lock, Unlock and direct write into a shard's map.
SWAP_EXPECT=remove=10,import=1,lock=2,data=1

# The benchmarks: ristretto's own store benchmarks (one key, from
# GOMAXPROCS goroutines), its sketch benchmarks (code the swap does not
# touch: a control), and ours, CacheGet100k and CacheUpdate100k (random
# keys of 100,000, through the Cache), TTLBursts3x1M and DelBursts3x1M.
BENCH_SPEED='^Benchmark(StoreGet|StoreSet|StoreUpdate|SketchIncrement|SketchEstimate|CacheGet100k|CacheUpdate100k)$'
BENCH_BURSTS='^Benchmark(TTLBursts3x1M|DelBursts3x1M)$'

case $MODE in
full) OUT=$HERE/out ;;
quick) OUT=$HERE/out/quick ;;
*)
	echo "usage: $0 [full|quick]" >&2
	exit 2
	;;
esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ristretto-swap.XXXXXX")
if [ -n "${KEEP:-}" ]; then
	echo "keeping $WORK" >&2
else
	trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$OUT"
rm -f "$OUT"/*.txt "$OUT"/*.md

log() { echo "== $*" >&2; }

# goline GOMOD: the go line of GOMOD.
goline() { go mod edit -json "$1" | sed -n 's/^[[:space:]]*"Go": "\(.*\)",*$/\1/p'; }

# --- ristretto ----------------------------------------------------------
log "go mod download $RISTRETTO_MODULE@$RISTRETTO_VERSION"
src=$(cd "$WORK" && go mod download -json "$RISTRETTO_MODULE@$RISTRETTO_VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
[ -d "$src" ] || {
	echo "go mod download gave no directory for $RISTRETTO_MODULE@$RISTRETTO_VERSION" >&2
	exit 1
}

# --- the library --------------------------------------------------------
lib_go=$(goline "$SHRINKMAP_DIR/go.mod")
ristretto_go=$(goline "$src/go.mod")
lib_commit=${SHRINKMAP_COMMIT:-$(git -C "$SHRINKMAP_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)}
# Uncommitted changes to the library: its top-level .go files, go.mod, and
# internal/.
lib_dirty=$(git -C "$SHRINKMAP_DIR" status --porcelain -- ':(glob)*.go' go.mod internal 2>/dev/null | grep -c . || true)
# Both copies get the same go line, so that the same GODEBUG defaults apply:
# ristretto's, or the library's if that is newer (the swapped copy needs it).
go_line=$(printf '%s\n' "$ristretto_go" "$lib_go" | sort -V | tail -n1)
toolchain=$(go env GOVERSION)
if [ "$(printf '%s\n' "$go_line" "${toolchain#go}" | sort -V | tail -n1)" != "${toolchain#go}" ]; then
	echo "the copies need go $go_line, newer than the toolchain, $toolchain" >&2
	exit 1
fi
{
	echo "library: $SHRINKMAP_DIR at $lib_commit ($lib_dirty uncommitted .go/go.mod/internal changes)"
	echo "ristretto: $RISTRETTO_MODULE@$RISTRETTO_VERSION (go line $ristretto_go)"
	echo "go line of both copies: $go_line; toolchain: $toolchain $(go env GOOS)/$(go env GOARCH), $(nproc) CPUs"
} | tee "$OUT/library.txt" >&2

# --- the two copies -----------------------------------------------------
for copy in orig swapped; do
	mkdir "$WORK/$copy"
	cp -R "$src"/. "$WORK/$copy"/
	chmod -R u+w "$WORK/$copy"
	(cd "$WORK/$copy" && go mod edit -go="$go_line")
	cp "$HERE/testdata/zz_bursts_test.go" "$WORK/$copy/zz_bursts_test.go"
done

log "swap: taking lockedMap out of swapped/store.go, rewriting its tests' uses"
(cd "$BENCH_MODULE" && go build -o "$WORK/swap" ./ristretto/swap)
"$WORK/swap" -expect "$SWAP_EXPECT" "$WORK/swapped" | tee "$OUT/swap.txt" >&2
cp "$HERE/testdata/store_shrinkmap.go" "$WORK/swapped/store_shrinkmap.go"
cp "$HERE/testdata/zz_store_stats_test.go" "$WORK/swapped/zz_store_stats_test.go"

(
	cd "$WORK/swapped"
	go mod edit -require=github.com/shrinkmap/shrinkmap@v0.0.0 -replace="github.com/shrinkmap/shrinkmap=$SHRINKMAP_DIR"
	go mod tidy
)
if [ "$(goline "$WORK/swapped/go.mod")" != "$go_line" ]; then
	echo "go mod tidy changed the swapped copy's go line; both copies must share it" >&2
	exit 1
fi
# What changed in ristretto's own files (the diff itself is ristretto's
# code: it stays in $WORK).
(cd "$WORK" && { diff -r -x go.mod -x go.sum -x 'zz_*' -x store_shrinkmap.go orig swapped >swap.diff || true; })
for f in store.go store_test.go; do
	removed=$(diff "$WORK/orig/$f" "$WORK/swapped/$f" | grep -c '^<' || true)
	added=$(diff "$WORK/orig/$f" "$WORK/swapped/$f" | grep -c '^>' || true)
	echo "$f: $removed lines removed, $added added"
done | tee -a "$OUT/swap.txt" >&2
others=$(grep -c '^diff ' "$WORK/swap.diff" || true)
echo "files of ristretto changed: $others (the diff: $WORK/swap.diff, kept with KEEP=1); added: store_shrinkmap.go" | tee -a "$OUT/swap.txt" >&2

# --- the suites ---------------------------------------------------------
# suite NAME COPY FLAGS... -- PACKAGES...: go test -v FLAGS PACKAGES in
# COPY, output in suite-NAME.txt; returns go test's status.
suite() {
	local name=$1 copy=$2
	shift 2
	log "suite $name: go test -v $* in $copy/"
	local rc=0
	(cd "$WORK/$copy" && go test -v "$@") >"$OUT/suite-$name.txt" 2>&1 || rc=$?
	grep -E '^(ok|FAIL)[[:space:]]|^[[:space:]]*--- FAIL' "$OUT/suite-$name.txt" | tail -n 20 >&2 || true
	return $rc
}

# results NAME: one line per test (subtests too) of suite-NAME.txt,
# "STATUS package.Test", from go test -v's "--- PASS: Test" lines, which
# the package's "ok" or "FAIL" line follows.
results() {
	awk '
		/^[[:space:]]*--- (PASS|FAIL|SKIP): / { st = $2; sub(/:$/, "", st); buf[++n] = st " " $3; next }
		/^(ok|FAIL)[[:space:]]+[^[:space:]]+\// { for (i = 1; i <= n; i++) { split(buf[i], p, " "); print p[1] " " $2 "." p[2] }; n = 0 }
	' "$OUT/suite-$1.txt" | sort -u
}

status=0
if [ "$MODE" = full ]; then
	suite orig orig -count=1 ./... || status=1
	suite swapped swapped -count=1 ./... || status=1
fi
suite swapped-race swapped -race -count=1 . || status=1

{
	for name in orig swapped swapped-race; do
		[ -f "$OUT/suite-$name.txt" ] || continue
		results "$name" >"$WORK/$name.results"
		printf '%s: %d passed, %d failed, %d skipped (tests and subtests)\n' "$name" \
			"$(grep -c '^PASS ' "$WORK/$name.results" || true)" \
			"$(grep -c '^FAIL ' "$WORK/$name.results" || true)" \
			"$(grep -c '^SKIP ' "$WORK/$name.results" || true)"
	done
	if [ "$MODE" = full ]; then
		sed -n 's/^PASS //p' "$WORK/orig.results" | sort >"$WORK/orig.pass"
		sed -n 's/^PASS //p' "$WORK/swapped.results" | sort >"$WORK/swapped.pass"
		comm -23 "$WORK/orig.pass" "$WORK/swapped.pass" >"$WORK/lost"
		if [ -s "$WORK/lost" ]; then
			echo "passed on orig but not on swapped:"
			sed 's/^/  /' "$WORK/lost"
		else
			echo "every test that passed on orig passed on swapped"
		fi
		echo "only in swapped (ours):"
		comm -13 "$WORK/orig.pass" "$WORK/swapped.pass" | sed 's/^/  /'
	fi
} | tee "$OUT/suites.txt" >&2
if grep -q '^passed on orig but not on swapped' "$OUT/suites.txt"; then
	status=1
fi

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
		bench -test.bench "$BENCH_SPEED"
		bench -test.bench "$BENCH_BURSTS" -test.benchtime 1x -test.v
	done
else
	log "bursts"
	bench -test.bench "$BENCH_BURSTS" -test.benchtime 1x -test.v
fi

# --- the results --------------------------------------------------------
for copy in orig swapped; do
	awk -v copy="$copy" '
		/^Benchmark[^[:space:]]*$/ { name = $1; sub(/^Benchmark/, "", name) }
		/BURSTS|store after|bursts took/ { line = $0; sub(/^[[:space:]]*/, "", line); print copy ": " name ": " line }
	' "$OUT/$copy.txt"
done >"$OUT/bursts.txt"
(cd "$OUT" && "${BENCHSTAT[@]}" orig=orig.txt swapped=swapped.txt) >"$OUT/benchstat.txt"

# summary.md: see swapsummary.sh.
write_summary "$OUT" "$WORK"

echo >&2
cat "$OUT/summary.md" >&2
echo >&2
cat "$OUT/bursts.txt" >&2
if [ $status -ne 0 ]; then
	echo "FAIL: a test suite failed, or a test that passes on orig does not on swapped; see $OUT/suites.txt and $OUT/suite-*.txt" >&2
	exit 1
fi
echo "ok: outputs in $OUT" >&2
