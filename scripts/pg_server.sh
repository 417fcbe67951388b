#!/usr/bin/env bash
# A throwaway PostgreSQL + pgvector server on loopback (from scripts/setup.d/50-postgres.sh), for tests and benchmarks.
#
#   scripts/pg_server.sh start STATE_DIR [OWNER_PID]   start a server; facts go to STATE_DIR/server.env
#   scripts/pg_server.sh stop STATE_DIR                stop it and delete its data
#   scripts/pg_server.sh halt STATE_DIR                stop it (a fast shutdown), keeping its data
#   scripts/pg_server.sh resume STATE_DIR              start a halted server again, on the same port
#   scripts/pg_server.sh freeze STATE_DIR              stop every process of the server with SIGSTOP: connections stay
#                                                      open and nothing answers, as after a silent network cut
#   scripts/pg_server.sh thaw STATE_DIR                let a frozen server run again (SIGCONT)
#
# The server listens on 127.0.0.1 at a free port, with scram-sha-256 password authentication and TLS off, in
# STATE_DIR/data. STATE_DIR/server.env holds PG_HOST, PG_PORT, PG_USER, PG_DATABASE, PG_PASSWORD_FILE and PG_URL
# (the URL carries no password). With OWNER_PID, a watchdog stops the server and deletes STATE_DIR once that
# process exits, so a test run that crashes leaves nothing behind. PostgreSQL refuses to run as root, so as root
# the server runs as the system user memp-pg (created when missing). Binaries come from scripts/setup.d/50-postgres.sh.
set -euo pipefail
# Close the pipes, sockets and other descriptors this script inherited beyond the standard three (a test process
# reaches it through system(3), which passes on all of that process's descriptors): the server and the watchdog
# outlive the script, and a pipe or connection they held open would never reach its end for the process reading
# it. Regular files are kept: bash reads this script through one.
for descriptor in /proc/$$/fd/*; do
    case "${descriptor##*/}" in 0 | 1 | 2) continue ;; esac
    [ -f "$descriptor" ] || eval "exec ${descriptor##*/}>&-" 2>/dev/null || true
done
usage="usage: pg_server.sh start|stop|halt|resume|freeze|thaw STATE_DIR [OWNER_PID]"
command="${1:?$usage}"
state="${2:?$usage}"
owner="${3:-}"
PREFIX="${MEMP_PG_PREFIX:-/opt/memp-pg}"
BIN="$PREFIX/pgserver/pginstall/bin"

as_server_user() {
    if [ "$(id -u)" = 0 ]; then runuser -u memp-pg -- "$@"; else "$@"; fi
}

# Starts the server in $1 (its data folder) on port $2.
launch() {
    as_server_user "$BIN/pg_ctl" -D "$1" -w -l "$1/server.log" \
        -o "-h 127.0.0.1 -p $2 -k $1 -c max_connections=200 -c fsync=off -c synchronous_commit=off" \
        start >/dev/null || { cat "$1/server.log" >&2; exit 1; }
}

# Sends signal $1 to the postmaster of the server in $2 (its data folder) and to every process it started, the
# postmaster first so that it starts no process the loop misses.
signal_server() {
    local postmaster
    postmaster="$(head -1 "$2/postmaster.pid")"
    kill "-$1" "$postmaster"
    for child in $(pgrep -P "$postmaster"); do kill "-$1" "$child" 2>/dev/null || true; done
}

case "$command" in
start)
    [ -x "$BIN/postgres" ] || { echo "pg_server.sh: no PostgreSQL in $BIN; run scripts/setup.d/50-postgres.sh" >&2; exit 2; }
    if [ "$(id -u)" = 0 ] && ! id memp-pg >/dev/null 2>&1; then
        useradd -r -M -s /usr/sbin/nologin memp-pg
    fi
    mkdir -p "$state"
    state="$(cd "$state" && pwd)"
    chmod 755 "$state"
    data="$state/data"
    password_file="$state/password"
    head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$password_file"
    chmod 644 "$password_file"
    mkdir -p "$data"
    if [ "$(id -u)" = 0 ]; then chown memp-pg "$data"; fi
    chmod 700 "$data"
    as_server_user "$BIN/initdb" -D "$data" -U postgres -E UTF8 --no-sync --auth-local=trust \
        --auth-host=scram-sha-256 --pwfile="$password_file" >"$state/initdb.log" 2>&1 \
        || { cat "$state/initdb.log" >&2; exit 1; }
    port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
    launch "$data" "$port"
    as_server_user "$BIN/psql" -h "$data" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE memp" >/dev/null
    cat >"$state/server.env" <<ENV
PG_HOST=127.0.0.1
PG_PORT=$port
PG_USER=postgres
PG_DATABASE=memp
PG_PASSWORD_FILE=$password_file
PG_URL=postgres://postgres@127.0.0.1:$port/memp
PG_BIN=$BIN
ENV
    if [ -n "$owner" ]; then
        script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
        nohup bash -c "while kill -0 $owner 2>/dev/null; do sleep 1; done; bash '$script' stop '$state'" \
            >/dev/null 2>&1 &
    fi
    cat "$state/server.env"
    ;;
halt)
    as_server_user "$BIN/pg_ctl" -D "$state/data" -w -m fast stop >/dev/null
    ;;
resume)
    launch "$state/data" "$(sed -n 's/^PG_PORT=//p' "$state/server.env")"
    ;;
freeze)
    signal_server STOP "$state/data"
    ;;
thaw)
    signal_server CONT "$state/data"
    ;;
stop)
    [ -d "$state" ] || exit 0
    if [ -f "$state/data/postmaster.pid" ]; then
        signal_server CONT "$state/data" 2>/dev/null || true  # a frozen server would never shut down
        as_server_user "$BIN/pg_ctl" -D "$state/data" -w -m fast stop >/dev/null 2>&1 || true
    fi
    rm -rf "$state"
    ;;
*)
    echo "$usage" >&2
    exit 2
    ;;
esac
