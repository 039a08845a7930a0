#!/usr/bin/env bash
# package.sh - builds the Debian package of MDT Board with cpack.
#
#   scripts/package.sh [OUTDIR]      (default build-pkg)
#
# A Release build without test hooks in build-pkg (MDT_PKG_BUILD_DIR), with
# Debian's usual hardening flags, then `cpack -G DEB` (cmake/package.cmake:
# what goes where, dependencies from dpkg-shlibdeps). Prints the path of the
# .deb on stdout; messages go to stderr. docs/deploy.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

build=${MDT_PKG_BUILD_DIR:-build-pkg}
out=${1:-$build}
mkdir -p "$out"
out=$(cd "$out" && pwd)

cflags="-O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE"
ldflags="-Wl,-z,relro -Wl,-z,now -pie"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMDT_TEST_HOOKS=OFF -DBUILD_TESTING=OFF \
    -DCMAKE_C_FLAGS_RELEASE="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" >&2
cmake --build "$build" -j"$(nproc)" >&2
(cd "$build" && cpack -G DEB -B "$out" >&2)
ls -t "$out"/mdtboard_*.deb | head -n1
