#!/usr/bin/env bash
# Flux cannot run KRM functions: render source/ into hydrated/ in CI and commit it.
#   examples/flux/render.sh [OUT]      (default: examples/flux/hydrated)
# Needs standalone kustomize and iambind-fn on PATH (`make build tools` puts both in bin/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/hydrated}"
kustomize="${KUSTOMIZE:-kustomize}"
for pkg in apps iambind-system; do
  mkdir -p "$out/$pkg"
  {
    echo "# Rendered by examples/flux/render.sh from source/$pkg: do not edit."
    "$kustomize" build --enable-alpha-plugins --enable-exec "$here/source/$pkg"
  } >"$out/$pkg/manifests.yaml.tmp"
  mv "$out/$pkg/manifests.yaml.tmp" "$out/$pkg/manifests.yaml"
done
