# Sourced by scripts/test and scripts/test-cluster: a throwaway PostgreSQL cluster in a temporary
# directory on a free port. start_postgres starts it and exports THAW_TEST_POSTGRES_URL (a
# superuser, trust authentication); stop_postgres stops it and removes the directory.
# PostgreSQL refuses to run as root: as root, it runs as the postgres account the package made.

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

pg_as() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  PGDIR=$(mktemp -d /tmp/thaw-pg.XXXXXX)
  PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  [ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
  pg_as "$(pg_bin)/initdb" -D "$PGDIR/data" -U thaw --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  pg_as "$(pg_bin)/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDIR -c fsync=off -c max_connections=300" start >/dev/null
  export THAW_TEST_POSTGRES_URL="postgres://thaw@127.0.0.1:$PGPORT/postgres"
}

stop_postgres() {
  [ -n "${PGDIR:-}" ] || return 0
  pg_as "$(pg_bin)/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGDIR"
  PGDIR=""
}
