#!/usr/bin/env bash
# Regenerates benchmarks/results: the traffic-burst chart and table
# (burst.png, burst.svg, burst.md) and one benchstat table per benchmark
# group (ops.md, churn.md, spike.md, drain-latency.md, retained.md,
# many-maps.md, memory-limit.md, concurrent.md, concurrent-latency.md,
# concurrent-caches.md, concurrent-locked.md, bytes-per-entry.md), with the raw benchmark
# output in results/raw/.
#
#   bash benchmarks/run.sh            # everything, 6 rounds (about an hour on 2 busy cores)
#   COUNT=1 bash benchmarks/run.sh    # a quick look: one round
#   bash benchmarks/run.sh burst ops  # only the named parts
#   RENDER_ONLY=1 bash benchmarks/run.sh ops  # rewrite results/ops.md from results/raw/ops.txt
#
# Parts: burst ops churn spike drain-latency retained many-maps memory-limit
# concurrent concurrent-latency concurrent-caches concurrent-locked
# bytes-per-entry.
set -euo pipefail
cd "$(dirname "$0")"

COUNT=${COUNT:-6}
BENCHSTAT=(go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da)
OUT=results
mkdir -p "$OUT/raw"

machine() {
	printf '%s %s/%s, %s CPUs, %s' "$(go env GOVERSION)" "$(go env GOOS)" "$(go env GOARCH)" "$(nproc)" \
		"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || echo 'unknown CPU model')"
}

# shellwords ARGS...: ARGS as one line to paste into a shell, each argument
# with characters outside [A-Za-z0-9_./,=:-] in single quotes.
shellwords() {
	local out=() a
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./,=:@-]+$ ]]; then
			out+=("$a")
		else
			out+=("'${a//\'/\'\\\'\'}'")
		fi
	done
	echo "${out[*]}"
}

# bench NAME TITLE BASELINE FLAGS...: runs go test -bench with FLAGS and
# -count 1, COUNT times over (rounds: every peer of a cell runs once in each
# round, so that a change in the shared machine's speed falls on all peers
# alike), keeps the raw output in results/raw/NAME.txt and benchstat's full
# text table in results/raw/NAME.benchstat.txt, and writes results/NAME.md:
# the command, the machine, and benchstat's medians as markdown tables,
# peers as columns, each with its ratio to BASELINE, the first column.
bench() {
	local name=$1 title=$2 baseline=$3
	shift 3
	local raw=$OUT/raw/$name.txt count=$COUNT
	if [ -n "${RENDER_ONLY:-}" ]; then
		# The rounds the raw output was made with: how often its first benchmark ran.
		count=$(awk '/^Benchmark/ { n[$1]++; if (!first) first = $1 } END { print n[first] }' "$raw")
	fi
	local cmd=(go test -run '^$' -benchmem -count 1 "$@" .)
	if [ -z "${RENDER_ONLY:-}" ]; then
		echo "== $name: $count rounds of $(shellwords "${cmd[@]}")" >&2
		: >"$raw"
		for ((round = 1; round <= count; round++)); do
			"${cmd[@]}" | tee -a "$raw" >&2
		done
	fi
	"${BENCHSTAT[@]}" -col /impl "$OUT/raw/$name.txt" >"$OUT/raw/$name.benchstat.txt"
	{
		echo "# $title"
		echo
		echo "Command (inside \`benchmarks/\`): $count rounds of \`$(shellwords "${cmd[@]}")\`"
		echo "(each round runs every peer once), then"
		echo "\`${BENCHSTAT[*]} -col /impl results/raw/$name.txt\`"
		echo "(full output with confidence intervals: [raw/$name.benchstat.txt](raw/$name.benchstat.txt))  "
		echo "Machine: $(machine)  "
		echo "Generated $(date -u -r "$raw" '+%Y-%m-%d %H:%M UTC'), $count rounds. The machine is shared with other jobs: compare the"
		echo "peers by their ratio to the first column ($baseline), measured in the same run, not across runs."
		echo "A ratio marked ~ is not significant at p < 0.05."
		echo
		"${BENCHSTAT[@]}" -format csv -col /impl "$OUT/raw/$name.txt" 2>/dev/null | go run ./cmd/benchmd
	} >"$OUT/$name.md"
}

parts=("$@")
if [ ${#parts[@]} -eq 0 ]; then
	parts=(burst ops churn spike drain-latency retained many-maps memory-limit concurrent concurrent-latency concurrent-caches concurrent-locked bytes-per-entry)
fi
for part in "${parts[@]}"; do
	case $part in
	burst) [ -n "${RENDER_ONLY:-}" ] || go run ./cmd/burst -out "$OUT" ;;
	ops) bench ops "get, set (overwrite) and delete (delete + set) by size and key type" native \
		-bench '^BenchmarkOps$' -benchtime 100ms ;;
	churn) bench churn "churn: a fixed live set, one insert and one delete per op" native \
		-bench '^BenchmarkChurn$' -benchtime 200ms ;;
	spike) bench spike "spike: fill to n, drain to 1%, over the same map (ns/entry per Set or Delete)" native \
		-bench '^BenchmarkSpike$' -benchtime 3x ;;
	drain-latency) bench drain-latency "drain latency: delete 2M int keys with a Get between, per-operation quantiles" native \
		-bench '^BenchmarkDrainLatency$/.*/.*/n=2M$' -benchtime 1x ;;
	retained) bench retained "retained heap after the seed's drain (1M x [128]byte to 1%)" native \
		-bench '^BenchmarkRetained$' -benchtime 1x ;;
	many-maps) bench many-maps "many maps: heap kept after each is drained to 1%, over fresh maps of the live entries" native \
		-bench '^BenchmarkManyMaps$' -benchtime 1x ;;
	memory-limit) bench memory-limit "memory limit: 200 maps of 20k drained to 55% with the limit at 9/8 of the heap" native \
		-bench '^BenchmarkMemoryLimit$' -benchtime 1x ;;
	concurrent) bench concurrent "concurrent mixes: 64k and 1M int keys, spread/hot/zipf keys, 99/90/50% reads, rest Set/Delete" sync.Map \
		-bench '^BenchmarkConcurrent$' -benchtime 200ms -cpu 1,2,4 ;;
	concurrent-latency) bench concurrent-latency "longest operation while one goroutine inserts 4M int keys (grow) and deletes them (drain)" xsync.Map \
		-bench '^BenchmarkConcurrentLatency$' -benchtime 1x ;;
	concurrent-caches) bench concurrent-caches "concurrent maps in caches: set+delete on tiny maps, 20,000 one-entry maps, an expiry sweep of 300k to 1% after a refill" native \
		-bench '^BenchmarkConcurrent(Tiny|Sweep)$' -benchtime 200ms ;;
	concurrent-locked) bench concurrent-locked "concurrent mixes from goroutines locked to their OS threads: 64k int keys, spread/hot, 90/50% reads" sync.Map \
		-bench '^BenchmarkConcurrentLocked$' -benchtime 200ms -cpu 2,4 ;;
	bytes-per-entry) bench bytes-per-entry "heap bytes per entry of a map filled with 1k, 64k and 1M int keys and values (after GC)" native \
		-bench '^BenchmarkBytesPerEntry$' -benchtime 1x ;;
	*)
		echo "run.sh: unknown part $part; want one of burst ops churn spike drain-latency retained many-maps memory-limit concurrent concurrent-latency concurrent-caches concurrent-locked bytes-per-entry" >&2
		exit 2
		;;
	esac
done
