#!/usr/bin/env bash
# pg.sh - a private PostgreSQL 15 cluster for development and tests.
#
#   scripts/pg.sh start DIR [--fast]   initdb into DIR/data if missing, start it,
#                                      create the roles and database mdtboard,
#                                      print its URI (as the superuser)
#   scripts/pg.sh stop DIR             fast shutdown (no-op when not running)
#   scripts/pg.sh url DIR [DBNAME [ROLE]]  print the libpq URI (default
#                                      mdtboard, as the superuser mdt)
#   scripts/pg.sh status DIR           print "running PORT" / "stopped"; exit 0 / 3
#   scripts/pg.sh destroy DIR          stop, then remove the cluster and DIR
#
# The cluster has superuser `mdt`, the owner role `mdtboard_owner` (runs
# `mdtboard migrate`, owns database mdtboard and its tables), the serving
# login role `mdtboard_serve` (member of the NOLOGIN group `mdtboard_app`
# that migrations grant to; docs/operations.md), trust authentication and
# no TCP listener:
# its unix socket lives in DIR itself, under a port number chosen once (kept
# in DIR/port) so that several clusters can run side by side. Run as root,
# the server runs as the unprivileged `postgres` user, and the socket is made
# usable by root clients; when postgres cannot reach DIR (a clone under
# /root, say), the cluster lives in /var/lib/mdtboard/pg-HASH instead and
# DIR/home says so. --fast turns off fsync, synchronous_commit and
# full_page_writes: only for throw-away test clusters, never for var/pg.
set -euo pipefail

PGBIN=${MDT_PG_BIN:-/usr/lib/postgresql/15/bin}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
    echo "pg.sh: $*" >&2
    exit 1
}

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# as_pg CMD... - runs CMD as the cluster's owner (postgres when we are root).
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# ensure_pg_user - when root, makes sure the unprivileged postgres user exists.
ensure_pg_user() {
    [[ $(id -u) -eq 0 ]] || return 0
    id -u postgres >/dev/null 2>&1 && return 0
    useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
        --shell /usr/sbin/nologin postgres
}

# uri_escape STR - percent-encodes STR for a URI query value.
uri_escape() {
    local s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
        [A-Za-z0-9/._~-]) out+=$c ;;
        *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

# pick_port - prints a port number that no local cluster or TCP listener uses.
pick_port() {
    local port tries
    for ((tries = 0; tries < 200; tries++)); do
        port=$((20000 + RANDOM % 40000))
        [[ -e /tmp/.s.PGSQL.$port || -e /var/run/postgresql/.s.PGSQL.$port ]] && continue
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue
        fi
        echo "$port"
        return 0
    done
    die "no free port found"
}

port_of() {
    [[ -f $DIR/port ]] || die "$DIR is not a cluster made by pg.sh (no $DIR/port)"
    cat "$DIR/port"
}

print_url() {
    local db=${1:-mdtboard} role=${2:-mdt}
    printf 'postgresql://%s@/%s?host=%s&port=%s\n' "$role" "$db" "$(uri_escape "$HOMEDIR")" "$(port_of)"
}

# ensure_roles - the owner, group and serving roles (idempotent).
ensure_roles() {
    psql_admin <<'SQL'
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mdtboard_owner') THEN
        CREATE ROLE mdtboard_owner LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mdtboard_app') THEN
        CREATE ROLE mdtboard_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mdtboard_serve') THEN
        CREATE ROLE mdtboard_serve LOGIN IN ROLE mdtboard_app;
    END IF;
END $$;
SQL
}

# adopt_db - a database mdtboard made before the roles existed (owned by
# mdt): hands it and its objects to mdtboard_owner.
adopt_db() {
    [[ $(psql_admin -tAc "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'mdtboard'") == mdt ]] || return 0
    psql_admin -c "ALTER DATABASE mdtboard OWNER TO mdtboard_owner"
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOMEDIR" -p "$(port_of)" -U mdt -d mdtboard <<'SQL'
DO $$
DECLARE
    s text;
BEGIN
    FOR s IN SELECT format('ALTER TABLE %I OWNER TO mdtboard_owner', tablename) FROM pg_tables
             WHERE schemaname = 'public'
             UNION ALL
             SELECT format('ALTER TYPE %s OWNER TO mdtboard_owner', t.oid::regtype)
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')
             UNION ALL
             SELECT format('ALTER FUNCTION %s OWNER TO mdtboard_owner', p.oid::regprocedure)
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public'
    LOOP
        EXECUTE s;
    END LOOP;
    -- sequences not linked to a table (linked ones moved with it)
    FOR s IN SELECT format('ALTER SEQUENCE %I OWNER TO mdtboard_owner', sequencename)
             FROM pg_sequences WHERE schemaname = 'public' AND sequenceowner <> 'mdtboard_owner'
    LOOP
        EXECUTE s;
    END LOOP;
END $$;
SQL
    echo "pg.sh: database mdtboard now belongs to mdtboard_owner" >&2
}

is_running() {
    [[ -f $HOMEDIR/data/PG_VERSION ]] || return 1
    as_pg "$PGBIN/pg_ctl" -D "$HOMEDIR/data" status >/dev/null 2>&1
}

psql_admin() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOMEDIR" -p "$(port_of)" -U mdt -d postgres "$@"
}

# write_conf FAST - our settings, included at the end of postgresql.conf.
write_conf() {
    local fast=$1
    {
        echo "# written by scripts/pg.sh on every start"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$HOMEDIR'"
        echo "unix_socket_permissions = 0777"
        echo "port = $(port_of)"
        echo "max_connections = 200"
        echo "log_line_prefix = '%m [%p] %d '"
        if [[ $fast == 1 ]]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } >"$HOMEDIR/data/mdt.conf"
    chown --reference="$HOMEDIR/data" "$HOMEDIR/data/mdt.conf"
    grep -q "^include_if_exists = 'mdt.conf'" "$HOMEDIR/data/postgresql.conf" ||
        echo "include_if_exists = 'mdt.conf'" >>"$HOMEDIR/data/postgresql.conf"
}

cmd_start() {
    local fast=$1
    if [[ $fast == 1 && $DIR == "$REPO/var/pg" ]]; then
        die "--fast is for throw-away clusters, not the dev data in var/pg"
    fi
    if is_running; then
        ensure_roles
        adopt_db
        print_url
        return 0
    fi
    ensure_pg_user
    mkdir -p "$DIR"
    chmod 0755 "$DIR"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$DIR"
        if [[ ! -f $DIR/home ]] && ! runuser -u postgres -- test -w "$DIR"; then
            # A parent of DIR is closed to postgres (say, a clone in /root):
            # the cluster lives in /var/lib/mdtboard instead, noted in DIR/home.
            HOMEDIR=/var/lib/mdtboard/pg-$(printf '%s' "$DIR" | sha256sum | cut -c1-16)
            mkdir -p "$HOMEDIR"
            chmod 0755 /var/lib/mdtboard "$HOMEDIR"
            chown postgres: "$HOMEDIR"
            echo "$HOMEDIR" >"$DIR/home"
            echo "pg.sh: postgres cannot reach $DIR; the cluster lives in $HOMEDIR" >&2
        fi
    fi
    [[ -f $DIR/port ]] || pick_port >"$DIR/port"
    if [[ ! -f $HOMEDIR/data/PG_VERSION ]]; then
        rm -rf "$HOMEDIR/data"
        as_pg "$PGBIN/initdb" -D "$HOMEDIR/data" -U mdt --auth=trust --encoding=UTF8 \
            --locale=C.UTF-8 >"$HOMEDIR/initdb.log" 2>&1 ||
            {
                cat "$HOMEDIR/initdb.log" >&2
                die "initdb failed"
            }
    fi
    write_conf "$fast"
    # pg_ctl runs in its home so that no unreadable working directory bothers it.
    (cd "$HOMEDIR" && as_pg "$PGBIN/pg_ctl" -D "$HOMEDIR/data" -l "$HOMEDIR/log" -w -t 60 start >/dev/null) ||
        {
            tail -n 20 "$HOMEDIR/log" >&2 || true
            die "PostgreSQL did not start (log: $HOMEDIR/log)"
        }
    ensure_roles
    if [[ -z $(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'mdtboard'") ]]; then
        psql_admin -c "CREATE DATABASE mdtboard OWNER mdtboard_owner"
    fi
    adopt_db
    print_url
}

cmd_stop() {
    is_running || return 0
    (cd "$HOMEDIR" && as_pg "$PGBIN/pg_ctl" -D "$HOMEDIR/data" -m fast -w -t 60 stop >/dev/null)
}

cmd_destroy() {
    cmd_stop
    [[ $HOMEDIR == "$DIR" ]] || rm -rf "$HOMEDIR"
    rm -rf "$DIR"
}

cmd_status() {
    if is_running; then
        echo "running $(port_of)"
    else
        echo "stopped"
        exit 3
    fi
}

[[ $# -ge 2 ]] || usage
cmd=$1
DIR=$2
shift 2
[[ -n $DIR ]] || usage
DIR=$(realpath -m "$DIR")
# The cluster's home (data, socket, log) is DIR itself, unless DIR/home
# names another place (see cmd_start).
HOMEDIR=$DIR
if [[ -f $DIR/home ]]; then
    HOMEDIR=$(cat "$DIR/home")
fi

case $cmd in
start)
    fast=0
    for arg in "$@"; do
        case $arg in
        --fast) fast=1 ;;
        *) usage ;;
        esac
    done
    cmd_start "$fast"
    ;;
stop) cmd_stop ;;
destroy) cmd_destroy ;;
url) print_url "${1:-mdtboard}" "${2:-mdt}" ;;
status) cmd_status ;;
*) usage ;;
esac
