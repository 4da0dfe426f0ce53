# shellcheck shell=bash
# Sourced by gocache/run.sh and ristretto/run.sh, which measure an original
# project against a copy with its map swapped.

# write_summary OUT WORK: writes OUT/summary.md, the median of each
# benchmark and unit in OUT/orig.txt and OUT/swapped.txt, and swapped/orig,
# headed by the first line of OUT/library.txt; WORK holds its scratch
# files. (benchstat.txt has the same with confidence intervals.)
write_summary() {
	local out=$1 work=$2
	swap_medians "$out/orig.txt" >"$work/orig.med"
	swap_medians "$out/swapped.txt" >"$work/swapped.med"
	{
		echo "Medians of $(head -n1 "$out/library.txt" | sed 's/^library: //')"
		echo
		echo "| benchmark | unit | orig | swapped | swapped/orig | runs |"
		echo "|---|---|---:|---:|---:|---:|"
		join -t$'\t' <(awk -F'\t' '{ print $1 " " $2 "\t" $3 "\t" $4 }' "$work/orig.med" | sort) \
			<(awk -F'\t' '{ print $1 " " $2 "\t" $3 "\t" $4 }' "$work/swapped.med" | sort) |
			awk -F'\t' '{ split($1, p, " "); r = ($2 == 0) ? "n/a" : sprintf("%.2f", $4 / $2)
				printf "| %s | %s | %.6g | %.6g | %s | %s+%s |\n", p[1], p[2], $2, $4, r, $3, $5 }'
	} >"$out/summary.md"
}

# swap_medians FILE: the median of each benchmark and unit in the go test
# output FILE, tab-separated: name, unit, median, runs.
swap_medians() {
	awk '/^Benchmark/ && NF > 3 {
		name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
		for (i = 3; i + 1 <= NF; i += 2) print name "\t" $(i + 1) "\t" $i
	}' "$1" | sort -t$'\t' -k1,1 -k2,2 -k3,3g |
		awk -F'\t' '{ k = $1 "\t" $2; v[k, ++n[k]] = $3; if (!(k in seen)) { seen[k]; order[++m] = k } }
		END { for (j = 1; j <= m; j++) { k = order[j]; c = n[k]
			med = (c % 2) ? v[k, (c + 1) / 2] : (v[k, c / 2] + v[k, c / 2 + 1]) / 2
			print k "\t" med "\t" c } }'
}
