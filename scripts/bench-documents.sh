#!/usr/bin/env bash
# The IC-document benchmark (issue 12, Performance), one run, release build:
#
#   - a passport's full read + passive authentication through pcscd (vpcd), next to the same
#     reads of a passport without access control (no BAC/PACE, no secure messaging): the ratio is
#     the secure-messaging overhead;
#   - a residence card read through pcscd (card-number authentication + SM + DF3 signature);
#   - the counter-check time per document end to end (`hanko check read`: open, read, verify;
#     goal < 1 s each on the emulated chips, typing excluded), in process and through pcscd;
#   - yardsticks: `openssl speed rsa2048` (one RSA-2048 verification) next to the check's
#     signature-verification steps, and the plain read next to the secure-messaging read.
#
#   scripts/bench-documents.sh
#   HANKO_VPCD_PORT=36050 HANKO_VPCD_READER="Helper5 PCD 00 00" scripts/bench-documents.sh
#
# Every number comes from `hanko check read --json` (its "timing": total and per step) and the
# wall clock around the process. A document whose module is not in this build is reported as
# "not built" and the others still run.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${HANKO_VPCD_PORT:-35963}
reader=${HANKO_VPCD_READER:-Virtual PCD 00 00}
target=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p hanko-cli --features pcsc
hanko="$target/release/hanko"
bash scripts/pcsc-up.sh

work=$(mktemp -d)
served=""
cleanup() {
  if [ -n "$served" ]; then kill "$served" 2>/dev/null || true; wait "$served" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export HANKO_DATA_DIR="$work/data"
unset HANKO_NUMBER_B HANKO_LICENCE_PIN1 HANKO_LICENCE_PIN2 HANKO_CARD_NUMBER HANKO_MRZ HANKO_CAN

"$hanko" authority init >/dev/null
"$hanko" document init >/dev/null

now_ms() { date +%s%3N; }

# serve ID: puts the emulated card or document into pcscd's reader and waits until it is seen.
serve() {
  "$hanko" card serve --card "$1" --port "$port" 2>/dev/null &
  served=$!
  for _ in $(seq 1 100); do
    if opensc-tool -l 2>/dev/null | grep -F "$reader" | grep -q Yes; then return 0; fi
    sleep 0.2
  done
  echo "bench-documents: $1 never appeared in \"$reader\"" >&2
  return 1
}
unserve() {
  kill "$served" 2>/dev/null || true
  wait "$served" 2>/dev/null || true
  served=""
  sleep 0.5
}

# check DOC SOURCE... : one counter check; prints "<total_ms> <wall_ms> <signature-step ms>" or
# "fail <why>".
check() {
  local doc=$1
  shift
  local t0 t1 out
  t0=$(now_ms)
  if ! out=$("$hanko" check read --json --document "$doc" "$@" 2>"$work/err"); then
    echo "fail $(jq -r '.error.message? // empty' <"$work/err" 2>/dev/null | head -c 120)"
    return 0
  fi
  t1=$(now_ms)
  local total sig
  total=$(jq -r '.timing.total_ms' <<<"$out")
  # The verification steps: a signature, passive authentication, the CV chain.
  sig=$(jq -r '[.timing.steps[] | select(.step | test("signature|passive|SOD|CV|EF07|DF3"; "i")) | .ms] | add // 0' <<<"$out")
  printf '%.1f %d %.1f\n' "$total" "$((t1 - t0))" "$sig"
}

# new KIND [VARIANT]: a document; prints its id (or nothing when its module is not built) and
# leaves its access code in $work/codes for load_codes.
new_document() {
  local args=(document new "$1" --json)
  [ -n "${2:-}" ] && args+=(--variant "$2")
  local out
  : >"$work/codes"
  if ! out=$("$hanko" "${args[@]}" 2>/dev/null); then
    return 0
  fi
  jq -r '.access_code | to_entries[] | "\(.key)=\(.value)"' <<<"$out" >"$work/codes"
  jq -r '.document' <<<"$out"
}
load_codes() {
  while IFS='=' read -r k v; do export "$k=$v"; done <"$work/codes"
}

rows=()
row() { rows+=("$(printf '%-34s %-9s %s' "$1" "$2" "$3")"); }
# measure LABEL DOC ID: in process and through pcscd.
measure() {
  local label=$1 doc=$2 id=$3
  if [ -z "$id" ]; then
    row "$label" "-" "not built"
    return
  fi
  row "$label" "emulated" "$(check "$doc" --emulated "$id")"
  if serve "$id"; then
    row "$label" "pcscd" "$(check "$doc" --reader "$reader")"
  fi
  unserve
}

# The My Number Card (照合番号B = era birth date of synthetic person 0 + expiry year + code).
card=$(HANKO_PIN=1234 HANKO_PASSWORD=HANKO2026 "$hanko" card new --json)
export HANKO_NUMBER_B="600401$(jq -r '.expiry[0:4]' <<<"$card")$(jq -r .security_code <<<"$card")"
measure "My Number Card (券面AP)" my-number-card "$(jq -r .card <<<"$card")"
id=$(new_document licence) && load_codes && measure "driver's licence" driver-licence "$id"
id=$(new_document residence) && load_codes && measure "residence card" residence-card "$id"
id=$(new_document passport bac) && load_codes && measure "passport, BAC + SM (3DES)" passport "$id"
unset HANKO_CAN
id=$(new_document passport pace-only) && load_codes && measure "passport, PACE + SM (AES)" passport "$id"
unset HANKO_CAN
id=$(new_document passport no-sm) && load_codes && measure "passport, no access control" passport "$id"

# Yardstick: one RSA-2048 verification by OpenSSL on this machine.
rsa_verify_ms=$(openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print 1000/$7; exit}')

echo
echo "counter check, one run each (hanko check read --json; total = open + read + verify, goal < 1000 ms)"
printf '%-34s %-9s %s\n' "document" "source" "total_ms wall_ms(process) verify_steps_ms"
printf '%s\n' "${rows[@]}"
echo
echo "yardstick: openssl speed rsa2048 → one RSA-2048 verification = ${rsa_verify_ms:-?} ms"
echo "  (verify_steps_ms / that = how many plain RSA verifications the signature checks cost)"
sm=$(printf '%s\n' "${rows[@]}" | awk '/passport, BAC/ && /pcscd/ {b=$(NF-2)} /no access control/ && /pcscd/ {p=$(NF-2)} END {if (b>0 && p>0) printf "%.2f", b/p}')
echo "secure-messaging overhead through pcscd: passport BAC+SM / no access control = ${sm:-n/a}×"
