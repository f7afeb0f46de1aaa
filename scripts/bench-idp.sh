#!/usr/bin/env bash
# The idp benchmark: full login flows per second through the hanko idp next to node-oidc-provider
# (the yardstick, scripts/idp-js/bench-node-oidc.mjs) configured alike and measured in the same
# run on the same machine; prints both and the ratio (goal ≥ 3×).
#
#   scripts/bench-idp.sh
#   HANKO_BENCH_SECONDS=20 HANKO_BENCH_CONCURRENCY=16 scripts/bench-idp.sh
#   HANKO_IDP_NODE=npm scripts/bench-idp.sh    the yardstick on Node.js 22 (oidc-provider's
#                                              supported runtime) from the npm registry
set -euo pipefail
cd "$(dirname "$0")/.."
node=$(scripts/idp-js.sh)
seconds=${HANKO_BENCH_SECONDS:-10}
concurrency=${HANKO_BENCH_CONCURRENCY:-8}
mkdir -p target/bench-idp
echo "bench-idp: node-oidc-provider, ${seconds} s at concurrency ${concurrency} …" >&2
"$node" scripts/idp-js/bench-node-oidc.mjs --seconds "$seconds" --concurrency "$concurrency" \
  2> >(grep -v 'oidc-provider WARNING' >&2) | tee target/bench-idp/node.json
# TODO(h2): the hanko half — `hanko bench idp` (crates/cli/src/bench_idp.rs) once crates/idp has
# landed: build the release binary and run it with the node result as its yardstick.
