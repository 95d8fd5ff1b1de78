#!/usr/bin/env bash
# bench-fromcluster.sh — `iambind apply --from-cluster` against `iambind apply -f` on the same
# rendered plans. Prints a table with PASS/MISS per goal; a miss never fails the script.
#
# Starts its own moto_server on a free 127.0.0.1 port (stopped on exit); bench/fromcluster starts a
# real etcd + kube-apiserver (internal/kubetest, KUBE_ASSETS), renders PLANS plans with the real
# generator (bench/reconcile/benchplan: 10 namespaces, each role 1 managed + 1 inline policy), puts
# the plan ConfigMaps and ServiceAccounts in the cluster, then, RUNS times each:
#   a. from empty (moto reset; for --from-cluster also fresh ConfigMaps without status):
#      `apply -f plan.yaml` and `apply --from-cluster`;
#   b. no-op: `apply -f` and `apply --from-cluster`, comparing every plan ConfigMap's
#      resourceVersion before and after the latter.
# Goals: from-cluster ≤ 1.5 × (-f) + 1 s, from empty and no-op; a no-op rewrites no ConfigMap and
# makes no IAM write.
#
# Environment: PLANS (200), RUNS (3), BIN (./bin), GO (go), KUBE_ASSETS (etcd + kube-apiserver),
# HOME_CLUSTER=1 (the Job as deployed: --from-cluster runs get --cluster with the plans' IdentityCluster).
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/lib.sh
GO=${GO:-go}
BIN=${BIN:-$PWD/bin}
PLANS=${PLANS:-200}
RUNS=${RUNS:-3}

require_tools bench-fromcluster moto_server curl python3

MOTO_PID=
WORK=$(mktemp -d)
cleanup() {
	stop_moto
	rm -rf "$WORK"
	return 0
}
trap cleanup EXIT
mkdir -p "$BIN"

echo "== building iambind and bench-fromcluster"
$GO build -o "$BIN/iambind" ./cmd/iambind
$GO build -o "$BIN/bench-fromcluster" ./bench/fromcluster
echo "== machine: $(nproc) cores, $($GO env GOVERSION), load average$(uptime | sed 's/.*load average//')"
echo "== date: $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

start_moto bench-fromcluster "$WORK/moto.log"
echo "== moto on $EP; $PLANS plans, $RUNS runs each"
"$BIN/bench-fromcluster" -n "$PLANS" -runs "$RUNS" -endpoint "$EP" -iambind "$BIN/iambind"
