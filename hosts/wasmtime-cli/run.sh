#!/usr/bin/env bash
# The connector component on the wasmtime CLI (tested with wasmtime 48.0.8).
#
#   hosts/wasmtime-cli/run.sh invoke COMPONENT.wasm 'tag-conversation({conversation-id: "9456", tag-id: "..."})'
#   hosts/wasmtime-cli/run.sh serve SERVICE.wasm 127.0.0.1:8081
#
# `invoke` calls one operation of the `connector` build (`dixa component -o FILE`)
# with WAVE-encoded input and prints the WAVE-encoded result. `serve` serves the
# HTTP routes of the `connector-service` build (`dixa component --service -o FILE`).
#
# Settings come from the environment: DIXA_BASE_URL (default https://dev.dixa.io),
# DIXA_API_KEY and, for `serve`, DIXA_SERVICE_TOKEN (the bearer token callers
# must present; without it the service refuses every request with 503).
# WARNING: the wasmtime CLI only takes config values as arguments, so the key
# and the service token are visible to every local user in the process list
# while it runs, and the CLI has no outbound allow-list or scoped key: use the
# `dixa` host (`dixa serve`), which keeps both out of argv, where that matters.
# WASMTIME names the binary (default: wasmtime on PATH).
set -euo pipefail

usage() {
    sed -n '2,5p' "$0" >&2
    exit 2
}

[ $# -eq 3 ] || usage
mode=$1 component=$2 target=$3
wasmtime=${WASMTIME:-wasmtime}
config=(-S config -S "config-var=base-url=${DIXA_BASE_URL:-https://dev.dixa.io}")
if [ -n "${DIXA_API_KEY:-}" ]; then
    config+=(-S "config-var=api-key=$DIXA_API_KEY")
fi
if [ -n "${DIXA_SERVICE_TOKEN:-}" ]; then
    config+=(-S "config-var=service-token=$DIXA_SERVICE_TOKEN")
fi

case $mode in
    invoke) exec "$wasmtime" run -S http "${config[@]}" --invoke "$target" "$component" ;;
    serve) exec "$wasmtime" serve -S cli "${config[@]}" --addr "$target" "$component" ;;
    *) usage ;;
esac
