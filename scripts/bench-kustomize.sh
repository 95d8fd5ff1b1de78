#!/usr/bin/env bash
# bench-kustomize.sh — `kustomize build` of big repositories with iambind-fn as an exec
# transformer.
#
# For 1k, 2k and 4k resources (one IdentityBinding in ten; bench/synth via bench/kustgen) it
# times, interleaved, the median of RUNS whole-process runs of bin/kustomize (v5.8.2; alone and
# the pipe in a set of their own, PIPE_RUNS runs):
#   alone       the same objects, no function (the IdentityCluster a local-config resource),
#   no-op       the IdentityCluster as the config of a no-op exec function (`cat`),
#   iambind-fn  the IdentityCluster as iambind-fn's config (examples/kustomize-transformer),
#   pipe        `kustomize build alone | iambind-fn --cluster cluster.yaml`: kustomize runs no
#               function, iambind-fn runs once over its output (stream mode); bench-measure
#               connects the two as a shell would, and starts no shell, whose start-up alone
#               would be charged to the pipe,
# and, at the largest size, the same two functions with one kustomization per namespace (20),
# each running the function over its own resources, under one that lists them (PER_TEAM=0
# skips it). It prints the table, iambind-fn / no-op per size with PASS/MISS against 1.3x, and
# pipe / alone per size with PASS/MISS against 1.05x (and, beside it, the median of the
# differences of interleaved neighbours, which on a noisy host is steadier than the medians).
# A miss never fails the script: the numbers are the product (docs/benchmarks.md).
#
# Environment: RUNS (default 3; runs of the exec forms), PIPE_RUNS (default 11; runs of alone and
# pipe, in a set of their own), SIZES (default "1000 2000 4000"), PER_TEAM (default 1), EXEC
# (default 1; EXEC=0 times only alone and pipe, minutes instead of half an hour at 4k),
# BIN (default ./bin), BENCH_DIR (inputs; default a temporary directory, removed at exit).
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
BIN=${BIN:-$PWD/bin}
RUNS=${RUNS:-3}
PIPE_RUNS=${PIPE_RUNS:-11}
SIZES=${SIZES:-1000 2000 4000}
PER_TEAM=${PER_TEAM:-1}
EXEC=${EXEC:-1}
GOAL=1.30      # iambind-fn build time <= 1.3 x the no-op function's, at every size
PIPE_GOAL=1.05 # kustomize build | iambind-fn <= 1.05 x kustomize build alone, at every size

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
scratch_dir BENCH_DIR
scratch_dir BIN

echo "== building iambind-fn, kustgen, measure; kustomize from make tools"
$GO build -o "$BIN/iambind-fn" ./fn
$GO build -o "$BIN/kustgen" ./bench/kustgen
$GO build -o "$BIN/bench-measure" ./bench/measure
[[ -x $BIN/kustomize ]] || make -s "$BIN/kustomize" BIN="$BIN"
write_noop_function "$BENCH_DIR/noop"

echo "== machine: $(nproc) cores, $($GO env GOVERSION), kustomize $("$BIN/kustomize" version), load average$(uptime | sed 's/.*load average//')"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

build() { echo "$1" "$BIN/kustomize" build --enable-alpha-plugins --enable-exec "$2"; }
# measure SIZE RUNS WHAT "NAME CMD ARGS :: ...": interleaved runs of the commands, into results.
measure() {
	echo "== $1 resources ($(($1 / 10)) bindings), $3: $2 runs each, interleaved"
	# shellcheck disable=SC2086 # the commands are split on purpose: NAME CMD ARGS :: ...
	"$BIN/bench-measure" -runs "$2" -warmup 0 -- $4 |
		sed "s/^/$1\t/" | tee -a "$results" | awk -F'\t' '{printf "   %-16s walls %s s, CPU %s s, peak RSS %d MiB\n", $2, $7, $5, $4 / 1024}'
}
results=$BENCH_DIR/results.tsv
: >"$results"
sizes=($SIZES)
largest=${sizes[-1]}
for n in "${sizes[@]}"; do
	d=$BENCH_DIR/$n
	rm -rf "$d" && mkdir -p "$d"
	"$BIN/kustgen" -n "$n" -dir "$d/alone"
	"$BIN/kustgen" -n "$n" -dir "$d/noop" -exec "$BENCH_DIR/noop"
	"$BIN/kustgen" -n "$n" -dir "$d/fn" -exec "$BIN/iambind-fn"
	# The pipe as a shell runs it, without starting a shell (bench-measure connects the stages):
	# the same kustomize command as alone, its output into iambind-fn; both sides' CPU. Timed
	# in a set of its own, beside kustomize alone, with PIPE_RUNS runs.
	pipe="$(build pipe/alone "$d/alone") :: $(build pipe "$d/alone") | $BIN/iambind-fn --cluster $d/alone/cluster.yaml"
	measure "$n" "$PIPE_RUNS" "alone and pipe" "$pipe"
	[[ $EXEC == 1 ]] || continue
	cmds="$(build alone "$d/alone") :: $(build no-op "$d/noop") :: $(build iambind-fn "$d/fn")"
	if [[ $PER_TEAM == 1 && $n == "$largest" ]]; then
		"$BIN/kustgen" -n "$n" -dir "$d/noop-teams" -exec "$BENCH_DIR/noop" -per-team
		"$BIN/kustgen" -n "$n" -dir "$d/fn-teams" -exec "$BIN/iambind-fn" -per-team
		cmds+=" :: $(build no-op/team "$d/noop-teams") :: $(build iambind-fn/team "$d/fn-teams")"
	fi
	measure "$n" "$RUNS" "exec functions" "$cmds"
done

# results.tsv: SIZE NAME WALL_S RSS_KIB CPU_S RUNS WALLS RSSES
awk -F'\t' -v goal="$GOAL" -v pgoal="$PIPE_GOAL" '
{ wall[$1, $2] = $3; cpu[$1, $2] = $5; walls[$1, $2] = $7; if (!($1 in seen)) { seen[$1] = 1; sizes[++ns] = $1 } }
# pairedMedian: the median of b - a over runs at the same position (interleaved neighbours), in ms.
function pairedMedian(a, b,    x, y, d, m, i, j, t) {
	m = split(a, x, ","); split(b, y, ",")
	for (i = 1; i <= m; i++) {
		d[i] = y[i] - x[i]
		for (j = i; j > 1 && d[j - 1] > d[j]; j--) { t = d[j]; d[j] = d[j - 1]; d[j - 1] = t }
	}
	return 1000 * (m % 2 ? d[(m + 1) / 2] : (d[m / 2] + d[m / 2 + 1]) / 2)
}
END {
	print ""
	print "kustomize build, median wall seconds (CPU seconds, user+system, in brackets)"
	printf "%-9s | %-15s | %-15s | %-15s | %-22s\n", "resources", "alone", "no-op function", "iambind-fn", "iambind-fn / no-op"
	for (i = 1; i <= ns; i++) {
		n = sizes[i]
		if (!((n, "no-op") in wall)) continue
		r = wall[n, "iambind-fn"] / wall[n, "no-op"]
		printf "%9d | %6.2f (%6.2f) | %6.2f (%6.2f) | %6.2f (%6.2f) | %5.2fx (CPU %4.2fx) %s\n", n,
			wall[n, "alone"], cpu[n, "alone"], wall[n, "no-op"], cpu[n, "no-op"], wall[n, "iambind-fn"], cpu[n, "iambind-fn"],
			r, cpu[n, "iambind-fn"] / cpu[n, "no-op"], (r <= goal ? "PASS" : "MISS")
		if ((n, "iambind-fn/team") in wall) team = n
	}
	if (team) {
		print ""
		printf "one kustomization per namespace at %d resources (each runs the function over its own resources):\n", team
		printf "  no-op %.2f s (CPU %.2f), iambind-fn %.2f s (CPU %.2f): %.2fx; iambind-fn per team / in one kustomization: %.2fx\n",
			wall[team, "no-op/team"], cpu[team, "no-op/team"], wall[team, "iambind-fn/team"], cpu[team, "iambind-fn/team"],
			wall[team, "iambind-fn/team"] / wall[team, "no-op/team"], wall[team, "iambind-fn/team"] / wall[team, "iambind-fn"]
	}
	printf "goal  iambind-fn <= %.2fx the no-op function at every size (wall time)\n", goal
	print ""
	print "kustomize build DIR | iambind-fn --cluster cluster.yaml against kustomize build DIR alone"
	printf "%-9s | %-15s | %-15s | %-28s | %s\n", "resources", "alone", "pipe", "pipe / alone", "pipe - alone, paired median"
	for (i = 1; i <= ns; i++) {
		n = sizes[i]
		r = wall[n, "pipe"] / wall[n, "pipe/alone"]
		printf "%9d | %6.2f (%6.2f) | %6.2f (%6.2f) | %5.2fx (CPU %4.2fx) %-4s | %+.0f ms\n", n,
			wall[n, "pipe/alone"], cpu[n, "pipe/alone"], wall[n, "pipe"], cpu[n, "pipe"], r, cpu[n, "pipe"] / cpu[n, "pipe/alone"], (r <= pgoal ? "PASS" : "MISS"),
			pairedMedian(walls[n, "pipe/alone"], walls[n, "pipe"])
	}
	printf "goal  kustomize build | iambind-fn <= %.2fx kustomize build alone at every size (wall time)\n", pgoal
}' "$results"
