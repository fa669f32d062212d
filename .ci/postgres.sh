#!/usr/bin/env bash
# Starts a throwaway Postgres for the connection-contention tests, when the machine has one installed.
# Prints the DATABASE_URL and a command that stops it on success; nothing (the tests say why they skip) otherwise.
set -u
initdb=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -n 1)
[ -n "$initdb" ] || exit 0
bin=$(dirname "$initdb")
dir=$(mktemp -d /tmp/glasswork-pg.XXXXXX)
port=${GLASSWORK_PG_PORT:-55439}
run() {
  # initdb refuses to run as root.
  if [ "$(id -u)" = 0 ]; then chown -R nobody "$dir" && su nobody -s /bin/bash -c "$*"; else bash -c "$*"; fi
}
run "'$bin/initdb' -D '$dir/data' -U postgres -A trust" >/dev/null 2>&1 || exit 0
run "'$bin/pg_ctl' -D '$dir/data' -o '-p $port -k $dir -c listen_addresses=127.0.0.1' -l '$dir/log' -w start" >/dev/null 2>&1 || exit 0
# The URL, then the command that stops it (run by .ci/run on exit).
stop="$bin/pg_ctl -D $dir/data -m fast stop"
[ "$(id -u)" = 0 ] && stop="su nobody -s /bin/bash -c '$stop'"
echo "postgres://postgres@127.0.0.1:$port/postgres $stop; rm -rf $dir"
