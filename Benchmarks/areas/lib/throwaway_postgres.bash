# Sourced by the PostgreSQL areas (not an area itself): installs PostgreSQL when missing, starts a throwaway server
# with scripts/pg_server.sh in a new directory "$state" (stopped and removed when the sourcing script exits), and
# loads its server.env (PG_URL, PG_PASSWORD_FILE, PG_BIN, PG_HOST, PG_PORT, PG_USER, PG_DATABASE).
#   $1   the prefix of the state directory's name
# Defines `server_psql ARGS…`: psql on that server's database.
state="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
chmod 755 "$state"  # the server user must reach the data directory inside
bash "$REPO_ROOT/scripts/setup.d/50-postgres.sh" >&2
bash "$REPO_ROOT/scripts/pg_server.sh" start "$state/server" $$ >/dev/null
trap 'bash "$REPO_ROOT/scripts/pg_server.sh" stop "$state/server"; rm -rf "$state"' EXIT
. "$state/server/server.env"
server_psql() {
    PGPASSWORD="$(cat "$PG_PASSWORD_FILE")" "$PG_BIN/psql" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" \
        -d "$PG_DATABASE" "$@"
}
