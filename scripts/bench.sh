#!/usr/bin/env bash
# Benchmarks. Each prints our number next to a yardstick measured in the same run.
#   scripts/bench.sh                  verify + CRL at 1M entries
#   HANKO_CRL_ENTRIES=20000000 scripts/bench.sh   the national-scale CRL
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --locked -p hanko-cli
./target/release/hanko bench verify --seconds "${HANKO_BENCH_SECONDS:-3}"
scripts/pcsc-up.sh >/dev/null
./target/release/hanko bench card --seconds "${HANKO_BENCH_SECONDS:-3}" --pcsc
./target/release/hanko bench crl --entries "${HANKO_CRL_ENTRIES:-1000000}" --dir target/bench-crl
