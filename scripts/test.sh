#!/usr/bin/env bash
# Runs every hanko test on a fresh machine: installs what the tests need when it is missing,
# then formatting, lints, the whole test suite, docs, the API against its OpenAPI document
# (scripts/api-conformance.sh), and a short smoke run of every fuzz target.
#
#   scripts/test.sh            everything
#   HANKO_FUZZ_SECONDS=0 scripts/test.sh   skip the fuzz smoke
set -euo pipefail
cd "$(dirname "$0")/.."

start_time=$SECONDS
say() { printf '\n== %s  [%dm%02ds]\n' "$*" $(((SECONDS - start_time) / 60)) $(((SECONDS - start_time) % 60)); }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- system packages the tests talk to ---------------------------------------------------
need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v curl >/dev/null || need_apt+=(curl)  # the hanko up smoke below
command -v cc >/dev/null || need_apt+=(build-essential)
# the passport's independent reader (crates.io emrtd, scripts/emrtd-read) links the system OpenSSL
dpkg-query -W -f='${Status}' libssl-dev 2>/dev/null | grep -q 'install ok installed' || need_apt+=(libssl-dev)
command -v script >/dev/null || need_apt+=(bsdutils)  # a terminal for jpki-cli's PIN prompt
# the Japanese font of the card-face images (the card tests check rendered text)
[ -f /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ] || need_apt+=(fonts-ipafont-gothic)
# python3 with venv/pip: scripts/api-conformance.sh installs schemathesis into target/
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3 python3-venv)
# the idp's browser tests: Debian's chromium driven by playwright-core (npm, scripts/idp-js)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing ${need_apt[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
openssl version
scripts/pcsc-up.sh  # pcscd with the vpcd readers and OpenSC, for the PC/SC tests
# A throwaway PostgreSQL on 127.0.0.1:55432 for the PostgreSQL backend of the store tests (the
# same suite as SQLite, ARCHITECTURE.md §3.12); left running, log in target/pg.log.
HANKO_TEST_POSTGRES=$(scripts/pg-up.sh)
export HANKO_TEST_POSTGRES
# jpki-cli (crates.io) is the independent JPKI client of the card tests; it links libpcsclite.
# Both cargo installs run in the background (logs in target/) and are awaited where first needed:
# they fill the cores while the steps below wait on the network or on single-threaded links.
mkdir -p target
background_install() { # name, then the command
  local name=$1; shift
  say "installing $name (in the background; log: target/install-$name.log)"
  ("$@" >"target/install-$name.log" 2>&1 || { echo "installing $name failed" >>"target/install-$name.log"; exit 1; }) &
  eval "install_$(echo "$name" | tr - _)=$!"
}
await_install() {
  local pid_var=install_$(echo "$1" | tr - _)
  [ -n "${!pid_var:-}" ] || return 0
  wait "${!pid_var}" || { cat "target/install-$1.log"; exit 1; }
}
command -v jpki-cli >/dev/null || background_install jpki-cli cargo install jpki-cli --locked -q
FUZZ_SECONDS=${HANKO_FUZZ_SECONDS:-5}
if [ "$FUZZ_SECONDS" != "0" ] && ! command -v cargo-fuzz >/dev/null; then
  background_install cargo-fuzz cargo install cargo-fuzz --locked -q
fi
# Node.js and scripts/idp-js/node_modules (openid-client, jose …): the idp's interop tests run them.
scripts/idp-js.sh --chromium >/dev/null

# schemathesis (scripts/api-conformance.sh) installs into a venv in the background while the Rust
# steps run: it is network, not CPU. The conformance step waits for it.
mkdir -p target
st_version=$(sed -n 's/^ST_VERSION=//p' scripts/api-conformance.sh)
(
  venv=target/schemathesis-venv
  "$venv/bin/st" --version 2>/dev/null | grep -q "version $st_version\$" ||
    { python3 -m venv "$venv" && "$venv/bin/pip" install -q "schemathesis==$st_version"; }
) >target/schemathesis-install.log 2>&1 &
st_install=$!

export CARGO_TERM_COLOR=never
say "format"
cargo fmt --all -- --check

# The PC/SC parts (`--reader`, the PC/SC tests) are the cargo feature `pcsc`, which links
# libpcsclite (pcsc-up.sh installed libpcsclite-dev): lint, test and document with it; the default
# build (without it) is checked below with the README's command.
say "clippy"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
# Without --all-features only `pcsc` goes off, and only hanko-cardlink and hanko-cli have code
# under cfg(feature = "pcsc"): lint those two again (the other crates' code is the same).
cargo clippy -p hanko-cli -p hanko-cardlink --all-targets --locked -- -D warnings

say "tests"
await_install jpki-cli
cargo test --workspace --all-features --locked 2>&1 | tee target/test-output.txt

say "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --locked -q

say "PACE against an independent terminal (crates.io dmrtd; scripts/interop/pace-dmrtd)"
# Our emulated chip (passport/pace.rs) in memory against dmrtd's PACE terminal, MRZ and CAN, and
# dmrtd's first secure-messaging command checked under our chip's session keys.
# The workspace's target directory: the dependencies it shares with hanko (aws-lc, der, …) are
# already built there with the same profile, instead of a second cold build.
CARGO_TARGET_DIR=$PWD/target cargo run -q --locked --manifest-path scripts/interop/pace-dmrtd/Cargo.toml | tee target/pace-dmrtd.txt
grep -qx "3 passed, 0 failed" target/pace-dmrtd.txt

say "the README's main command, built as on a fresh machine (no PC/SC library)"
# PKG_CONFIG=false: pkg-config finds nothing, as on a machine without libpcsclite-dev. The
# default binary must build and run `hanko up` and the demo; --reader must say how to get PC/SC.
# The debug profile (the tests' build: only hanko-cardlink and hanko-cli are compiled again,
# without the pcsc feature) rather than a third full compile in release: the same code, and
# the README's `--release` differs only in optimisation.
PKG_CONFIG=false cargo build -q --locked -p hanko-cli
hanko=target/debug/hanko
# hanko up: the first start creates everything and serves it; a second start reuses the data.
rm -rf target/readme-up target/readme-up.json
for start in first second; do
  $hanko up --data-dir target/readme-up --port 0 --ready-file target/readme-up.json >target/readme-up-$start.txt 2>&1 &
  up_pid=$!
  for _ in $(seq 600); do [ -s target/readme-up.json ] && break; kill -0 $up_pid 2>/dev/null || break; sleep 0.2; done
  [ -s target/readme-up.json ] || { cat target/readme-up-$start.txt; echo "hanko up ($start start) did not get ready"; exit 1; }
  bank=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["urls"]["bank"])' target/readme-up.json)
  curl -fsS "$bank/" | grep -q "見本銀行"
  curl -fsS "$bank/healthz" | grep -q '"ok"'
  grep -q "試験　花子" target/readme-up-$start.txt
  kill -INT $up_pid; wait $up_pid || true
  rm -f target/readme-up.json
done
rm -rf target/readme-demo
$hanko demo --dir target/readme-demo > target/readme-demo.txt
grep -q "verify CMS detached:  OK" target/readme-demo.txt
grep -q "REVOKED (affiliationChanged)" target/readme-demo.txt
grep -q "OCSP old cert of .*: revoked (affiliationChanged)" target/readme-demo.txt
grep -q "latest 4 facts (consented: name, address): .*架空台" target/readme-demo.txt
if $hanko card show --reader "Virtual PCD" --data-dir target/readme-demo 2>target/no-pcsc.txt; then
  echo "hanko without the pcsc feature reached a reader"; exit 1
fi
grep -q -- "--features pcsc" target/no-pcsc.txt

say "API conformance (schemathesis against /openapi.json)"
wait "$st_install" || { cat target/schemathesis-install.log; echo "installing schemathesis failed"; exit 1; }
scripts/api-conformance.sh target/debug/hanko

# --- fuzz smoke: every target for a few seconds, seeded with what the demo just made ------
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets the stable toolchain provide them.
if [ "$FUZZ_SECONDS" != "0" ]; then
  say "fuzz smoke (${FUZZ_SECONDS}s per target)"
  await_install cargo-fuzz
  export RUSTC_BOOTSTRAP=1
  demo=target/readme-demo
  mkdir -p fuzz/corpus/certificate fuzz/corpus/crl fuzz/corpus/cms fuzz/corpus/ocsp_request fuzz/corpus/ocsp_response
  for f in "$demo"/documents/signer.der "$demo"/ca/*/*/ca.der "$demo"/ca/*/*/ocsp.der; do
    cp "$f" "fuzz/corpus/certificate/$(echo "${f#"$demo"/}" | tr / _)"
  done
  for f in crates/pki/tests/data/jlis-ca/*.pem; do
    [ -f "$f" ] && openssl x509 -in "$f" -outform DER -out "fuzz/corpus/certificate/$(basename "$f" .pem).der"
  done
  cp "$demo"/crl/*.crl fuzz/corpus/crl/
  cp "$demo"/documents/application.p7s fuzz/corpus/cms/
  # pades: an unsigned PDF (blank needs no pyHanko); jwe mutates valid tokens it makes itself.
  mkdir -p fuzz/corpus/pades && python3 scripts/pades-fixture.py blank fuzz/corpus/pades/blank.pdf
  auth_ca=$(ls "$demo"/ca/auth/*/ca.pem | head -n 1)
  $hanko ocsp request --issuer "$auth_ca" --serial 01 --out fuzz/corpus/ocsp_request/seed.der >/dev/null
  $hanko ocsp respond --data-dir "$demo" --request fuzz/corpus/ocsp_request/seed.der --out fuzz/corpus/ocsp_response/seed.der >/dev/null
  # authority_api: one well-formed request per route, in the target's input format (route, method,
  # key, mode, then path parameters and body; E0 xx picks word xx of the target's dictionary).
  mkdir -p fuzz/corpus/authority_api
  while read -r name hex; do
    printf "$(echo "$hex" | sed 's/../\\x&/g')" > "fuzz/corpus/authority_api/$name"
  done <<'SEEDS'
person-add 00000105000AE8A68BE69CAC20E4B8800001320225022A022900084D69686F6E2D6B7545040400
person-get 01000100E000
card-issue 02000105E0000227022800
event-facts 03000105E000022004022A040404040400
card-get 04000100E001
pin-reset 05000105E001020E022800
renewal 06000100E001
revocation 07000105E004021E00
openapi 09000000
consent 0A00060600021102060209020A06010218021500
withdrawals 0B0006100761667465723D30
consent-get 0C000600E008
consent-withdrawal 0D000606E0080002120208021500
counter-withdrawal 0E000100E008
latest-facts 0F000605020800
meter 100001100D6D6F6E74683D323032362D3034
status-checks 1100020506020204020500
ocsp-post 1200020F00
ocsp-get 13000200E02B
phone-application 14000006020213021C022F0230021500
phone-revocation 15000006E02C010214022C021500
phone-suspension 16000100E02C
crl-publish 17000100
crl-list 18000200
crl-get-signature 19000200E00DE02D
crl-get-auth 19000200E00EE02E
corresponding 1A000205020300
successor 1B000200E002
age-check 1C000205020203120000000000000000
verifier-add 1D000105020D00017800
service-add 1E000105E00600035350320002733200016E00
raw-path 1F0000000178
SEEDS
  # tlog_note: a signed checkpoint; tsp: openssl's own time-stamp queries.
  mkdir -p fuzz/corpus/tlog_note fuzz/corpus/tsp
  printf 'hanko.invalid/platform/evidence\n1\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n\n\xe2\x80\x94 hanko.invalid/platform/evidence Dl6D0QAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n' > fuzz/corpus/tlog_note/checkpoint
  openssl ts -query -data scripts/test.sh -sha256 -cert -out fuzz/corpus/tsp/query-sha256.tsq
  openssl ts -query -data scripts/test.sh -sha512 -no_nonce -out fuzz/corpus/tsp/query-sha512.tsq
  # platform_api: its reproducers are well-formed requests too (valid signature, another
  # tenant's record).
  mkdir -p fuzz/corpus/platform_api
  find fuzz/regressions/platform_api -type f ! -name README.md -exec cp {} fuzz/corpus/platform_api/ \;
  # idp_parsers: the first byte picks the parser (0 an authorization query, 1 a client
  # assertion, 2 an approval, 3 a client registration, 4 a sign transaction).
  mkdir -p fuzz/corpus/idp_parsers
  printf '\000response_type=code&client_id=RP00000001&redirect_uri=https%%3A%%2F%%2Frp.example%%2Fcb&scope=openid%%20name&state=s%%3B1&nonce=n&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256' > fuzz/corpus/idp_parsers/authorize
  printf '\001eyJhbGciOiJFUzI1NiIsImtpZCI6InJwMSJ9.eyJpc3MiOiJSUDAwMDAwMDAxIiwic3ViIjoiUlAwMDAwMDAwMSIsImF1ZCI6WyJodHRwOi8veC9hcGkvcmVhbG1zL21haW4vcHJvdG9jb2wvb3BlbmlkLWNvbm5lY3QvdG9rZW4iXSwianRpIjoiMSIsImlhdCI6MSwiZXhwIjo2MX0.c2ln' > fuzz/corpus/idp_parsers/assertion
  printf '\002{"certificate":"MIIB","signature":"AAAA","input_assist":{"facts":"/yA=","integrity_record":"AA==","cv_certificate":"AA=="}}' > fuzz/corpus/idp_parsers/approval
  printf '\003{"client_id":"RP1","name":"n","redirect_uris":["https://rp.example/cb"],"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]},"sign_result":{"jwks_uri":"http://127.0.0.1:8450/v1/jwks"},"devices":"card","claim_format":"oidc"}' > fuzz/corpus/idp_parsers/client
  printf '\004{"digest":"n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="}' > fuzz/corpus/idp_parsers/sign
  # bank_parsers: 0 a webhook body, 1 a stored record, 2 a contract's name and number.
  mkdir -p fuzz/corpus/bank_parsers
  printf '\000{"id":"evt_1","type":"facts_changed","user_id":"u1","data":{"latest_facts":{"name":"見本　花子","address":"東京都見本区架空台三丁目４番５号"}}}' > fuzz/corpus/bank_parsers/webhook
  printf '\001{"kind":"account_opening","method":{"ja":"<b>","en":"x"},"facts":{"name":"<script>"}}' > fuzz/corpus/bank_parsers/record
  printf '\002試験　花子 (a) \\ )\n1234567' > fuzz/corpus/bank_parsers/contract
  # documents_pace: 0 EF.CardAccess (ICAO 9303-11 App. G), 1/2 MSE:Set AT and GENERAL AUTHENTICATE
  # data split at A5, 3 whole APDUs.
  mkdir -p fuzz/corpus/documents_pace
  printf '\000\x31\x14\x30\x12\x06\x0a\x04\x00\x7f\x00\x07\x02\x02\x04\x02\x02\x02\x01\x02\x02\x01\x0d' > fuzz/corpus/documents_pace/card_access
  printf '\001\x80\x0a\x04\x00\x7f\x00\x07\x02\x02\x04\x02\x02\x83\x01\x02\xa5\x7c\x00\xa5\x7c\x02\x81\x00' > fuzz/corpus/documents_pace/mse_ga
  printf '\002\x7c\x00\xa5\x7c\x0a\x85\x08\x00\x00\x00\x00\x00\x00\x00\x00\xa5\x7c\x00' > fuzz/corpus/documents_pace/steps
  printf '\003\x00\x22\xc1\xa4\x0f\x80\x0a\x04\x00\x7f\x00\x07\x02\x02\x04\x02\x02\x83\x01\x02\xa5\x10\x86\x00\x00\x02\x7c\x00\x00' > fuzz/corpus/documents_pace/apdus
  # documents_residence: byte 0 = mode (0 files, 1 SM unwrap, 2 chip APDUs, 3 chip APDUs after a
  # genuine card-number authentication, 4 the reader over replayed responses).
  mkdir -p fuzz/corpus/documents_residence
  printf '\000\301\001\061' > fuzz/corpus/documents_residence/card_type
  printf '\001\206\011\001\001\002\003\004\005\006\007\010' > fuzz/corpus/documents_residence/sm
  printf '\002\007\000\244\000\000\002\077\000\007\000\260\213\000\000\000\000\005\000\204\000\000\010' > fuzz/corpus/documents_residence/apdus
  printf '\003\025\000\244\004\014\020\323\222\360\000\117\002\000\000\000\000\000\000\000\000\000\000\015\011\260\205\000\000\000\004\226\002\000\000\000\000' > fuzz/corpus/documents_residence/session
  printf '\004\002\220\000\010\302\001\061\220\000\000\000\000' > fuzz/corpus/documents_residence/replay
  # tap_whitelist: a whitelist (JSON), a NUL, then the certificate a card gives at the gate.
  mkdir -p fuzz/corpus/tap_whitelist
  printf '{"version":1,"event":"concert","key_check":"x","entries":[{"ticket":"T-0001","value":"%s"}]}\000' "$(printf 'ab%.0s' $(seq 32))" > fuzz/corpus/tap_whitelist/list
  # documents_passport: 0 EF.SOD, 1 LDS files (here ICAO's specimen DG1), 2 SM unwrap (ICAO
  # 9303-11 App. D's protected response), 3 chip APDUs (length-prefixed), 4 reader vs hostile chip.
  mkdir -p fuzz/corpus/documents_passport
  printf '\001\x61\x5b\x5f\x1f\x58P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10' > fuzz/corpus/documents_passport/dg1
  printf '\002\x99\x02\x90\x00\x8e\x08\xfa\x85\x5a\x5d\x4c\x50\xa8\xed\x90\x00' > fuzz/corpus/documents_passport/sm
  printf '\003\x0c\x00\xa4\x04\x0c\x07\xa0\x00\x00\x02\x47\x10\x01\x05\x00\x84\x00\x00\x08\x07\x00\xa4\x02\x0c\x02\x01\x1c\x05\x00\xb0\x00\x00\x00' > fuzz/corpus/documents_passport/apdus
  printf '\004\x02\x90\x00\x02\x6a\x82\x02\x90\x00\x02\x90\x00\x0a\x01\x02\x03\x04\x05\x06\x07\x08\x90\x00' > fuzz/corpus/documents_passport/responses
  # counter_photo: the first byte picks the format (0 JPEG 2000); the synthetic portrait.
  mkdir -p fuzz/corpus/counter_photo
  { printf '\000'; cat crates/card/assets/portrait.jp2; } > fuzz/corpus/counter_photo/portrait
  # documents_licence: 0 a licence file (DF1/EF01 name + end tag; MF/EF01 common data), 1 a
  # hostile chip's answers (2-byte length each) to our reader, 2 APDUs (1-byte length each) to the chip.
  mkdir -p fuzz/corpus/documents_licence
  printf '\x00\x11\x04\x31\x39\x39\x37\x12\x04\x38\x2B\x4B\x5C\x16\x07\x34\x30\x32\x30\x35\x31\x35\xFF\xFF' > fuzz/corpus/documents_licence/entries
  printf '\x00\x45\x0B\x30\x31\x30\x20\x24\x06\x01\x20\x29\x06\x15\x46\x02\x00\x01\xFF' > fuzz/corpus/documents_licence/common
  printf '\x01\x00\x02\x90\x00\x00\x02\x90\x00\x00\x12\x45\x0B\x30\x31\x30\x20\x24\x06\x01\x20\x29\x06\x15\x46\x02\x00\x01\x90\x00\x00\x02\x90\x00\x00\x05\xC1\x01\x01\x90\x00\x00\x02\x63\xC3\x00\x02\x90\x00' > fuzz/corpus/documents_licence/reader
  printf '\x02\x04\x00\xA4\x00\x00\x07\x00\xA4\x02\x0C\x02\x2F\x01\x05\x00\xB0\x00\x00\x00\x04\x00\x20\x00\x81\x09\x00\x20\x00\x81\x04\x31\x32\x33\x34\x09\x00\x20\x00\x82\x04\x35\x36\x37\x38\x15\x00\xA4\x04\x0C\x10\xA0\x00\x00\x02\x31\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00\xA4\x02\x0C\x02\x00\x01\x07\x00\xB0\x00\x00\x00\x00\x00' > fuzz/corpus/documents_licence/apdus
  # No sanitizer and opt-level 1 (fuzz/Cargo.toml): the smoke asks "does every target start, run
  # and end without a panic", and the workspace forbids unsafe code, so AddressSanitizer would only
  # instrument dependencies' unsafe Rust (the C of aws-lc is not instrumented either way); dropping
  # it and most of the optimisation halves the cold fuzz build, the largest step on a fresh machine.
  fuzz_flags=(-O --sanitizer none)
  (cd fuzz && cargo fuzz build "${fuzz_flags[@]}")
  # Every target must start, run and end cleanly: cargo-fuzz's exit status counts (a crash, a
  # target that does not build or start), an empty target list fails, and so does a run that
  # never reports libFuzzer's "Done N runs". Reproducers of old crashes are replayed by
  # `cargo test` (crates/{authority,platform}/tests/fuzz_regressions).
  targets=$(cd fuzz && cargo fuzz list)
  [ -n "$targets" ] || { echo "cargo fuzz list found no fuzz targets"; exit 1; }
  # HANKO_FUZZ_JOBS targets at a time (default 2; each libFuzzer run uses one core), each for
  # FUZZ_SECONDS: the same fuzzing per target in half the wall time.
  fuzz_jobs=${HANKO_FUZZ_JOBS:-2}
  smoke() {
    local t=$1 log=target/fuzz-$1.log
    if ! (cd fuzz && cargo fuzz run "${fuzz_flags[@]}" "$t" -- -max_total_time="$FUZZ_SECONDS" -max_len=65536) >"$log" 2>&1; then
      echo "fuzz target $t failed (log: $log, artifacts: fuzz/artifacts/$t)" >"target/fuzz-$t.status"
    elif ! grep -qE '^Done [0-9]+ runs' "$log"; then
      echo "fuzz target $t did not run (log: $log)" >"target/fuzz-$t.status"
    elif [ -n "$(ls fuzz/artifacts/"$t" 2>/dev/null)" ]; then
      echo "fuzz target $t found a crash: fuzz/artifacts/$t" >"target/fuzz-$t.status"
    else
      echo ok >"target/fuzz-$t.status"
    fi
  }
  for t in $targets; do
    rm -f "target/fuzz-$t.status"
    while [ "$(jobs -rp | wc -l)" -ge "$fuzz_jobs" ]; do sleep 0.2; done
    smoke "$t" &
  done
  wait
  fuzz_failed=0
  for t in $targets; do
    log=target/fuzz-$t.log
    status=$(cat "target/fuzz-$t.status" 2>/dev/null || echo "fuzz target $t left no status (log: $log)")
    if [ "$status" = ok ]; then
      grep -E '^Done [0-9]+ runs' "$log" | sed "s/^/$t: /"
    else
      tail -n 30 "$log"
      echo "$status"
      fuzz_failed=1
    fi
  done
  [ "$fuzz_failed" = 0 ] || exit 1
fi

passed=$(grep -oE 'test result: ok\. [0-9]+ passed' target/test-output.txt | awk '{s+=$4} END {print s+0}')
say "all checks passed"
echo "tests: ${passed} passed, 0 failed"
