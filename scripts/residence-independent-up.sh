#!/usr/bin/env bash
# Brings up the independent residence-card reader that tests/pcsc_residence.rs runs against the
# emulated card through pcscd: ZairyuCardReader (readers/zairyu.py) of
# https://github.com/AkiThuong/Agentfront-NFC-Card — a pyscard reader written to
# 在留カード等仕様書 Ver 1.5 by people outside this project — pinned to commit 3a56aca.
# It needs Debian's python3-pyscard and python3-pycryptodome (installed when missing) and is
# checked out into target/agentfront-nfc-card (or HANKO_ZAIRYU_READER_DIR when set).
# Prints the checkout directory. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

COMMIT=3a56acacadf357f0daf4e1447955b4c8115582c8
dir=${HANKO_ZAIRYU_READER_DIR:-$PWD/target/agentfront-nfc-card}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
need=()
for p in python3-pyscard python3-pycryptodome; do
  installed "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "residence-independent-up: installing ${need[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

if [ ! -f "$dir/readers/zairyu.py" ]; then
  mkdir -p "$dir"
  if [ -n "${HANKO_ZAIRYU_READER_GIT:-}" ]; then
    # A local mirror (git dir) of the repository.
    git --git-dir="$HANKO_ZAIRYU_READER_GIT" archive "$COMMIT" readers | tar -x -C "$dir"
  else
    tmp=$(mktemp -d)
    git clone -q https://github.com/AkiThuong/Agentfront-NFC-Card "$tmp/repo" >&2
    git -C "$tmp/repo" archive "$COMMIT" readers | tar -x -C "$dir"
    rm -rf "$tmp"
  fi
fi
echo "$dir"
