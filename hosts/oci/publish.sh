#!/usr/bin/env bash
# Publishes both builds of the connector component to an OCI registry with wkg
# (wasm-pkg-tools: `cargo install wkg`), as platforms that pull components from
# OCI expect (Spin, wasmCloud, MCP hosts such as wassette).
#
#   hosts/oci/publish.sh REGISTRY/NAMESPACE [VERSION]
#   hosts/oci/publish.sh ghcr.io/acme 0.2.0
#
# pushes REGISTRY/NAMESPACE/dixa-connector:VERSION (the `connector` world) and
# REGISTRY/NAMESPACE/dixa-connector-service:VERSION (`connector-service`, also
# served over HTTP), and prints each reference with its digest: pull by digest.
# Credentials come from wkg's usual sources (docker config, or WKG_OCI_USERNAME
# and WKG_OCI_PASSWORD). DIXA and WKG name the binaries (default: on PATH);
# WKG_OCI_INSECURE lists registries reached over plain http (a loopback test).
set -euo pipefail

repository=${1:?usage: publish.sh REGISTRY/NAMESPACE [VERSION]}
dixa=${DIXA:-dixa}
wkg=${WKG:-wkg}
version=${2:-$("$dixa" --version | cut -d' ' -f2)}

built=$(mktemp -d)
trap 'rm -rf "$built"' EXIT
"$dixa" component -o "$built/dixa-connector.wasm"
"$dixa" component --service -o "$built/dixa-connector-service.wasm"

for name in dixa-connector dixa-connector-service; do
    reference="$repository/$name:$version"
    digest=$("$wkg" oci push "$reference" "$built/$name.wasm" | sed -n 's/^digest: //p')
    if [ -z "$digest" ]; then
        echo "wkg pushed $reference but printed no digest" >&2
        exit 1
    fi
    echo "$reference $digest"
done
