#!/usr/bin/env bash
# Brings up a throwaway PostgreSQL server for the test suite (the PostgreSQL backend of the
# store tests, ARCHITECTURE.md §3.12): installs postgresql when initdb/pg_ctl are missing,
# creates a cluster under target/pg (or /tmp/hanko-pg-<uid> when the postgres user cannot reach
# the repository), starts it without systemd on 127.0.0.1:55432 (and a unix socket in the data
# directory) with trust authentication, fsync on and max_connections 200, and makes sure the
# superuser role `hanko` owns a database `hanko_test`. Idempotent; returns at once when the
# server already answers. Restarts a killed server (a stale postmaster.pid is removed).
#
#   export HANKO_TEST_POSTGRES=$(scripts/pg-up.sh)
#   HANKO_PG_PORT=55433 scripts/pg-up.sh     another port (only to test this script itself)
#
# stdout carries exactly one line, the URL: postgres://hanko@127.0.0.1:55432/hanko_test
# Progress goes to stderr, the server's log to target/pg.log. The server is left running
# (several test binaries share it); stop it with pg_ctl -D target/pg stop (as postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

port=${HANKO_PG_PORT:-55432}
url="postgres://hanko@127.0.0.1:${port}/hanko_test"

say() { echo "pg-up: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# The server refuses to run as root: as root, run its tools as the postgres system user.
# (From /, which that user can always enter; every path below is absolute.)
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
# The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin).
pg_bin() { find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1; }
db_answers() { psql "$url" -qAtX -c 'select 1' >/dev/null 2>&1; }

# Fast path: the server answers and the database is there.
if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p "$port" -U postgres && db_answers; then
  echo "$url"
  exit 0
fi

bin=$(pg_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ] || ! command -v psql >/dev/null; then
  say "installing postgresql"
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    postgresql postgresql-client >&2
  bin=$(pg_bin)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] || { say "no initdb under /usr/lib/postgresql/*/bin"; exit 1; }
fi
major=$(basename "$(dirname "$bin")")

mkdir -p target
# One bring-up at a time (the lock's fd is closed for the server so that it does not hold it).
exec 9>target/pg-up.lock
flock 9
if pg_isready -q -h 127.0.0.1 -p "$port" -U postgres && db_answers; then
  echo "$url"
  exit 0
fi

# Where the cluster lives: target/pg when the postgres user can reach it and the socket path
# fits a sockaddr_un (107 bytes); otherwise /tmp/hanko-pg-<uid>, with target/pg a link to it.
datadir="$PWD/target/pg"
log="$PWD/target/pg.log"
reachable=true
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$PWD/target"; then reachable=false; fi
if ! $reachable || [ $((${#datadir} + 16)) -gt 100 ]; then
  datadir="/tmp/hanko-pg-$(id -u)"
  log="$datadir.log"
  [ -e target/pg ] && [ ! -L target/pg ] || ln -sfn "$datadir" target/pg
  say "the postgres user cannot use $PWD/target; cluster in $datadir"
fi
if [ "$(id -u)" -eq 0 ]; then
  touch "$log" && chown postgres: "$log"
fi

# A cluster of another major version (or a half-made one) is thrown away: this is a test server.
if [ ! -s "$datadir/PG_VERSION" ] || [ "$(cat "$datadir/PG_VERSION")" != "$major" ]; then
  say "creating a PostgreSQL $major cluster in $datadir"
  rm -rf "$datadir"
  mkdir -p "$datadir"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$datadir"
  chmod 700 "$datadir"
  as_pg "$bin/initdb" -D "$datadir" -U postgres --auth=trust --encoding=UTF8 --no-locale >>"$log" 2>&1 \
    || { say "initdb failed; see $log"; tail -n 20 "$log" >&2; exit 1; }
fi

# Our settings, rewritten on every start so that a change here takes effect.
as_pg tee "$datadir/hanko.conf" >/dev/null <<EOF
# Written by scripts/pg-up.sh on every start.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$datadir'
fsync = on
max_connections = 200
EOF
as_pg tee "$datadir/pg_hba.conf" >/dev/null <<EOF
# Written by scripts/pg-up.sh: a throwaway test server, trust on the socket and loopback only.
local all all trust
host  all all 127.0.0.1/32 trust
EOF
grep -q "^include 'hanko.conf'" "$datadir/postgresql.conf" \
  || echo "include 'hanko.conf'" | as_pg tee -a "$datadir/postgresql.conf" >/dev/null

# A postmaster.pid whose process is gone (a killed server, a rebooted machine that reused the
# pid for something else) is stale: remove it, so the start below does not trip over it.
running=false
if [ -f "$datadir/postmaster.pid" ]; then
  pid=$(head -n 1 "$datadir/postmaster.pid")
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] \
    && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
    running=true
  else
    # A killed postmaster stays a zombie until init reaps it, and the server takes a live pid
    # (even a zombie) for a running postmaster: give init a moment.
    for _ in $(seq 1 100); do
      [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] || break
      sleep 0.1
    done
    say "removing the stale postmaster.pid (pid $pid is gone)"
    rm -f "$datadir/postmaster.pid" "$datadir/.s.PGSQL.$port.lock"
  fi
fi

if ! $running; then
  # Backends of a killed server notice its death within a moment and exit; until they do they
  # hold its shared memory and a new server refuses to start. They run with the data dir as cwd.
  for _ in $(seq 1 100); do
    orphans=false
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/cwd" 2>/dev/null)" = "$(readlink -f "$datadir")" ] && { orphans=true; break; }
    done
    $orphans || break
    sleep 0.1
  done
  say "starting PostgreSQL $major on 127.0.0.1:$port (log: $log)"
  started=false
  for attempt in 1 2 3; do
    # pg_ctl detaches the server into its own session with stdin/stdout off our pipes.
    if as_pg "$bin/pg_ctl" -D "$datadir" -l "$log" -w -t 60 start >&2 9>&-; then
      started=true
      break
    fi
    # Backends of a killed server may still hold its shared memory for a moment.
    say "start attempt $attempt failed; retrying"
    sleep 2
  done
  $started || { say "the server does not start; see $log"; tail -n 20 "$log" >&2; exit 1; }
fi

for _ in $(seq 1 600); do
  pg_isready -q -h 127.0.0.1 -p "$port" -U postgres && break
  sleep 0.1
done
pg_isready -q -h 127.0.0.1 -p "$port" -U postgres || { say "no answer on 127.0.0.1:$port; see $log"; exit 1; }

admin() { psql "postgres://postgres@127.0.0.1:${port}/postgres" -qAtX -v ON_ERROR_STOP=1 "$@"; }
if [ -z "$(admin -c "select 1 from pg_roles where rolname = 'hanko'")" ]; then
  say "creating role hanko"
  admin -c 'create role hanko login superuser' >&2
fi
if [ -z "$(admin -c "select 1 from pg_database where datname = 'hanko_test'")" ]; then
  say "creating database hanko_test"
  admin -c 'create database hanko_test owner hanko' >&2
fi
db_answers || { say "cannot connect to $url"; exit 1; }
echo "$url"
