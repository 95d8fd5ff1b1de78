#!/usr/bin/env bash
# bench-reconcile.sh — reconcile figures of `iambind apply` against a local moto IAM. Prints a table with PASS/MISS per goal; a miss never fails the script.
#
# Starts its own moto_server on a free 127.0.0.1 port (stopped on exit), renders a plan of ROLES
# roles through the real generator (bench/reconcile/genplan: one cluster, each role 1 AWS managed
# policy + 1 inline policy), then:
#   a. converges the plan from empty with `iambind apply` (CREATE_RUNS runs, moto reset before
#      each): wall time, IAM reads and writes from the summary line;
#   b. a no-op `iambind apply` of the same plan (NOOP_RUNS runs): wall time, reads, writes;
#   c. resets moto and applies the same plan with a shell loop of `aws iam` CLI calls
#      (create-open-id-connect-provider once, then per role create-role with path, description,
#      max session, trust policy and tags, attach-role-policy, put-role-policy — the manual flow),
#      documents extracted from the plan by bench/reconcile/clidocs; then checks with
#      `iambind plan --detailed-exitcode` that the loop built exactly the planned state.
#      One aws CLI call costs ≈ 0.5-1 s (Python start-up), so by default the loop runs over the
#      first CLI_ROLES roles and its time is scaled to ROLES (printed as such);
#      CLI_ROLES=$ROLES runs the full loop (≈ 5-7 min for 200 roles);
#   d. prints the table and the goals: CLI loop / iambind ≥ 20×; no-op reads ≤ 2 + ⌈N/100⌉;
#      create writes ≤ 1 + k + m per role (here 3; the OIDC provider's create adds 1 per issuer);
#   e. the crossover of per-role vs bulk observation (bench/reconcile/crossover): no-op read calls
#      and wall time for plan sizes CROSS_SIZES in accounts holding CROSS_FOREIGN unrelated roles.
#
# Environment: ROLES (200), CREATE_RUNS (3), NOOP_RUNS (5), CLI_ROLES (40), CROSS_SIZES
# ("1,2,3,5,10,20,50"), CROSS_FOREIGN ("0,500"), CROSS_RUNS (5), CROSSOVER=0 to skip e,
# BIN (./bin), GO (go), BENCH_DIR (work files; default a temporary directory, removed at exit).
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/lib.sh
GO=${GO:-go}
BIN=${BIN:-$PWD/bin}
ROLES=${ROLES:-200}
CREATE_RUNS=${CREATE_RUNS:-3}
NOOP_RUNS=${NOOP_RUNS:-5}
CLI_ROLES=${CLI_ROLES:-40}
CROSS_SIZES=${CROSS_SIZES:-1,2,3,5,10,20,50}
CROSS_FOREIGN=${CROSS_FOREIGN:-0,500}
CROSS_RUNS=${CROSS_RUNS:-5}
CROSSOVER=${CROSSOVER:-1}
SPEED_GOAL=20 # the aws CLI loop takes ≥ 20 × iambind's create-from-empty wall time
((CLI_ROLES > ROLES)) && CLI_ROLES=$ROLES

require_tools bench-reconcile moto_server aws curl python3

MOTO_PID=
own_dir=
if [[ -z ${BENCH_DIR:-} ]]; then
	BENCH_DIR=$(mktemp -d)
	own_dir=1
fi
cleanup() {
	stop_moto
	[[ -n $own_dir ]] && rm -rf "$BENCH_DIR"
	return 0
}
trap cleanup EXIT
mkdir -p "$BIN" "$BENCH_DIR"

echo "== building iambind, genplan, clidocs, crossover"
$GO build -o "$BIN/iambind" ./cmd/iambind
$GO build -o "$BIN/bench-genplan" ./bench/reconcile/genplan
$GO build -o "$BIN/bench-clidocs" ./bench/reconcile/clidocs
$GO build -o "$BIN/bench-crossover" ./bench/reconcile/crossover

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'), $($GO env GOVERSION), load average$(uptime | sed 's/.*load average//')"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); $(aws --version 2>&1); moto $(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null || echo '?')"

use_moto_credentials

start_moto bench-reconcile "$BENCH_DIR/moto.log"
echo "== moto on $EP (pid $MOTO_PID)"

reset_moto() { curl -sf -X POST "$EP/moto-api/reset" >/dev/null; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# summary FILE: "created updated deleted unchanged reads writes" from apply's summary line.
summary() {
	sed -nE 's/^roles: ([0-9]+) created, ([0-9]+) updated, ([0-9]+) deleted, ([0-9]+) unchanged; IAM calls: ([0-9]+) reads, ([0-9]+) writes( .*)?$/\1 \2 \3 \4 \5 \6/p' "$1" | tail -1
}

PLAN=$BENCH_DIR/plan-$ROLES.yaml
"$BIN/bench-genplan" -n "$ROLES" >"$PLAN"
echo "== plan: $ROLES roles (1 managed + 1 inline policy each, 1 issuer), $(($(wc -c <"$PLAN") / 1024)) KiB"

# run_apply NAME: one `iambind apply` of the plan; appends "wall created updated deleted unchanged reads writes".
run_apply() {
	local t0 t1 out=$BENCH_DIR/apply.out
	t0=$(now)
	if ! "$BIN/iambind" apply -f "$PLAN" --endpoint-url "$EP" >"$out" 2>"$BENCH_DIR/apply.err"; then
		echo "bench-reconcile: iambind apply failed:" >&2
		tail -20 "$BENCH_DIR/apply.err" >&2
		exit 1
	fi
	t1=$(now)
	echo "$(elapsed "$t0" "$t1") $(summary "$out")" >>"$BENCH_DIR/$1.tsv"
}

: >"$BENCH_DIR/create.tsv"
: >"$BENCH_DIR/noop.tsv"
echo "== a. create $ROLES roles from empty: $CREATE_RUNS runs (moto reset before each)"
for _ in $(seq 1 "$CREATE_RUNS"); do
	reset_moto
	run_apply create
done
awk '{printf "   wall %.3f s  created %d  reads %d  writes %d\n", $1, $2, $6, $7}' "$BENCH_DIR/create.tsv"
echo "== b. no-op apply of the same plan: $NOOP_RUNS runs"
for _ in $(seq 1 "$NOOP_RUNS"); do
	run_apply noop
done
awk '{printf "   wall %.3f s  unchanged %d  reads %d  writes %d\n", $1, $5, $6, $7}' "$BENCH_DIR/noop.tsv"

echo "== c. the aws CLI loop over $CLI_ROLES of $ROLES roles (moto reset first)"
reset_moto
CLI_DIR=$BENCH_DIR/cli
# The plan of the first CLI_ROLES bindings is a subset of the ROLES plan (same roles, same documents).
"$BIN/bench-genplan" -n "$CLI_ROLES" >"$BENCH_DIR/plan-cli.yaml"
"$BIN/bench-clidocs" -f "$BENCH_DIR/plan-cli.yaml" -dir "$CLI_DIR"
cli_calls=0
t0=$(now)
while IFS=$'\t' read -r url clients; do
	# shellcheck disable=SC2086
	aws --endpoint-url "$EP" iam create-open-id-connect-provider --url "$url" --client-id-list $clients \
		--thumbprint-list 9e99a48a9960b14926bb7f3b02e22da2b0ab7280 >/dev/null
	cli_calls=$((cli_calls + 1))
done <"$CLI_DIR/providers.tsv"
t1=$(now)
while IFS=$'\t' read -r name path desc maxs trust tags managed inline; do
	aws --endpoint-url "$EP" iam create-role --role-name "$name" --path "$path" --description "$desc" \
		--max-session-duration "$maxs" --assume-role-policy-document "file://$trust" --tags "file://$tags" >/dev/null
	cli_calls=$((cli_calls + 1))
	for arn in $managed; do
		aws --endpoint-url "$EP" iam attach-role-policy --role-name "$name" --policy-arn "$arn"
		cli_calls=$((cli_calls + 1))
	done
	for p in $inline; do
		aws --endpoint-url "$EP" iam put-role-policy --role-name "$name" --policy-name "${p%%=*}" --policy-document "file://${p#*=}"
		cli_calls=$((cli_calls + 1))
	done
done <"$CLI_DIR/roles.tsv"
t2=$(now)
cli_prov=$(elapsed "$t0" "$t1")
cli_roles_wall=$(elapsed "$t1" "$t2")
echo "   $cli_calls aws CLI calls: provider $(printf %.2f "$cli_prov") s, $CLI_ROLES roles $(printf %.2f "$cli_roles_wall") s"
# The loop must have built the planned state: a plan of those roles has no changes.
if "$BIN/iambind" plan -f "$BENCH_DIR/plan-cli.yaml" --endpoint-url "$EP" --detailed-exitcode >"$BENCH_DIR/plan-cli.out" 2>&1; then
	echo "   check: iambind plan over the same $CLI_ROLES roles after the loop: no changes (same IAM state as apply)"
else
	echo "   check: iambind plan after the CLI loop reports changes or failed (exit $?):"
	tail -20 "$BENCH_DIR/plan-cli.out" | sed 's/^/     /'
fi

echo "$ROLES $CLI_ROLES $cli_calls $cli_prov $cli_roles_wall" >"$BENCH_DIR/cli.tsv"
echo
python3 - "$BENCH_DIR" "$SPEED_GOAL" <<'EOF'
import math, statistics, sys
d, speed_goal = sys.argv[1], float(sys.argv[2])
def rows(name):
    return [list(map(float, l.split())) for l in open(f"{d}/{name}.tsv") if l.strip()]
create, noop = rows("create"), rows("noop")
n, cli_n, cli_calls, cli_prov, cli_roles = rows("cli")[0]
n, cli_n = int(n), int(cli_n)
med = lambda rs, i: statistics.median(r[i] for r in rs)
cw, cr, cwr = med(create, 0), med(create, 5), med(create, 6)
nw, nr, nwr = med(noop, 0), med(noop, 5), med(noop, 6)
cli_wall = cli_prov + cli_roles * n / cli_n
scaled = "" if cli_n == n else f" (measured over {cli_n} roles, {int(cli_calls)} calls: {cli_prov:.2f} s + {cli_roles:.2f} s x {n}/{cli_n})"
ratio = cli_wall / cw
verdict = lambda ok: "PASS" if ok else "MISS"
print(f"{'':28} | {'wall s':>9} | {'IAM reads':>9} | {'IAM writes':>10}")
print(f"{'iambind apply, create ' + str(n):28} | {cw:9.3f} | {cr:9.0f} | {cwr:10.0f}")
print(f"{'iambind apply, no-op ' + str(n):28} | {nw:9.3f} | {nr:9.0f} | {nwr:10.0f}")
print(f"{'aws CLI loop, create ' + str(n):28} | {cli_wall:9.1f} | {0:9d} | {n * 3 + 1:10d}{scaled}")
print(f"  (medians of {len(create)} create and {len(noop)} no-op runs)")
print()
k, m, issuers = 1, 1, 1
read_goal = 2 + math.ceil(n / 100)
write_goal = (1 + k + m) * n
print(f"goal  speed     aws CLI loop / iambind create = {ratio:.1f}x (goal >= {speed_goal:.0f}x)  {verdict(ratio >= speed_goal)}")
print(f"goal  no-op     {nr:.0f} IAM reads, {nwr:.0f} writes for {n} roles (goal <= 2 + ceil({n}/100) = {read_goal} reads, 0 writes)  {verdict(nr <= read_goal and nwr == 0)}")
role_writes = cwr - issuers
print(f"goal  create    {cwr:.0f} IAM writes = {role_writes:.0f} for roles ({role_writes / n:.2f} per role) + {issuers} OIDC provider create"
      f" (goal <= 1 + k + m = {1 + k + m} per role = {write_goal}, + {issuers} per issuer)  {verdict(role_writes <= write_goal)}")
EOF

if [[ $CROSSOVER == 0 ]]; then
	exit 0
fi
echo
echo "== e. crossover: per-role vs bulk observation of a converged plan (role reads only; $CROSS_RUNS runs, medians)"
"$BIN/bench-crossover" -endpoint "$EP" -sizes "$CROSS_SIZES" -foreign "$CROSS_FOREIGN" -runs "$CROSS_RUNS" >"$BENCH_DIR/crossover.tsv"
python3 - "$BENCH_DIR/crossover.tsv" <<'EOF'
import collections, sys
data = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    f, n, mode, reads, wall, _ = line.rstrip("\n").split("\t")
    data[(int(f), int(n))][mode] = (int(reads), float(wall))
print(f"{'foreign roles':>13} | {'plan roles':>10} | {'per-role reads':>14} {'wall ms':>8} | {'bulk reads':>10} {'wall ms':>8} | faster")
for (f, n), m in sorted(data.items()):
    (pr, pw), (br, bw) = m["per-role"], m["bulk"]
    print(f"{f:13d} | {n:10d} | {pr:14d} {pw:8.1f} | {br:10d} {bw:8.1f} | {'bulk' if bw < pw else 'per-role'}")
for f in sorted({f for f, _ in data}):
    sizes = sorted(n for g, n in data if g == f)
    win = [n for n in sizes if data[(f, n)]["bulk"][1] < data[(f, n)]["per-role"][1]]
    first = next((n for n in sizes if all(x in win for x in sizes if x >= n)), None)
    calls = next((n for n in sizes if data[(f, n)]["bulk"][0] < data[(f, n)]["per-role"][0]), None)
    print(f"crossover, {f} foreign roles: bulk reads are faster from {first if first is not None else '>' + str(sizes[-1])} planned roles"
          f" (fewer calls from {calls if calls is not None else '>' + str(sizes[-1])})")
print("(moto answers GetAccountAuthorizationDetails in one page whatever MaxItems; IAM pages by <= 1000 roles: 2 bulk calls per 1000 roles in the account)")
EOF
