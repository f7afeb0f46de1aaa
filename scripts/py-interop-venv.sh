#!/usr/bin/env bash
# The Python virtualenv the hanko-pki interop tests drive real JOSE and PDF-signing tools from:
# jwcrypto (JWE), pyHanko (PAdES) and python-pkcs11 (pyHanko through OpenSC), pinned.
# Idempotent; prints the venv's python.
#
#   scripts/py-interop-venv.sh            (the tests call it themselves when the venv is missing)
set -euo pipefail
cd "$(dirname "$0")/.."
JWCRYPTO_VERSION=1.6.1
PYHANKO_VERSION=0.38.0
PYTHON_PKCS11_VERSION=0.10.1
venv=${HANKO_PY_VENV:-$PWD/target/pyinterop-venv}
if ! "$venv/bin/python" -c "
import jwcrypto, pyhanko, importlib.metadata as m
assert m.version('jwcrypto') == '$JWCRYPTO_VERSION' and m.version('pyHanko') == '$PYHANKO_VERSION'
assert m.version('python-pkcs11') == '$PYTHON_PKCS11_VERSION'
" 2>/dev/null; then
  echo "installing jwcrypto $JWCRYPTO_VERSION and pyHanko $PYHANKO_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "jwcrypto==$JWCRYPTO_VERSION" "pyHanko==$PYHANKO_VERSION" \
    "python-pkcs11==$PYTHON_PKCS11_VERSION" >&2
fi
echo "$venv/bin/python"
