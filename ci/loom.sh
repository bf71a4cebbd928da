#!/usr/bin/env bash
# loom models of the runtime's shared-state pieces (shutdown latch, connection limiter,
# recorder). Uses its own target dir so the --cfg loom build never invalidates the normal one.
source "$(dirname "$0")/lib.sh"
step "loom models (LOOM_MAX_PREEMPTIONS=2)"
export LOOM_MAX_PREEMPTIONS=2
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/loom"
RUSTFLAGS="--cfg loom" cargo test -p fabcheck-runtime --release --test 'loom_*'
