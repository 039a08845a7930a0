#!/usr/bin/env bash
# test.sh - builds MDT Board with its test hooks and runs every test suite.
#
#   scripts/test.sh [--sanitize] [--faketime SPEC] [CTEST ARGS...]
#                                       e.g. scripts/test.sh -L unit
#
# --faketime SPEC runs the database and every test process with the clock
# shifted (libfaketime preloaded; the build itself keeps the real clock):
# SPEC is a libfaketime offset such as +365d or -3h, or `before-midnight`,
# which starts the run at 23:55 today in America/New_York so that the
# suite crosses midnight there. Not with --sanitize (ASan must be the first
# preloaded library).
#
# Builds in build-test (build-asan with --sanitize or MDT_SANITIZE=1: ASan +
# UBSan), warnings are errors when CI=true or MDT_WERROR=1. Starts a
# throw-away PostgreSQL cluster in a temporary directory, exports
# MDT_TEST_PG_DIR and MDT_TEST_ADMIN_URL (its `postgres` database) for the
# integration tests, runs ctest and always removes the cluster again. Exits
# with ctest's status.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

sanitize=${MDT_SANITIZE:-0}
faketime=""
ctest_args=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --sanitize) sanitize=1 ;;
    --faketime)
        faketime=${2:?--faketime needs a SPEC}
        shift
        ;;
    *) ctest_args+=("$1") ;;
    esac
    shift
done
if [[ -n $faketime && $sanitize == 1 ]]; then
    echo "test: --faketime does not go with --sanitize" >&2
    exit 2
fi

build="build-test"
cmake_args="-DMDT_TEST_HOOKS=ON"
if [[ $sanitize == 1 ]]; then
    build="build-asan"
    cmake_args+=" -DMDT_SANITIZE=ON"
fi
# Always explicit: the CMake cache would otherwise keep an earlier choice.
if [[ ${CI:-} == true || ${MDT_WERROR:-0} == 1 ]]; then
    cmake_args+=" -DMDT_WERROR=ON"
else
    cmake_args+=" -DMDT_WERROR=OFF"
fi

MDT_BUILD_DIR=$build MDT_CMAKE_ARGS="$cmake_args ${MDT_CMAKE_ARGS:-}" scripts/setup.sh --no-db

# faketime_offset SPEC - the libfaketime FAKETIME value for SPEC.
faketime_offset() {
    if [[ $1 == before-midnight ]]; then
        local target now
        target=$(TZ=America/New_York date -d 'today 23:55' +%s)
        now=$(date +%s)
        echo "+$((target - now))"
    else
        echo "$1"
    fi
}

if [[ -n $faketime ]]; then
    lib=$(dpkg -L libfaketime 2>/dev/null | grep -m1 '/libfaketime\.so\.1$' || true)
    [[ -n $lib ]] || {
        echo "test: libfaketime is not installed (scripts/setup.sh installs it)" >&2
        exit 1
    }
    export LD_PRELOAD=$lib FAKETIME
    FAKETIME=$(faketime_offset "$faketime")
    # timers and timeouts keep the real monotonic clock
    export FAKETIME_DONT_FAKE_MONOTONIC=1
    echo "test: clock shifted by FAKETIME=$FAKETIME: $(date)" >&2
fi

pgdir=$(mktemp -d "${TMPDIR:-/tmp}/mdt-test-pg.XXXXXX")
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
    scripts/pg.sh destroy "$pgdir" || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/pg.sh start "$pgdir" --fast >/dev/null
export MDT_TEST_PG_DIR=$pgdir
MDT_TEST_ADMIN_URL=$(scripts/pg.sh url "$pgdir" postgres)
export MDT_TEST_ADMIN_URL

if [[ $sanitize == 1 ]]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

echo "test: $build, database cluster in $pgdir" >&2
# Each integration test process appends what it validated against the
# OpenAPI document (tests/integration/lib/openapi.mjs); summed at the end.
coverage=tests/artifacts/openapi-coverage.jsonl
rm -f "$coverage"
status=0
ctest --test-dir "$build" --output-on-failure -j2 "${ctest_args[@]}" || status=$?
if [[ -f $coverage ]]; then node scripts/openapi-coverage "$coverage" >&2 || true; fi
exit "$status"
