# Shared helpers for the CI scripts: sourced, not run.
set -euo pipefail
step() { printf '\n==> %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
# The SPDK v26.05 peer's folder (SPDK_PEER_DIR, or installed by ../shared/peers/spdk-peer.sh
# beside the repository); fails when neither is there.
find_spdk_peer() {
	if [ -n "${SPDK_PEER_DIR:-}" ] && [ -x "$SPDK_PEER_DIR/bin/nvmf_tgt" ]; then
		echo "$SPDK_PEER_DIR"
		return
	fi
	local repo
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	local sh=${SPDK_PEER_SH:-$repo/../shared/peers/spdk-peer.sh}
	[ -f "$sh" ] || return 1
	bash "$sh" install 2>/dev/null | tail -1
}

# A random port for a test listener (and the one after it), below Linux's ephemeral range
# (32768-60999 by default), so it cannot collide with the local port of one of the many
# client connections the scripts open ("Address already in use").
random_port() { echo $((20000 + RANDOM % 12000)); }
