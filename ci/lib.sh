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

# spdk_serve_malloc PEER SOCK NQN PORT: on the SPDK nvmf_tgt listening for RPCs on SOCK (just
# started), waits for its init and serves subsystem NQN (one 64 MiB malloc namespace of 512 B
# blocks, any host) on TCP 127.0.0.1:PORT, as the bench and the QD1 phases script compare it.
spdk_serve_malloc() {
	local rpc=(/usr/bin/python3 "$1/scripts/rpc.py" -s "$2") nqn=$3 port=$4
	for _ in $(seq 100); do [ -S "$2" ] && break; sleep 0.1; done
	"${rpc[@]}" framework_wait_init > /dev/null
	"${rpc[@]}" nvmf_create_transport -t TCP
	"${rpc[@]}" bdev_malloc_create 64 512 -b Malloc0 > /dev/null
	"${rpc[@]}" nvmf_create_subsystem "$nqn" -a -s SPDK00000000000001
	"${rpc[@]}" nvmf_subsystem_add_ns "$nqn" Malloc0 > /dev/null
	"${rpc[@]}" nvmf_subsystem_add_listener "$nqn" -t tcp -a 127.0.0.1 -s "$port"
}

# A random port for a test listener (and the one after it), below Linux's ephemeral range
# (32768-60999 by default), so it cannot collide with the local port of one of the many
# client connections the scripts open ("Address already in use").
random_port() { echo $((20000 + RANDOM % 12000)); }
