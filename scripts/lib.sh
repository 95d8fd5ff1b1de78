# lib.sh — what the bench scripts that talk to moto share, so each script
# reads as its measurements: the tools it needs, moto's test credentials, and
# a moto_server of its own on a free loopback port. Sourced, not run.

# require_tools NAME TOOL...: stop with "NAME: TOOL is not on PATH" unless
# every TOOL is.
require_tools() {
	local name=$1 tool
	shift
	for tool in "$@"; do
		command -v "$tool" >/dev/null || {
			echo "$name: $tool is not on PATH" >&2
			exit 1
		}
	done
}

# use_moto_credentials: moto's test credentials only; never the user's
# configuration.
use_moto_credentials() {
	export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
	export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
	export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
	unset AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN
}

# start_moto NAME LOG: starts moto_server (AWS managed policies loaded) on a
# free 127.0.0.1 port, logging to LOG, and waits until it answers; sets PORT,
# EP (its endpoint URL) and MOTO_PID. Stops the script, saying why, when
# moto exits or does not answer within 30 s. Call it directly, not in $(…).
start_moto() {
	local name=$1 log=$2
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	EP=http://127.0.0.1:$PORT
	MOTO_IAM_LOAD_MANAGED_POLICIES=true moto_server -H 127.0.0.1 -p "$PORT" >"$log" 2>&1 &
	MOTO_PID=$!
	for _ in $(seq 1 150); do
		curl -s -o /dev/null "$EP/moto-api/" && return 0
		kill -0 "$MOTO_PID" 2>/dev/null || {
			echo "$name: moto_server exited:" >&2
			cat "$log" >&2
			exit 1
		}
		sleep 0.2
	done
	echo "$name: moto_server did not answer on $EP" >&2
	exit 1
}

# stop_moto: for the EXIT trap; stops the moto start_moto started, if any.
stop_moto() {
	[[ -n ${MOTO_PID:-} ]] && kill "$MOTO_PID" 2>/dev/null && wait "$MOTO_PID" 2>/dev/null
	return 0
}

# scratch_dir VAR: makes the directory named by $VAR and sets VAR to its
# absolute path; when VAR is empty, a new temporary directory, removed when the
# script exits (this sets the EXIT trap: scripts that need one of their own
# pass a directory instead).
scratch_dir() {
	local var=$1
	if [[ -z ${!var:-} ]]; then
		printf -v "$var" '%s' "$(mktemp -d)"
		# shellcheck disable=SC2064 # the path is fixed now, on purpose
		trap "rm -rf '${!var}'" EXIT
	fi
	mkdir -p "${!var}"
	printf -v "$var" '%s' "$(cd "${!var}" && pwd)"
}

# write_noop_function PATH: an exec KRM function that hands the ResourceList
# back unchanged, the baseline the kustomize benchmarks compare against.
write_noop_function() {
	printf '#!/bin/sh\n# A no-op KRM function: the ResourceList back unchanged.\nexec cat\n' >"$1"
	chmod +x "$1"
}
