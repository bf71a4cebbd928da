#!/usr/bin/env bash
# Builds fabcheck-diff for one SPDK version from the unmodified source snapshot:
#   differential/build.sh v24.01|v24.05|master   -> prints the build directory on its last line
#
# Extracts include/, lib/, test/common/ (and VERSION, when there is one) of the snapshot into the cache, compiles only the
# libraries the harness links (spdk.mk, ASAN + asserts, SPDK's unit-test env instead of DPDK, a
# hand-written config.h: no configure, no ISA-L, no submodules), then the harness (harness.mk).
# Reruns reuse the cache: make rebuilds only what changed.
#
# Environment:
#   FABCHECK_DIFF_CACHE  cache folder (default $HOME/.cache/fabcheck-diff)
#   FABCHECK_SPDK_SRC    folder with spdk-<version>[-<commit>]-src.tar.zst (default: ../shared/peers/src
#                        relative to the repository root, then /work/shared/peers/src)
#   JOBS                 make -j (default 2)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
version=${1:?usage: build.sh v24.01|v24.05|master}
case "$version" in
  v24.01) num=2401 ;;
  v24.05) num=2405 ;;
  master) num=9999 ;;
  *) echo "build.sh: unsupported SPDK version '$version' (v24.01, v24.05, master)" >&2; exit 64 ;;
esac
cache=${FABCHECK_DIFF_CACHE:-$HOME/.cache/fabcheck-diff}
jobs=${JOBS:-2}

find_src() {
  for d in "${FABCHECK_SPDK_SRC:-}" "$root/../shared/peers/src" /work/shared/peers/src; do
    [ -n "$d" ] || continue
    for f in "$d/spdk-$version"-src.tar.zst "$d/spdk-$version"-*-src.tar.zst; do
      if [ -f "$f" ]; then echo "$f"; return; fi
    done
  done
  return 1
}

need_pkgs() {
  local missing=()
  [ -e /usr/include/uuid/uuid.h ] || missing+=(uuid-dev)
  [ -e /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
  command -v zstd >/dev/null || missing+=(zstd)
  command -v gcc >/dev/null || missing+=(gcc)
  command -v make >/dev/null || missing+=(make)
  command -v nm >/dev/null || missing+=(binutils)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "build.sh: installing ${missing[*]}" >&2
    local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq >&2 && $sudo apt-get install -y -qq "${missing[@]}" >&2
  fi
}

need_pkgs
tarball=$(find_src) || { echo "build.sh: no spdk-$version-src.tar.zst found" >&2; exit 69; }
src=$cache/src/$version
out=$cache/build/$version
if [ ! -f "$src/.extracted" ] || [ "$tarball" -nt "$src/.extracted" ]; then
  rm -rf "$src" && mkdir -p "$src"
  tar --zstd -xf "$tarball" -C "$src" include lib test/common
  tar --zstd -xf "$tarball" -C "$src" VERSION 2>/dev/null || true
  touch "$src/.extracted"
fi
make -s -f "$here/spdk.mk" SPDK="$src" OUT="$out" -j"$jobs" >&2
make -s -f "$here/harness.mk" SPDK="$src" OUT="$out" VERSION="$num" -j"$jobs" >&2
echo "$out"
