#!/usr/bin/env bash
# run.sh - runs MDT Board locally with demo data.
#
# Builds when needed (scripts/setup.sh the first time, an incremental build
# afterwards), starts the private database in var/pg unless MDT_DATABASE_URL
# is set, creates the installation key file var/mdtboard.key unless
# MDT_KEY_FILE is set, applies migrations (as the owner role
# mdtboard_owner), loads the demo installation into an empty database, then
# runs `mdtboard serve` in the foreground as the serving role
# mdtboard_serve (MDT_LISTEN, default 127.0.0.1:8080). Extra arguments are
# passed to `mdtboard serve`. With MDT_DATABASE_URL set, that one URL is
# used for everything. MDT_BUILD_DIR picks another build directory (default
# build).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

build=${MDT_BUILD_DIR:-build}
BIN=$build/mdtboard

log() { echo "run: $*" >&2; }

if [[ ! -x $BIN ]]; then
    MDT_BUILD_DIR=$build scripts/setup.sh --no-db
else
    cmake --build "$build" -j"$(nproc)" >/dev/null
fi

migrate_url=${MDT_DATABASE_URL:-}
if [[ -z ${MDT_DATABASE_URL:-} ]]; then
    scripts/pg.sh start "$REPO/var/pg" >/dev/null
    migrate_url=$(scripts/pg.sh url "$REPO/var/pg" mdtboard mdtboard_owner)
    MDT_DATABASE_URL=$(scripts/pg.sh url "$REPO/var/pg" mdtboard mdtboard_serve)
    log "database in var/pg (scripts/pg.sh stop var/pg to stop it)"
fi
export MDT_DATABASE_URL

if [[ -z ${MDT_KEY_FILE:-} ]]; then
    MDT_KEY_FILE=$REPO/var/mdtboard.key
    if [[ ! -f $MDT_KEY_FILE ]]; then
        mkdir -p "$REPO/var"
        "$BIN" keys init --file "$MDT_KEY_FILE" >&2
        log "created the installation key file var/mdtboard.key: back it up apart from the database"
    fi
fi
export MDT_KEY_FILE

MDT_DATABASE_URL=$migrate_url "$BIN" migrate

# Demo data only into an empty installation. `mdtboard demo` refuses a
# database that already has data (non-zero exit); that is fine here.
agencies=$(psql -X -tA -d "$MDT_DATABASE_URL" -c 'SELECT count(*) FROM agencies' 2>/dev/null || echo unknown)
if [[ $agencies == 0 || $agencies == unknown ]]; then
    if ! "$BIN" demo; then
        log "no demo data loaded (mdtboard demo failed or is not available yet)"
    fi
else
    log "database already has $agencies agencies: demo data not reloaded"
fi

export MDT_LISTEN=${MDT_LISTEN:-127.0.0.1:8080}
log "MDT Board at ${MDT_ORIGIN:-http://$MDT_LISTEN}/"
exec "$BIN" serve "$@"
