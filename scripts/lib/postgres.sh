# A throw-away PostgreSQL cluster for tests and benchmarks: `pg_start [durable]` runs initdb into
# a new temp folder and starts a server listening only on a Unix socket in that folder; it
# exports PG_URL (superuser `jwt_auth`, database `postgres`) and PG_DIR, and stops and deletes
# everything when the calling script exits (after the script's own EXIT trap, if it has one).
# Never a system service; nothing outside the temp folder is touched.
#
# Tests run with fsync off (the cluster lives for one run; the crash test kills the app server,
# never PostgreSQL); `durable` keeps PostgreSQL's defaults (fsync, synchronous_commit), for
# benchmarks that compare with SQLite's synchronous=FULL.
#
# initdb refuses to run as root, so as root the cluster belongs to `nobody`.
# Source this file (bash); needs PG_BIN (written to .tools/env by scripts/setup).

pg_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
  PG_DIR=
}

pg_as() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u nobody -- "$@"); else "$@"; fi
}

pg_start() {
  [ -x "${PG_BIN:-}/initdb" ] || { echo "PostgreSQL's initdb not found (PG_BIN=${PG_BIN:-}); run scripts/setup" >&2; return 1; }
  local settings="-c max_connections=400 -c shared_buffers=128MB"
  [ "${1:-}" = durable ] || settings="$settings -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/jwt-auth-pg.XXXXXX")
  local previous
  previous=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
  # shellcheck disable=SC2064 # expanded now, on purpose
  trap "${previous}${previous:+; }pg_stop" EXIT
  trap 'exit 130' INT TERM
  [ "$(id -u)" = 0 ] && chown nobody "$PG_DIR"
  pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U jwt_auth --auth=trust --no-sync \
    --encoding=UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  # Unix socket only: no TCP port to collide with.
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -s start -o \
    "-c listen_addresses='' -c unix_socket_directories='$PG_DIR' $settings" \
    || { cat "$PG_DIR/server.log" >&2; return 1; }
  export PG_URL="postgres://jwt_auth@localhost/postgres?host=$PG_DIR"
}
