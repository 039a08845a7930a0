#!/usr/bin/env bash
# setup.sh - installs what MDT Board needs on Debian 12 and builds it.
#
# Idempotent and quick the second time: apt runs only when a package is
# missing, npm only when node_modules is missing or older than the lock
# file, and the build is incremental.
#
#   scripts/setup.sh [--no-db]
#
#   MDT_BUILD_DIR   build directory (default build)
#   MDT_CMAKE_ARGS  extra arguments for the cmake configure step
#
# Unless MDT_DATABASE_URL is set or --no-db is given, it also initializes
# and starts the private development cluster in var/pg (scripts/pg.sh).
set -euo pipefail

with_db=1
for arg in "$@"; do
    case $arg in
    --no-db) with_db=0 ;;
    *)
        echo "usage: scripts/setup.sh [--no-db]" >&2
        exit 2
        ;;
    esac
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

PACKAGES=(
    build-essential cmake pkg-config
    libwebsockets-dev libjansson-dev libcmark-dev libpq-dev libssl-dev
    libcurl4-openssl-dev # email digests over SMTP (server/smtp.c)
    libmagic-dev # attachment types from their content (server/attachfile.c)
    libuv1-dev libwebsockets-evlib-uv # the event loop under lws: libuv, epoll (server/server.c)
    postgresql postgresql-client postgresql-contrib
    chromium chromium-driver fonts-dejavu-core testssl.sh
    lintian systemd # tests/integration/package.test.mjs: lintian, systemd-analyze verify
    nginx           # tests/integration/deploy.test.mjs (nginx in front of two nodes)
    curl ca-certificates clang-format valgrind libfaketime
    clang libclang-rt-14-dev # scripts/fuzz: libFuzzer with ASan+UBSan
    wrk # scripts/bench board: HTTP load on board reads
    gnuplot-nox # scripts/bench plot: the SVG of fan-out p99 against subscribers
)

log() { echo "setup: $*" >&2; }

# node_ok - true when a node of version 18 or newer is on PATH.
node_ok() {
    command -v node >/dev/null 2>&1 || return 1
    local major
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || return 1
    [[ $major -ge 18 ]] && command -v npm >/dev/null 2>&1
}

# Keep whatever node >= 18 the machine has (it may not come from Debian).
node_ok || PACKAGES+=(nodejs npm)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]}"
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

node_ok || {
    log "node 18 or newer is required (found: $(node --version 2>/dev/null || echo none))"
    exit 1
}

# The integration and browser tests' JavaScript dependencies.
if [[ ! -d node_modules || (-f package-lock.json && package-lock.json -nt node_modules) ]]; then
    log "installing npm packages"
    if [[ -f package-lock.json ]]; then
        npm ci --no-audit --no-fund
    else
        npm install --no-audit --no-fund
    fi
    touch node_modules
fi

build=${MDT_BUILD_DIR:-build}
# MDT_CMAKE_ARGS is a list of arguments: word splitting is intended.
# shellcheck disable=SC2086
cmake -S . -B "$build" ${MDT_CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)"

if [[ $with_db == 1 && -z ${MDT_DATABASE_URL:-} ]]; then
    log "development database: $("$REPO/scripts/pg.sh" start "$REPO/var/pg")"
fi
