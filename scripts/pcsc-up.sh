#!/usr/bin/env bash
# Brings up the PC/SC test path (shared/spec/10-card.md §10): installs pcscd, the vpcd reader
# driver, OpenSC and the PC/SC headers when they are missing, starts pcscd without systemd when
# it is not running, and waits until vpcd's readers "Virtual PCD 00 00" / "Virtual PCD 00 01"
# are listed. Idempotent; returns at once when everything is already up.
#
#   scripts/pcsc-up.sh          pcscd's log goes to target/pcscd.log
#
# pcscd is left running afterwards (several test binaries share it).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# A live pcscd (a dead one whose parent has not reaped it yet does not count).
pcscd_alive() { ps -C pcscd -o stat= 2>/dev/null | grep -qv '^Z'; }
readers_up() { opensc-tool -l 2>/dev/null | grep -q 'Virtual PCD'; }

# Fast path: everything is there and pcscd answers.
if command -v opensc-tool >/dev/null && readers_up; then
  exit 0
fi

need=()
for p in pcscd vsmartcard-vpcd opensc libpcsclite-dev pkg-config pcsc-tools; do
  installed "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "pcsc-up: installing ${need[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

pcscd_bin=$(command -v pcscd || echo /usr/sbin/pcscd)
if ! pcscd_alive; then
  mkdir -p target
  echo "pcsc-up: starting pcscd (log: target/pcscd.log)" >&2
  # No systemd here: run it in the foreground of its own session, detached from our
  # stdin/stdout so that a caller reading our output does not wait for pcscd to exit.
  as_root setsid "$pcscd_bin" --foreground </dev/null >>target/pcscd.log 2>&1 &
fi

for _ in $(seq 1 100); do
  if readers_up; then
    exit 0
  fi
  sleep 0.1
done
echo "pcsc-up: pcscd does not list the vpcd readers; see target/pcscd.log" >&2
echo "pcsc-up: (a pcscd started before vsmartcard-vpcd was installed must be restarted)" >&2
opensc-tool -l >&2 || true
exit 1
