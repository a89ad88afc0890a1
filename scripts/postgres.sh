#!/usr/bin/env bash
# A throwaway PostgreSQL server in a folder, for the tests, .ci/run and local experiments.
#
#   scripts/postgres.sh start DIR            initdb + start on a free 127.0.0.1 port (socket in DIR/socket)
#   scripts/postgres.sh url DIR [ROLE] [DB]  print postgresql+psycopg://ROLE:PASSWORD@127.0.0.1:PORT/DB
#   scripts/postgres.sh stop DIR             stop the server (fast, then immediate); DIR is left for removal
#
# Roles: mlgate_admin (superuser, unix socket only, no password), mlgate_owner (password; owns the databases
# mlgate and mlflow), mlgate_reader (password; may only SELECT in mlgate's public schema, and its sessions are
# read-only by default). Passwords are random, kept in DIR/passwords (mode 600). TCP connections need a
# password (scram-sha-256); the server listens on 127.0.0.1 only.
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` system user (created when
# missing), so DIR must be reachable by it (a folder under /tmp, not under a private home or pytest's tmp).
# Every wait is bounded (30 s). Binaries: the newest /usr/lib/postgresql/*/bin, or $PG_BINDIR. A free port is
# picked with $PYTHON (default python3).
set -euo pipefail

usage() { echo "usage: $0 start|stop|url DIR [ROLE] [DB]" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1
dir=$(realpath -m "$2")
data=$dir/data socket=$dir/socket

bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
  echo "postgres.sh: PostgreSQL server binaries not found (no initdb/pg_ctl in /usr/lib/postgresql/*/bin);" \
       "install the Debian package postgresql (scripts/install-system-deps.sh does)" >&2
  exit 3
fi

as_server() {  # run a command as the user the server runs as
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  "${PYTHON:-python3}" - <<'EOF'
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
EOF
}

password() { sed -n "s/^$1=//p" "$dir/passwords"; }

start() {
  if [ -f "$data/postmaster.pid" ] && as_server "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    echo "postgres.sh: already running in $dir (port $(cat "$dir/port"))"
    return 0
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    id -u postgres >/dev/null 2>&1 ||
      useradd --system --user-group --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "postgres.sh: $dir is not writable by the postgres user (a parent folder is private); use a folder under /tmp" >&2
      exit 2
    fi
  fi
  chmod 700 "$dir"
  if [ ! -f "$dir/passwords" ]; then
    (umask 077
     for role in mlgate_owner mlgate_reader; do
       echo "$role=$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')"
     done >"$dir/passwords")
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_server mkdir -p "$socket"
    as_server "$bindir/initdb" -D "$data" -U mlgate_admin --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 ||
      { echo "postgres.sh: initdb failed; see $dir/initdb.log" >&2; tail -n 5 "$dir/initdb.log" >&2; exit 1; }
  fi
  local server_options="-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
  server_options+=" -c full_page_writes=off -c shared_buffers=32MB -c max_connections=60"
  free_port >"$dir/port"
  port=$(cat "$dir/port")
  as_server "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 30 start -o \
    "$server_options -c port=$port -c unix_socket_directories=$socket" >/dev/null ||
    { echo "postgres.sh: the server did not start within 30 s; see $dir/server.log" >&2; tail -n 5 "$dir/server.log" >&2; exit 1; }
  psql_admin postgres -v owner="$(password mlgate_owner)" -v reader="$(password mlgate_reader)" <<'EOF'
SELECT 'CREATE ROLE mlgate_owner LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mlgate_owner')\gexec
SELECT 'CREATE ROLE mlgate_reader LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mlgate_reader')\gexec
ALTER ROLE mlgate_owner PASSWORD :'owner';
ALTER ROLE mlgate_reader PASSWORD :'reader';
ALTER ROLE mlgate_reader SET default_transaction_read_only = on;
SELECT 'CREATE DATABASE mlgate OWNER mlgate_owner' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mlgate')\gexec
SELECT 'CREATE DATABASE mlflow OWNER mlgate_owner' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mlflow')\gexec
EOF
  psql_admin mlgate <<'EOF'
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO mlgate_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO mlgate_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE mlgate_owner IN SCHEMA public GRANT SELECT ON TABLES TO mlgate_reader;
EOF
  echo "postgres.sh: running in $dir on 127.0.0.1:$port"
}

psql_admin() {  # psql_admin DB [psql options] <script
  local db=$1; shift
  as_server "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$socket" -p "$(cat "$dir/port")" -U mlgate_admin -d "$db" "$@" >/dev/null
}

stop() {
  [ -f "$data/postmaster.pid" ] || { echo "postgres.sh: not running in $dir"; return 0; }
  as_server "$bindir/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
    as_server "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null
  echo "postgres.sh: stopped the server in $dir"
}

url() {
  local role=${1:-mlgate_owner} db=${2:-mlgate}
  [ -f "$dir/port" ] && [ -f "$dir/passwords" ] || { echo "postgres.sh: no server set up in $dir" >&2; exit 2; }
  local secret
  secret=$(password "$role")
  [ -n "$secret" ] || { echo "postgres.sh: unknown role $role (mlgate_owner or mlgate_reader)" >&2; exit 2; }
  echo "postgresql+psycopg://$role:$secret@127.0.0.1:$(cat "$dir/port")/$db"
}

case $action in
  start) start ;;
  stop) stop ;;
  url) url "${3:-}" "${4:-}" ;;
  *) usage ;;
esac
