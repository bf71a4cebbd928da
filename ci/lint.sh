#!/usr/bin/env bash
# Formatting and clippy, warnings denied.
source "$(dirname "$0")/lib.sh"
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
