# Shared helpers for the CI scripts: sourced, not run.
set -euo pipefail
step() { printf '\n==> %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
