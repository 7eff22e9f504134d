#!/usr/bin/env bash
# Starts the PostgreSQL and Redis this machine's tests and benchmarks use, if they are not
# already running, and waits until both answer. Safe to run any number of times.
#
#   PostgreSQL: 127.0.0.1:5432, trust auth, database `test` (created if missing)
#   Redis:      127.0.0.1:6379, no persistence (a cache for fan-out, never a store)
#
# Override with PGHOST/PGPORT/PGDATABASE and REDIS_PORT. Exits non-zero when a service
# cannot be brought up within the wait (default 30 s, SERVICES_WAIT_SECONDS).
set -euo pipefail

PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGDATABASE="${PGDATABASE:-test}"
REDIS_PORT="${REDIS_PORT:-6379}"
WAIT="${SERVICES_WAIT_SECONDS:-30}"

log() { printf 'services: %s\n' "$*" >&2; }

wait_for() { # name, command...
  local name="$1"; shift
  local deadline=$((SECONDS + WAIT))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then log "$name did not become ready within ${WAIT}s"; return 1; fi
    sleep 0.2
  done
  log "$name ready"
}

pg_ready() { pg_isready -q -h "$PGHOST" -p "$PGPORT"; }

start_postgres() {
  if pg_ready; then log "postgres already running on $PGHOST:$PGPORT"; return 0; fi
  command -v pg_ctlcluster >/dev/null || { log "pg_ctlcluster not found: install postgresql"; return 1; }
  local version
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
  if [[ -z "$version" ]]; then log "no PostgreSQL cluster under /etc/postgresql"; return 1; fi
  log "starting postgres $version/main"
  # A cluster left 'online' in pg_lsclusters by a crash keeps a stale pid file; pg_ctlcluster
  # handles that itself. Ignore "already running" races with a concurrent caller.
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ready || true
  wait_for postgres pg_ready
}

ensure_database() {
  # Trust auth on 127.0.0.1: connect as postgres and create the database once.
  local exists
  exists="$(psql -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$PGDATABASE'" 2>/dev/null || true)"
  if [[ "$exists" != "1" ]]; then
    log "creating database $PGDATABASE"
    psql -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -qc "CREATE DATABASE \"$PGDATABASE\"" 2>/dev/null \
      || log "could not create $PGDATABASE (it may have been created concurrently)"
  fi
}

redis_ready() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]; }

start_redis() {
  if redis_ready; then log "redis already running on 127.0.0.1:$REDIS_PORT"; return 0; fi
  command -v redis-server >/dev/null || { log "redis-server not found: install redis-server"; return 1; }
  mkdir -p /var/lib/redis /var/log/redis
  log "starting redis on 127.0.0.1:$REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for redis redis_ready
}

start_postgres
ensure_database
start_redis
