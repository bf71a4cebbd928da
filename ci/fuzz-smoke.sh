#!/usr/bin/env bash
# A short cargo-fuzz run of every fuzz target (nightly). Fails if a target crashes.
# FABCHECK_FUZZ_SECONDS sets the time per target (default 20; 0 skips the smoke run).
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
cd "$(dirname "$0")/../fuzz"
for t in $(cargo +nightly fuzz list); do
  step "fuzz $t for ${secs}s"
  scratch=$(mktemp -d)
  cp corpus/"$t"/* "$scratch"/ 2>/dev/null || true
  cargo +nightly fuzz run "$t" "$scratch" -- -max_total_time="$secs" -max_len=9000 2>&1 | tail -3
  rm -rf "$scratch"
done
