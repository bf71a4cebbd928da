#!/usr/bin/env bash
# Builds every cargo-fuzz target (nightly) and runs each for a short bounded time from a
# scratch copy of its committed corpus; fails if a target crashes. Then shows the lifecycle
# fuzzer finds a real bug: `sim_choices` on seed-3302 with spdk-3302 switched on must crash
# within the time bound, and its crash artifact must replay with `fabcheck replay --fuzz-input`
# to the same violation. A crashing target is reported with its input and fails the script at the
# end, after every target ran. FABCHECK_FUZZ_SECONDS sets the time per target (default 20; 0 skips).
# Total at the default: about 2 minutes after the build.
source "$(dirname "$0")/lib.sh"
secs=${FABCHECK_FUZZ_SECONDS:-20}
[ "$secs" -gt 0 ] || { echo "fuzz smoke skipped (FABCHECK_FUZZ_SECONDS=0)"; exit 0; }
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz smoke skipped: no nightly toolchain (rustup toolchain install nightly)"; exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  step "installing cargo-fuzz"
  cargo install --locked cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz
fi
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
step "cargo fuzz build"
cargo +nightly fuzz build
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=""
for t in $(cargo +nightly fuzz list); do
  step "fuzz $t for ${secs}s"
  mkdir -p "$scratch/$t"
  cp corpus/"$t"/seed-* "$scratch/$t"/ 2>/dev/null || true
  cargo +nightly fuzz run "$t" "$scratch/$t" -- -seed=1 -max_total_time="$secs" -max_len=16384 \
    -artifact_prefix="$scratch/$t-" 2>&1 | grep -E '^(Done|#[0-9]+ +DONE)|stat::' || true
  for crash in "$scratch/$t"-crash-*; do
    [ -e "$crash" ] || continue
    echo "fuzz $t crashed; input (hex): $(od -An -tx1 -v "$crash" | tr -d ' \n' | head -c 400)"
    failed="$failed $t"
  done
done
step "sim_choices finds spdk-3302 (seed-3302+spdk-3302, at most $((secs * 3))s)"
mkdir -p "$scratch/3302"
FABCHECK_FUZZ_SCENARIO=seed-3302+spdk-3302 cargo +nightly fuzz run sim_choices "$scratch/3302" \
  -- -max_total_time=$((secs * 3)) -artifact_prefix="$scratch/3302-" 2>&1 \
  | grep -E '^(safety violation|seed string)' || true
crash=$(ls "$scratch"/3302-crash-* 2>/dev/null | head -1)
[ -n "$crash" ] || { echo "sim_choices did not find spdk-3302 in $((secs * 3))s"; exit 1; }
cd "$root"
set +e
cargo run -q -p fabcheck -- replay --fuzz-input "$crash" --scenario seed-3302+spdk-3302 \
  | tail -n 3
code=${PIPESTATUS[0]}
set -e
[ "$code" -eq 1 ] || { echo "the crash artifact replayed with exit $code, expected 1"; exit 1; }
echo "spdk-3302 found by sim_choices and replayed from its seed string"
[ -z "$failed" ] || { echo "fuzz targets that crashed:$failed"; exit 1; }
