#!/usr/bin/env bash
# The whole loop on the examples: render with kustomize and kpt, then (when the
# reconcile half is built) apply the plans to a local moto IAM and plan again.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH"
out="${DEMO_OUT:-$PWD/out/demo}"
rm -rf "$out" && mkdir -p "$out"

echo "== kustomize build (transformer mode): examples/kustomize-transformer"
kustomize build --enable-alpha-plugins --enable-exec examples/kustomize-transformer > "$out/kustomize-transformer.yaml"
echo "== kustomize build: examples/multi-cluster"
kustomize build --enable-alpha-plugins --enable-exec examples/multi-cluster > "$out/multi-cluster.yaml"

echo "== kpt fn render (Kptfile pipeline): examples/kpt-package (on a copy)"
cp -r examples/kpt-package "$out/kpt-package"
kpt fn render "$out/kpt-package" --allow-exec
rm -f "$out/kpt-package/Kptfile"

echo
echo "== annotated ServiceAccounts"
grep -h -B1 -A1 'eks.amazonaws.com/role-arn' "$out"/*.yaml "$out"/kpt-package/iambind/*/*.yaml | grep -E 'role-arn|name:' | sed 's/^ *//' | sort -u
echo
echo "== a trust policy (shop/orders)"
awk '/trust-policy.json: \|/{p=1;next} p&&/^[^ ]/{p=0} p' "$out/kustomize-transformer.yaml" | sed -n "/\"Version\"/,/^    }/p" | head -40 || true

if [[ -x scripts/demo-iam.sh && -x bin/iambind ]]; then
  echo
  echo "== IAM: apply the rendered plans to a local moto server, then plan again (expect no changes)"
  scripts/demo-iam.sh "$out/kustomize-transformer.yaml" "$out/multi-cluster.yaml" "$out/kpt-package"
fi
echo
echo "demo: OK (rendered output in ${out#$PWD/})"
