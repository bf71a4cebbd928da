#!/usr/bin/env bash
# The README's test command: installs what the tests need (tshark), then runs every test.
# FABCHECK_RUNS scales the simulator sweeps (default: small enough for CI).
source "$(dirname "$0")/lib.sh"
bash "$(dirname "$0")/install.sh"
step "cargo test --workspace"
cargo test --workspace
