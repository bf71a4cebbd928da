#!/usr/bin/env bash
# Where a queue-depth-1 round trip's time goes on the target, for fabcheck-target and SPDK's
# nvmf_tgt alike: `spdk_nvme_perf -q 1 -o 4096 -w randread` (core 1) against the target
# (core 0), with `perf record` on the target's system-call tracepoints for one second. Each
# cycle of a read is cut at the target's system calls:
#   recv  the receive call (recvfrom for fabcheck-target, readv for SPDK) that got the command
#   user  from its return to the send call: the target's own work on the command
#   send  the send call (writev, sendmsg), which on loopback also runs the host's TCP receive
#   idle  from the send's return to the next command's receive: the host's turn, plus the
#         time the target takes to notice the next command
# and printed as medians in ns, with the target's epoll_wait period and the time from an
# epoll_wait's return to the receive call after it. The tracepoints themselves add some
# hundreds of ns per cycle, alike for both targets, so compare the two, not with the bench.
# Not part of .ci/run: needs root (perf tracepoints) and an SPDK peer (docs/runtime.md,
# "The ninth pass", shows what it found).
#
# Usage: ci/qd1-phases.sh [fabcheck|spdk]... (default: both). Env: SPDK_PEER_DIR,
# FABCHECK_TARGET (default target/release/fabcheck-target, built if absent).
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
have perf || { echo "qd1-phases: needs perf (linux-tools)" >&2; exit 2; }
peer=$(find_spdk_peer) || { echo "qd1-phases: SKIPPED (no SPDK peer)"; exit 0; }
bin=${FABCHECK_TARGET:-target/release/fabcheck-target}
[ -x "$bin" ] || cargo build -q --release -p fabcheck-runtime --bin fabcheck-target
nqn=nqn.2016-06.io.spdk:cnode1
work=$(mktemp -d /tmp/fabcheck-phases.XXXXXX)
tpid=
trap '[ -n "$tpid" ] && kill "$tpid" 2>/dev/null; rm -rf "$work"' EXIT

phases() { # phases fabcheck|spdk
	local port sock=$work/t.sock recv send
	port=$(random_port)
	rm -f "$sock"
	if [ "$1" = spdk ]; then
		taskset -c 0 "$peer/bin/nvmf_tgt" --no-huge -s 1024 --no-pci -m 0x1 -r "$sock" > "$work/t.log" 2>&1 &
		tpid=$!
		spdk_serve_malloc "$peer" "$sock" $nqn "$port"
		recv=readv send=sendmsg
	else
		taskset -c 0 "$bin" --listen "127.0.0.1:$port" --rpc-socket "$sock" --spdk v26.05 > "$work/t.log" 2>&1 &
		tpid=$!
		for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
		recv=recvfrom send=writev
	fi
	local ev=syscalls:sys_enter_epoll_wait,syscalls:sys_exit_epoll_wait
	ev=$ev,syscalls:sys_enter_$recv,syscalls:sys_exit_$recv,syscalls:sys_enter_$send,syscalls:sys_exit_$send
	(sleep 1; perf record -q -e "$ev" -p "$tpid" -o "$work/perf.data" -- sleep 1 > /dev/null 2>&1) &
	local rec=$!
	taskset -c 1 "$peer/bin/spdk_nvme_perf" --no-huge -s 512 -c 0x2 -t 3 -q 1 -o 4096 -w randread \
		-r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$nqn" > "$work/perf.log" 2>&1 || true
	wait "$rec" || true
	kill "$tpid"; wait "$tpid" 2>/dev/null || true
	tpid=
	printf '%-9s %s\n' "$1" "$(awk '/^Total/ {printf "%s IOPS, mean %s us (traced)", $3, $5}' "$work/perf.log")"
	perf script --ns -i "$work/perf.data" -F time,event,trace 2>/dev/null | python3 -c '
import statistics, sys
recv, send = sys.argv[1], sys.argv[2]
events = []
for line in sys.stdin:
    f = line.split()
    t = float(f[0].rstrip(":")) * 1e9
    name = f[1].rstrip(":").split(":")[1]
    ret = None
    if name.startswith("sys_exit"):
        ret = int(line.split("0x")[-1].strip(), 16)
        ret = -1 if ret >= 1 << 63 else ret
    events.append((t, name, ret))
ep_enter, ep_to_recv, calls, last_ep = [], [], [], None
for e in events:
    if e[1] == "sys_exit_epoll_wait":
        last_ep = e[0]
    elif e[1] == "sys_enter_epoll_wait":
        ep_enter.append(e[0])
    else:
        if e[1] == "sys_enter_" + recv and last_ep is not None:
            ep_to_recv.append(e[0] - last_ep)
        calls.append(e)
cycles = []
for a, b, c, d in zip(calls, calls[1:], calls[2:], calls[3:]):
    if (a[1], b[1], c[1], d[1]) == ("sys_enter_" + recv, "sys_exit_" + recv, "sys_enter_" + send, "sys_exit_" + send) and b[2] > 0:
        cycles.append((a[0], b[0], c[0], d[0]))
if len(cycles) < 2:
    sys.exit("qd1-phases: no complete cycles traced")
med = lambda xs: "%.0f" % statistics.median(xs)
pairs = list(zip(cycles, cycles[1:]))
period = [b - a for a, b in zip(ep_enter, ep_enter[1:]) if b - a < 3000]
print("          cycles %d, median ns: recv %s, user %s, send %s, idle %s, round trip %s" % (
    len(pairs), med([x[1] - x[0] for x, _ in pairs]), med([x[2] - x[1] for x, _ in pairs]),
    med([x[3] - x[2] for x, _ in pairs]), med([y[0] - x[3] for x, y in pairs]), med([y[0] - x[0] for x, y in pairs])))
print("          epoll_wait period %s ns (gaps under 3 us), epoll_wait return to %s %s ns" % (
    med(period) if period else "-", recv, med(ep_to_recv) if ep_to_recv else "-"))
' "$recv" "$send"
}

for t in "${@:-fabcheck spdk}"; do
	for one in $t; do phases "$one"; done
done
