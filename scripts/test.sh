#!/usr/bin/env bash
# test.sh - builds MDT Board with its test hooks and runs every test suite.
#
#   scripts/test.sh [--sanitize] [CTEST ARGS...]      e.g. scripts/test.sh -L unit
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
ctest_args=()
for arg in "$@"; do
    case $arg in
    --sanitize) sanitize=1 ;;
    *) ctest_args+=("$arg") ;;
    esac
done

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
status=0
ctest --test-dir "$build" --output-on-failure -j2 "${ctest_args[@]}" || status=$?
exit "$status"
