#!/usr/bin/env bash
# The idp benchmark: full login flows per second through the hanko idp (`hanko bench idp`: its
# real HTTP endpoints, emulated cards in process) next to node-oidc-provider configured alike
# (the yardstick, scripts/idp-js/bench-node-oidc.mjs: private_key_jwt, PKCE S256, pairwise, a
# fixed user), measured in the same run on the same machine, rounds alternating; prints both,
# the ratio (goal ≥ 3×) and where a login's time goes.
#
#   scripts/bench-idp.sh
#   HANKO_BENCH_SECONDS=20 HANKO_BENCH_CONCURRENCY=16 scripts/bench-idp.sh
#   HANKO_BENCH_SCOPE=openid scripts/bench-idp.sh   logins without the 4 facts
#   HANKO_IDP_NODE=npm scripts/bench-idp.sh         the yardstick on Node.js 22 (oidc-provider's
#                                                   supported runtime) from the npm registry
#   scripts/bench-idp.sh --json                     one JSON object (other arguments pass through)
set -euo pipefail
cd "$(dirname "$0")/.."
node=$(scripts/idp-js.sh)
cargo build -q --release --locked -p hanko-cli
./target/release/hanko bench idp \
  --node "$node" \
  --seconds "${HANKO_BENCH_SECONDS:-10}" \
  --concurrency "${HANKO_BENCH_CONCURRENCY:-8}" \
  --scope "${HANKO_BENCH_SCOPE:-openid name address birthdate gender}" \
  "$@"
