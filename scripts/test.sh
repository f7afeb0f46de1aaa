#!/usr/bin/env bash
# Runs every hanko test on a fresh machine: installs what the tests need when it is missing,
# then formatting, lints, the whole test suite, docs, and a short smoke run of every fuzz target.
#
#   scripts/test.sh            everything
#   HANKO_FUZZ_SECONDS=0 scripts/test.sh   skip the fuzz smoke
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- system packages the tests talk to ---------------------------------------------------
need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v cc >/dev/null || need_apt+=(build-essential)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing ${need_apt[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
openssl version

export CARGO_TERM_COLOR=never
say "format"
cargo fmt --all -- --check

say "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

say "tests"
mkdir -p target
cargo test --workspace --locked 2>&1 | tee target/test-output.txt

say "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked -q

say "the README's main command"
rm -rf target/readme-demo
cargo run -q --release --locked -p hanko-cli -- demo --dir target/readme-demo > target/readme-demo.txt
grep -q "verify CMS detached:  OK" target/readme-demo.txt
grep -q "REVOKED (affiliationChanged)" target/readme-demo.txt

# --- fuzz smoke: every target for a few seconds (cargo-fuzz needs nightly features) --------
FUZZ_SECONDS=${HANKO_FUZZ_SECONDS:-10}
if [ "$FUZZ_SECONDS" != "0" ]; then
  say "fuzz smoke (${FUZZ_SECONDS}s per target)"
  command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked -q
  export RUSTC_BOOTSTRAP=1
  targets=$(cd fuzz && cargo fuzz list)
  for t in $targets; do
    (cd fuzz && cargo fuzz run "$t" -- -max_total_time="$FUZZ_SECONDS" -max_len=65536 2>&1 | tail -n 2)
  done
fi

passed=$(grep -oE 'test result: ok\. [0-9]+ passed' target/test-output.txt | awk '{s+=$4} END {print s+0}')
say "all checks passed"
echo "tests: ${passed} passed, 0 failed"
