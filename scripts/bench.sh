#!/usr/bin/env bash
# Benchmarks. Each prints our number next to a yardstick measured in the same run.
#   scripts/bench.sh                  verify, card, CRL at 1M entries, authority (CRL from a 1M register)
#   HANKO_CRL_ENTRIES=20000000 scripts/bench.sh   the national-scale CRL (both CRL benches)
#   HANKO_TEST_POSTGRES=postgres://… scripts/bench.sh   issuance on PostgreSQL too
#   HANKO_SOAK_SECONDS=600 scripts/bench.sh   the platform's 10-minute soak (default 60 s)
# Installs oha (cargo install) when missing: the platform bench's constant-rate latency run.
# Installs wrk and nginx-light when missing (bench authority drives both with wrk; nginx is only
# started by the bench itself, on a temporary configuration, never as a service).
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]}" >&2
  # Keep the package's service from starting (no systemd here; policy-rc.d covers sysvinit):
  # a temporary policy-rc.d unless the system has one.
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt_install() { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
  apt_install || { as_root apt-get update -q >/dev/null && apt_install; }
  [ -z "$made_policy" ] || as_root rm -f /usr/sbin/policy-rc.d
fi
export PATH="$PATH:/usr/sbin"
# bench card --pcsc reaches the vpcd reader through libpcsclite: build with the pcsc feature
# (pcsc-up.sh installs libpcsclite-dev).
scripts/pcsc-up.sh >/dev/null
command -v oha >/dev/null || cargo install -q --locked oha
cargo build -q --release --locked -p hanko-cli --features pcsc
./target/release/hanko bench verify --seconds "${HANKO_BENCH_SECONDS:-3}"
./target/release/hanko bench card --seconds "${HANKO_BENCH_SECONDS:-3}" --pcsc
./target/release/hanko bench crl --entries "${HANKO_CRL_ENTRIES:-1000000}" --dir target/bench-crl
./target/release/hanko bench authority --crl-entries "${HANKO_CRL_ENTRIES:-1000000}" --dir target/bench-authority
./target/release/hanko bench crl --fetch --entries "${HANKO_CRL_ENTRIES:-1000000}" --dir target/bench-crl-fetch
./target/release/hanko bench platform --seconds "${HANKO_BENCH_SECONDS:-10}" --soak "${HANKO_SOAK_SECONDS:-60}"
