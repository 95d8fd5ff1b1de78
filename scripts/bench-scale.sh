#!/usr/bin/env bash
# bench-scale.sh — organisation-scale figures of `iambind apply`. Prints tables with
# PASS/MISS per goal; a miss never fails the script.
#
#   a. many accounts under IAM's per-account rate limit (bench/scale): one moto per account behind
#      internal/faultproxy's token bucket (SCALE_RATE calls/s per account, burst one second,
#      answering Throttling), SCALE_ROLES roles spread over SCALE_ACCOUNTS accounts, reached with
#      --assume-role; apply from empty once per limiter mode (SCALE_MODES), then a no-op apply.
#      Goals: converge ≤ 1.15 × ideal (calls ÷ rate per account, accounts in parallel),
#      throttled attempts ≤ 10 % of calls, no-op 0 writes; peak RSS ≤ 300 MiB (stated at 10,000).
#   b. reads that scale with the plan (bench/reconcile/crossover): an account holding
#      READS_FOREIGN unrelated roles, no-op reads of READS_SIZES planned roles per-role, bulk,
#      and as chosen by the cost model (auto). Goal: auto ≤ 1.2 × the better of the two.
#
#   c. reading the plan alone: `iambind check` (no AWS call) on the READ_ROLES-role plan of
#      bench/reconcile/genplan (one ResourceList, ≈ 5.2 KB per role; default 10,000): wall, CPU
#      and peak RSS (the reader is where apply's memory went).
#
# Defaults are small (500 roles over 5 accounts, 1,000 foreign roles; ≈ 3-4 min).
# SCALE_FULL=1 runs the full sizes: 10,000 roles over 10 accounts (each run ≥ 150 s) and
# 5,000 foreign roles with 10 and 1,000 planned (≈ 20-30 min in all).
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/lib.sh
GO=${GO:-go}
BIN=${BIN:-$PWD/bin}
if [[ ${SCALE_FULL:-0} == 1 ]]; then
	SCALE_ACCOUNTS=${SCALE_ACCOUNTS:-10} SCALE_ROLES=${SCALE_ROLES:-10000} SCALE_MODES=${SCALE_MODES:-aimd,aimd-rate}
	READS_FOREIGN=${READS_FOREIGN:-5000} READS_SIZES=${READS_SIZES:-10,1000} READS_RUNS=${READS_RUNS:-2}
fi
SCALE_ACCOUNTS=${SCALE_ACCOUNTS:-5}
SCALE_ROLES=${SCALE_ROLES:-500}
SCALE_RATE=${SCALE_RATE:-20}
# 8 workers per account: at 20 calls/s and 100-400 ms per moto call on a loaded machine, the
# default 4 cannot keep 20 calls/s in flight (each role's calls run in order).
SCALE_CONCURRENCY=${SCALE_CONCURRENCY:-8}
SCALE_MODES=${SCALE_MODES:-aimd,aimd-rate,sdk-adaptive,none}
READS_FOREIGN=${READS_FOREIGN:-1000}
READS_SIZES=${READS_SIZES:-10,200}
READS_RUNS=${READS_RUNS:-3}
READ_ROLES=${READ_ROLES:-10000}

require_tools bench-scale moto_server curl python3
use_moto_credentials

work=$(mktemp -d)
MOTO_PID=
cleanup() {
	stop_moto
	rm -rf "$work"
	return 0
}
trap cleanup EXIT

echo "== building iambind, bench-scale, bench-crossover"
mkdir -p "$BIN"
$GO build -o "$BIN/iambind" ./cmd/iambind
$GO build -o "$BIN/bench-scale" ./bench/scale
$GO build -o "$BIN/bench-crossover" ./bench/reconcile/crossover
$GO build -o "$BIN/bench-measure" ./bench/measure
$GO build -o "$BIN/bench-genplan" ./bench/reconcile/genplan
echo "== machine: $(nproc) cores, $($GO env GOVERSION), load average$(uptime | sed 's/.*load average//'); $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

echo "== a. $SCALE_ROLES roles over $SCALE_ACCOUNTS accounts at $SCALE_RATE IAM calls/s per account; modes $SCALE_MODES"
"$BIN/bench-scale" -bin "$BIN/iambind" -accounts "$SCALE_ACCOUNTS" -roles "$SCALE_ROLES" -rate "$SCALE_RATE" -modes "$SCALE_MODES" -concurrency "$SCALE_CONCURRENCY" >"$work/scale.tsv"
python3 - "$work/scale.tsv" "$SCALE_ROLES" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
roles = int(sys.argv[2])
v = lambda ok: "PASS" if ok else "MISS"
print(f"{'limiter':13} | {'run':7} | {'wall s':>7} | {'ideal s':>7} | {'x ideal':>7} | {'IAM phase s':>11} | {'calls':>6} | {'writes':>6} | {'throttled':>9} | {'peak RSS':>9} | CPU s: iambind, moto, proxy")
for mode, kind, wall, ideal, calls, writes, thr, rss, phase, c_i, c_m, c_p in rows:
    wall, ideal, calls, writes, thr, rss = float(wall), float(ideal), int(calls), int(writes), int(thr), int(rss)
    print(f"{mode:13} | {kind:7} | {wall:7.2f} | {ideal:7.2f} | {wall / ideal:7.2f} | {phase:>11} | {calls:6d} | {writes:6d} | {thr:5d} {100 * thr / calls:3.0f}% | {rss / 1024:5.0f} MiB | {c_i}, {c_m}, {c_p}")
print("(aimd: adaptive from no ceiling, the default; aimd-rate: --rate = the proxy's limit; sdk-adaptive: the SDK's retry.NewAdaptiveMode; none: no client-side limiter;")
print(" IAM phase: first to last IAM request of the slowest account; CPU: the whole set-up needs ~10 ms of CPU per IAM call, so N accounts at 20 calls/s need ~0.2 N cores)")
mode, kind, wall, ideal, calls, writes, thr, rss = rows[0][:8]
r = float(wall) / float(ideal)
print(f"goal  converge  {mode} from empty: {r:.2f} x ideal (goal <= 1.15)  {v(r <= 1.15)}")
p = float(rows[0][8]) / float(ideal)
print(f"      IAM phase {mode} from empty: {rows[0][8]} s = {p:.2f} x ideal (the pace alone, without start-up and plan reading)")
t = int(thr) / int(calls)
print(f"goal  throttle  {mode} from empty: {int(thr)} throttled of {calls} calls = {100 * t:.1f}% (goal <= 10%)  {v(t <= 0.10)}")
noop = [x for x in rows if x[1] == "no-op"][0]
print(f"goal  no-op     {noop[5]} writes, {noop[4]} calls, {float(noop[2]):.2f} s (goal 0 writes)  {v(int(noop[5]) == 0)}")
peak = max(int(x[7]) for x in rows) / 1024
print(f"goal  memory    peak RSS of apply at {roles} roles: {peak:.0f} MiB (goal <= 300 MiB, stated at 10,000)  {v(peak <= 300)}")
EOF

echo
echo "== b. reads: $READS_FOREIGN unrelated roles, no-op reads of $READS_SIZES planned roles ($READS_RUNS runs, medians)"
start_moto bench-scale "$work/moto.log"
"$BIN/bench-crossover" -endpoint "$EP" -sizes "$READS_SIZES" -foreign "$READS_FOREIGN" -runs "$READS_RUNS" >"$work/reads.tsv"
python3 - "$work/reads.tsv" <<'EOF'
import collections, sys
data = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    f, n, mode, reads, wall, _ = line.rstrip("\n").split("\t")
    mode, _, chosen = mode.partition(":")
    data[(int(f), int(n))][mode] = (int(reads), float(wall), chosen)
print(f"{'foreign':>7} | {'planned':>7} | {'per-role reads':>14} {'ms':>8} | {'bulk reads':>10} {'ms':>8} | {'auto (chose)':>20} {'reads':>5} {'ms':>8} | auto / better")
for (f, n), m in sorted(data.items()):
    (pr, pw, _), (br, bw, _), (ar, aw, chosen) = m["per-role"], m["bulk"], m["auto"]
    ratio = aw / min(pw, bw)
    print(f"{f:7d} | {n:7d} | {pr:14d} {pw:8.1f} | {br:10d} {bw:8.1f} | {chosen:>20} {ar:5d} {aw:8.1f} | {ratio:.2f}x {'PASS' if ratio <= 1.2 else 'MISS'} (goal <= 1.2)")
EOF

echo
echo "== c. reading the plan: iambind check on $READ_ROLES roles (no AWS call; 1 run)"
"$BIN/bench-genplan" -n "$READ_ROLES" >"$work/plan-read.yaml"
"$BIN/bench-measure" -runs 1 -warmup 0 -- check "$BIN/iambind" check -f "$work/plan-read.yaml" \
	--sub system:serviceaccount:ns0:app0000 --issuer https://oidc.eks.us-west-2.amazonaws.com/id/BENCH00000000000000000000000000A1 >"$work/read.tsv"
python3 - "$work/read.tsv" "$work/plan-read.yaml" "$READ_ROLES" <<'EOF'
import os, sys
name, wall, rss, cpu = open(sys.argv[1]).read().split("\t")[:4]
mb = os.path.getsize(sys.argv[2]) / 1e6
print(f"check on {sys.argv[3]} roles ({mb:.0f} MB of YAML): {float(wall):.2f} s wall, {float(cpu):.2f} s CPU, peak RSS {int(rss) / 1024:.0f} MiB")
EOF
rm -f "$work/plan-read.yaml"
