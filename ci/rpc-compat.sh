#!/usr/bin/env bash
# Drives fabcheck-target with SPDK's own JSON-RPC client (PyPI package `spdk`, command
# `spdk-rpc`, the packaged scripts/rpc.py) and checks the answers: proof that SPDK's tooling
# can operate the target over its Unix socket.
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
venv=${FABCHECK_SPDK_VENV:-target/spdk-venv}
if [ ! -x "$venv/bin/spdk-rpc" ]; then
  step "installing SPDK's RPC client (pip install spdk) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q spdk
fi
step "building fabcheck-target"
cargo build -q --release -p fabcheck-runtime --bin fabcheck-target
sock=$(mktemp -u /tmp/fabcheck-rpc-XXXXXX.sock)
port=$(random_port)
./target/release/fabcheck-target --listen "127.0.0.1:$port" --rpc-socket "$sock" >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$sock"' EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
rpc() { "$venv/bin/spdk-rpc" -s "$sock" "$@"; }
expect() { # expect PATTERN OUTPUT...
  local pat=$1; shift
  printf '%s\n' "$*" | grep -q -- "$pat" || { echo "rpc-compat: expected '$pat' in: $*"; exit 1; }
}
cnode1=nqn.2016-06.io.spdk:cnode1
step "spdk-rpc against fabcheck-target on 127.0.0.1:$port"
expect '"version": "SPDK' "$(rpc spdk_get_version)"
expect '"state": "active"' "$(rpc nvmf_get_subsystems)"
expect Malloc1 "$(rpc bdev_malloc_create 64 512 -b Malloc1)"
rpc nvmf_subsystem_add_ns "$cnode1" Malloc1
expect '"bdev_name": "Malloc1"' "$(rpc nvmf_get_subsystems "$cnode1")"
rpc nvmf_subsystem_add_listener "$cnode1" -t tcp -a 127.0.0.1 -s $((port + 1))
expect "\"trsvcid\": \"$((port + 1))\"" "$(rpc nvmf_subsystem_get_listeners "$cnode1")"
rpc nvmf_subsystem_remove_listener "$cnode1" -t tcp -a 127.0.0.1 -s $((port + 1))
rpc nvmf_create_subsystem nqn.2016-06.io.spdk:cnode2 -a -s SPDK02
rpc nvmf_subsystem_add_host nqn.2016-06.io.spdk:cnode2 nqn.2016-06.io.spdk:host1
expect 'io.spdk:host1' "$(rpc nvmf_get_subsystems)"
rpc nvmf_delete_subsystem nqn.2016-06.io.spdk:cnode2
rpc nvmf_subsystem_remove_ns "$cnode1" 2
expect '\[\]' "$(rpc nvmf_subsystem_get_controllers "$cnode1")"
if out=$(rpc nvmf_get_subsystems nqn.2016-06.io.spdk:nope 2>&1); then
  echo "rpc-compat: an unknown NQN must fail"; exit 1
fi
expect 'No such device' "$out"
kill -INT "$pid"
wait "$pid"
echo "rpc-compat: SPDK's spdk-rpc drove fabcheck-target (15 calls, answers checked)"
