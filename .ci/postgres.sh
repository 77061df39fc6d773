#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server for the sweep storage tests and prints the lines to
# export (source it: `eval "$(bash .ci/postgres.sh)"`, or let .ci/run do it):
#   FITLOOP_TEST_POSTGRES_URL  postgres://fitloop:<random>@127.0.0.1:<port>/fitloop
#   FITLOOP_PG_DIR             the cluster's folder (stop: pg_ctl -D "$FITLOOP_PG_DIR/data" stop)
# Installs Debian's `postgresql` package when no server binaries are found (as root, with
# apt-get). The cluster lives in a temporary folder, listens on 127.0.0.1 only, uses
# SCRAM passwords, and runs as the `postgres` user when this script runs as root (the
# server refuses to run as root). Progress goes to stderr.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

find_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

BIN=$(find_bin || true)
if [ -z "$BIN" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    BIN=$(find_bin || true)
  fi
fi
if [ -z "$BIN" ]; then
  log "no PostgreSQL server binaries found and none could be installed"
  exit 1
fi

DIR=$(mktemp -d /tmp/fitloop-pg.XXXXXX)
PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)
printf '%s\n' "$PASSWORD" >"$DIR/pwfile"
PORT=""
for p in $(seq 55432 55482); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then PORT=$p; break; fi
done
if [ -z "$PORT" ]; then log "no free port in 55432-55482"; exit 1; fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown -R postgres "$DIR"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

log "initdb in $DIR/data ($BIN)"
as_owner "$BIN/initdb" -D "$DIR/data" -U fitloop --pwfile="$DIR/pwfile" \
  --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
  as_owner "$BIN/initdb" -D "$DIR/data" -U fitloop --pwfile="$DIR/pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C >"$DIR/initdb.log" 2>&1
rm -f "$DIR/pwfile"
as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c max_connections=100 -c fsync=off" >&2
PGPASSWORD="$PASSWORD" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U fitloop -d postgres -qc \
  "CREATE DATABASE fitloop" >&2
log "server on 127.0.0.1:$PORT, database fitloop"
echo "export FITLOOP_TEST_POSTGRES_URL=postgres://fitloop:$PASSWORD@127.0.0.1:$PORT/fitloop"
echo "export FITLOOP_PG_DIR=$DIR"
echo "export FITLOOP_PG_BIN=$BIN"
