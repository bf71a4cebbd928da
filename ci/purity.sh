#!/usr/bin/env bash
# fabcheck-core must stay sans-IO: no async runtime, socket, clock or thread crate.
source "$(dirname "$0")/lib.sh"
step "purity: cargo tree -p fabcheck-core -e normal"
tree=$(cargo tree -p fabcheck-core -e normal --prefix none)
bad=$(printf '%s\n' "$tree" | grep -E '^(tokio|mio|socket2|async-std|smol|futures|chrono|time|crossbeam|rayon|parking_lot|libc) ' || true)
if [ -n "$bad" ]; then
  echo "fabcheck-core depends on forbidden crates:"; echo "$bad"; exit 1
fi
echo "fabcheck-core is pure: $(printf '%s\n' "$tree" | sort -u | wc -l) crates, none forbidden"
