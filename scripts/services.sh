#!/usr/bin/env bash
# Throwaway PostgreSQL and NATS JetStream servers for the tests, from
# Debian's packages (postgresql, nats-server), on loopback ports, with
# their data in one temporary directory.
#
#   eval "$(scripts/services.sh start)"   # prints the exports
#   scripts/services.sh stop DIR          # DIR = $ORGALLERY_SERVICES_DIR
#
# start prints ORGALLERY_TEST_POSTGRES (a superuser URL on which the tests
# create their own databases), ORGALLERY_TEST_NATS and
# ORGALLERY_SERVICES_DIR. PostgreSQL refuses to run as root, so as root the
# cluster is run by the `postgres` user the package created.
set -euo pipefail

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local bin dir pg_port nats_port
  bin=$(pg_bin) || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
  command -v nats-server >/dev/null || { echo "nats-server is not installed (apt-get install nats-server)" >&2; exit 1; }
  dir=$(mktemp -d /tmp/orgallery-services.XXXXXX)
  chmod 755 "$dir"
  mkdir -p "$dir/pg" "$dir/nats"
  [ "$(id -u)" = 0 ] && chown postgres "$dir/pg"
  pg_port=$(free_port)
  as_pg "$bin/initdb" -D "$dir/pg/data" -U postgres --auth=trust --locale=C.UTF-8 --encoding=UTF8 >"$dir/pg/initdb.log" 2>&1 \
    || { cat "$dir/pg/initdb.log" >&2; exit 1; }
  # fsync stays on: the tests kill nodes, not the machine, but they should
  # see the durability a real deployment has.
  as_pg "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 \
    -o "-p $pg_port -k $dir/pg -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null \
    || { cat "$dir/pg/server.log" >&2; exit 1; }
  nats_port=$(free_port)
  # Detached from our stdout, so `eval "$(… start)"` returns.
  nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$dir/nats/store" -l "$dir/nats/server.log" -P "$dir/nats/pid" \
    </dev/null >/dev/null 2>&1 &
  for _ in $(seq 100); do
    (echo >"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break
    sleep 0.1
  done
  echo "export ORGALLERY_SERVICES_DIR=$dir"
  echo "export ORGALLERY_TEST_POSTGRES=postgres://postgres@127.0.0.1:$pg_port/postgres"
  echo "export ORGALLERY_TEST_NATS=nats://127.0.0.1:$nats_port"
}

stop() {
  local dir=${1:?services dir} bin
  bin=$(pg_bin) || true
  if [ -n "$bin" ] && [ -d "$dir/pg/data" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$dir/nats/pid" ]; then
    kill "$(cat "$dir/nats/pid")" 2>/dev/null || true
  fi
  case "$dir" in /tmp/orgallery-services.*) rm -rf "$dir" ;; esac
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
