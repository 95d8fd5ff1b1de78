#!/usr/bin/env bash
# Builds the binaries the real-API-server tests need: kube-apiserver and etcd.
#
#   scripts/build-kube-assets.sh [DIR]      (default: ./.cache/kube-assets)
#
# No release binaries can be downloaded here, so both come from the Go module proxy:
#  - kube-apiserver: `go install k8s.io/kubernetes/cmd/kube-apiserver@…` fails because
#    k8s.io/kubernetes replaces its staging modules with local paths. A scratch module that
#    requires k8s.io/kubernetes and maps every staging module to its published v0.X.Y
#    builds it (≈3 min cold, ≈2.2 GB peak RSS; seconds when the Go build cache is warm).
#  - etcd: the distribution package when we are root and apt works, else a scratch module
#    building go.etcd.io/etcd/server/v3.
# Idempotent (skips what exists) and serialized with flock, so parallel `go test`
# processes that call it do not build twice.
set -euo pipefail

KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.33.13}"
STAGING_VERSION="v0${KUBERNETES_VERSION#v1}"          # v1.33.13 -> v0.33.13
ETCD_VERSION="${ETCD_VERSION:-v3.6.8}"

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$root/.cache/kube-assets}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

exec 9>"$dir/.lock"
flock 9

log() { echo "build-kube-assets: $*" >&2; }

build_kube_apiserver() {
  local work="$dir/src/kube-apiserver"
  rm -rf "$work" && mkdir -p "$work"
  log "building kube-apiserver $KUBERNETES_VERSION in $work (≈3 min cold)"
  # Read kubernetes' own go.mod to learn its staging modules.
  local gomod
  gomod="$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f "$gomod" ]] || { log "cannot find go.mod of k8s.io/kubernetes@$KUBERNETES_VERSION"; exit 1; }
  {
    echo "module kubeassets"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    grep -Eo '^[[:space:]]*k8s\.io/[A-Za-z0-9._-]+ => \./staging/src/k8s\.io/[A-Za-z0-9._-]+' "$gomod" |
      awk -v v="$STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}'
  } >"$work/go.mod"
  grep -q '^replace k8s.io/api ' "$work/go.mod" || { log "no staging replace lines found in $gomod"; exit 1; }
  cat >"$work/tools.go" <<'GO'
//go:build tools

package kubeassets

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
  (cd "$work" && GOFLAGS=-mod=mod go mod tidy)
  (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
}

build_etcd_from_source() {
  local work="$dir/src/etcd"
  rm -rf "$work" && mkdir -p "$work"
  log "building etcd $ETCD_VERSION from the Go module proxy in $work"
  printf 'module etcdassets\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$work/go.mod"
  cat >"$work/tools.go" <<'GO'
//go:build tools

package etcdassets

import _ "go.etcd.io/etcd/server/v3"
GO
  (cd "$work" && GOFLAGS=-mod=mod go mod tidy)
  (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$dir/etcd.tmp" "$dir/etcd"
}

install_etcd() {
  if [[ -x /usr/bin/etcd ]]; then
    log "using /usr/bin/etcd"
    cp /usr/bin/etcd "$dir/etcd"
    return
  fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing etcd-server with apt-get"
    if apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null 2>&1 &&
      [[ -x /usr/bin/etcd ]]; then
      cp /usr/bin/etcd "$dir/etcd"
      return
    fi
    log "apt-get install etcd-server failed; falling back to a source build"
  fi
  build_etcd_from_source
}

start=$SECONDS
[[ -x "$dir/etcd" ]] || install_etcd
[[ -x "$dir/kube-apiserver" ]] || build_kube_apiserver
rm -rf "$dir/src"
log "assets ready in $dir ($((SECONDS - start))s)"
echo "$dir"
