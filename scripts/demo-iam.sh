#!/usr/bin/env bash
# Apply rendered iambind plans to a throwaway local moto IAM, then plan again
# and fail unless the plan shows no changes.
#   scripts/demo-iam.sh RENDERED_FILE_OR_DIR...
# moto plays the plan's own account (read from the role ARNs), so the
# account check of `iambind` passes. Test credentials only; nothing leaves loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -gt 0 ]] || { echo "usage: $0 RENDERED_FILE_OR_DIR..." >&2; exit 2; }
command -v moto_server >/dev/null || { echo "demo-iam: moto_server is not on PATH (pip install 'moto[server]')" >&2; exit 1; }
[[ -x bin/iambind ]] || go build -o bin/iambind ./cmd/iambind

inputs=("$@")
account=$(grep -rhoE 'arn:aws[a-z-]*:iam::[0-9]{12}:role' "${inputs[@]}" | head -1 | sed -E 's/.*::([0-9]{12}):role/\1/' || true)
account=${account:-123456789012}

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log=$(mktemp)
MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_ACCOUNT_ID="$account" moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
  kill -0 "$moto_pid" 2>/dev/null || { echo "demo-iam: moto_server exited:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
unset AWS_PROFILE AWS_SESSION_TOKEN
files=()
for i in "${inputs[@]}"; do files+=(-f "$i"); done

echo "-- moto IAM (account $account) on $AWS_ENDPOINT_URL"
echo "-- iambind apply ${files[*]}"
bin/iambind apply "${files[@]}"
echo "-- iambind plan --detailed-exitcode (expect no changes)"
set +e
bin/iambind plan --detailed-exitcode "${files[@]}"
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
  echo "demo-iam: plan after apply exited $rc (0 = no changes expected)" >&2
  exit 1
fi
echo "-- converged: a second plan shows no changes"
