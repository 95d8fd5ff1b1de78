#!/usr/bin/env bash
# bench-stream.sh — whole-process figures of iambind-fn in stream mode.
#
# The same synthetic objects (bench/synth, one IdentityBinding in ten) as a ResourceList for a bare
# pass-through KRM function on the SDK (bench/passthrough: the floor of ResourceList mode) and as a
# plain multi-document YAML stream for iambind-fn (stream mode: what `kustomize build | iambind-fn`
# and a Helm post-renderer run). Both run interleaved, RUNS times at each size; the script prints
# the medians side by side, stream-mode iambind-fn / pass-through per size, and PASS/MISS for the
# goal at 10k. A miss never fails the script: the numbers are the product (docs/benchmarks.md).
#
# Environment: RUNS (default 7), SIZES (default "1000 10000"; must contain 10000), INJECT=1
# (spec.inject on in every binding, every Deployment bound), POD_IDENTITY=1 (every binding in mode
# podIdentity: with INJECT=1, EKS Pod Identity injection), BIN (default ./bin), BENCH_DIR (inputs;
# default a temporary directory, removed at exit).
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
BIN=${BIN:-$PWD/bin}
RUNS=${RUNS:-7}
SIZES=${SIZES:-1000 10000}
GOAL=1.00 # stream-mode iambind-fn wall time <= 1.0 x the SDK pass-through's (10k resources)

# shellcheck source=scripts/lib.sh
. scripts/lib.sh
scratch_dir BENCH_DIR
mkdir -p "$BIN"

echo "== building iambind-fn, passthrough, gen, measure"
$GO build -o "$BIN/iambind-fn" ./fn
$GO build -o "$BIN/passthrough" ./bench/passthrough
$GO build -o "$BIN/bench-gen" ./bench/gen
$GO build -o "$BIN/bench-measure" ./bench/measure

echo "== machine: $(nproc) cores, $($GO env GOVERSION), load average$(uptime | sed 's/.*load average//')"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

# Each command reads its own input: a two-line script execs the binary with stdin from the file,
# so the measured process is the binary itself. from NAME BIN FILE prints the script's path.
from() {
	printf '#!/bin/sh\nexec "%s" <"%s"\n' "$2" "$3" >"$BENCH_DIR/$1"
	chmod +x "$BENCH_DIR/$1"
	echo "$BENCH_DIR/$1"
}
results=$BENCH_DIR/results.tsv
: >"$results"
for n in $SIZES; do
	"$BIN/bench-gen" -n "$n" ${INJECT:+-inject} ${POD_IDENTITY:+-pod-identity} >"$BENCH_DIR/rl-$n.yaml"
	"$BIN/bench-gen" -n "$n" -stream ${INJECT:+-inject} ${POD_IDENTITY:+-pod-identity} >"$BENCH_DIR/stream-$n.yaml"
	echo "== $n resources ($((n / 10)) bindings; ResourceList $(($(wc -c <"$BENCH_DIR/rl-$n.yaml") / 1024)) KiB, stream $(($(wc -c <"$BENCH_DIR/stream-$n.yaml") / 1024)) KiB): $RUNS runs each, interleaved"
	"$BIN/bench-measure" -runs "$RUNS" -- \
		passthrough "$(from passthrough-$n "$BIN/passthrough" "$BENCH_DIR/rl-$n.yaml")" :: \
		iambind-fn-stream "$(from stream-$n "$BIN/iambind-fn" "$BENCH_DIR/stream-$n.yaml")" |
		sed "s/^/$n\t/" | tee -a "$results" | awk -F'\t' '{printf "   %-18s walls %s s, CPU %s s, peak RSS %d MiB\n", $2, $7, $5, $4 / 1024}'
done

# results.tsv: SIZE NAME WALL_S RSS_KIB CPU_S RUNS WALLS RSSES
awk -F'\t' -v goal="$GOAL" '
{ wall[$1, $2] = $3; rss[$1, $2] = $4 / 1024; cpu[$1, $2] = $5; if (!($1 in seen)) { seen[$1] = 1; sizes[++ns] = $1 } }
END {
	print ""
	printf "%-9s | %-29s | %-29s | %-16s\n", "", "passthrough (SDK floor, RL)", "iambind-fn, stream mode", "stream / floor"
	printf "%-9s | %8s %9s %9s | %8s %9s %9s | %7s %8s\n", "resources", "wall s", "RSS MiB", "CPU s", "wall s", "RSS MiB", "CPU s", "time", "memory"
	for (i = 1; i <= ns; i++) {
		n = sizes[i]; a = "passthrough"; b = "iambind-fn-stream"
		printf "%9d | %8.3f %9.1f %9.3f | %8.3f %9.1f %9.3f | %6.2fx %7.2fx\n", n,
			wall[n, a], rss[n, a], cpu[n, a], wall[n, b], rss[n, b], cpu[n, b], wall[n, b] / wall[n, a], rss[n, b] / rss[n, a]
	}
	print ""
	if (!((10000, "iambind-fn-stream") in wall)) { print "no 10000-resource run: goal not evaluated"; exit }
	r = wall[10000, "iambind-fn-stream"] / wall[10000, "passthrough"]
	printf "goal  time   iambind-fn stream mode/passthrough at 10k = %.2fx (goal <= %.2fx)  %s\n", r, goal, (r <= goal ? "PASS" : "MISS")
}' "$results"
