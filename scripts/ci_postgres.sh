#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the store's PostgreSQL test suite and prints
#
#   QEYNOS_TEST_POSTGRES_URL=postgres://qeynos:<password>@127.0.0.1:<port>/qeynos_test
#   QEYNOS_TEST_POSTGRES_DIR=<cluster directory>
#
# on stdout (progress goes to stderr), so `export $(scripts/ci_postgres.sh)` sets both.
# `scripts/ci_postgres.sh stop DIR` stops that cluster and deletes its directory.
#
# Installs Debian's postgresql package when no server binaries are found (needs root and apt-get).
# The cluster runs as a non-root user (`postgres` when started by root), listens on a free
# loopback port only, uses password (SCRAM) authentication, and trades durability for speed
# (fsync off): it holds test data only.
set -euo pipefail

say() { echo "ci_postgres: $*" >&2; }

find_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
  elif command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
  fi
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    # runuser lives in /usr/sbin or /sbin, which a minimal PATH may leave out.
    PATH="$PATH:/usr/sbin:/sbin" runuser -u "$OWNER" -- "$@"
  else
    "$@"
  fi
}

if [ "${1:-}" = "stop" ]; then
  dir=${2:?usage: ci_postgres.sh stop DIR}
  [ -f "$dir/data/PG_VERSION" ] || { say "no cluster in $dir"; exit 1; }
  BINDIR=$(find_bindir)
  OWNER=$(stat -c %U "$dir/data")
  as_owner "$BINDIR/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  rm -rf "$dir"
  say "stopped and removed $dir"
  exit 0
fi

BINDIR=$(find_bindir)
if [ -z "$BINDIR" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "PostgreSQL is not installed and cannot be installed here (needs root and apt-get)"
    exit 1
  fi
  say "installing postgresql with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BINDIR=$(find_bindir)
  [ -n "$BINDIR" ] || { say "postgresql installed but pg_ctl was not found"; exit 1; }
fi

if [ "$(id -u)" = 0 ]; then
  OWNER=postgres
  id "$OWNER" >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin "$OWNER"
else
  OWNER=$(id -un)
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/qeynos-pg.XXXXXX")
chmod 755 "$DIR"
PASSWORD=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$PASSWORD" >"$DIR/pwfile"
mkdir -p "$DIR/socket"
if [ "$(id -u)" = 0 ]; then chown -R "$OWNER" "$DIR"; fi

say "initdb in $DIR/data ($BINDIR, owner $OWNER)"
as_owner "$BINDIR/initdb" -D "$DIR/data" -U qeynos --pwfile="$DIR/pwfile" --auth=scram-sha-256 \
  --encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || {
  cat "$DIR/initdb.log" >&2
  exit 1
}
rm -f "$DIR/pwfile"

# A port nobody listens on; pg_ctl fails if another process takes it first, so retry.
port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
started=""
for _ in 1 2 3 4 5 6 7 8; do
  port=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
  port_is_free "$port" || continue
  if as_owner "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 \
    -o "-p $port -k $DIR/socket -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >&2; then
    started=$port
    break
  fi
done
[ -n "$started" ] || {
  say "could not start the server; log follows"
  cat "$DIR/server.log" >&2 || true
  exit 1
}

PGPASSWORD=$PASSWORD "$BINDIR/createdb" -h 127.0.0.1 -p "$started" -U qeynos qeynos_test >&2
say "listening on 127.0.0.1:$started; stop with: scripts/ci_postgres.sh stop $DIR"
echo "QEYNOS_TEST_POSTGRES_URL=postgres://qeynos:$PASSWORD@127.0.0.1:$started/qeynos_test"
echo "QEYNOS_TEST_POSTGRES_DIR=$DIR"
