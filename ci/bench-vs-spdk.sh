#!/usr/bin/env bash
# spdk_nvme_perf against fabcheck-target and SPDK's nvmf_tgt, side by side, in one run.
#
# Each round runs every workload row twice, back to back: once against fabcheck-target, once
# against SPDK v26.05's nvmf_tgt, each started fresh for the row and pinned to core 0, serving
# the same subsystem (cnode1, one 64 MiB RAM namespace of 512 B blocks), with spdk_nvme_perf
# pinned to core 1. The two runs of a pair are seconds apart, so the machine's slow and fast
# minutes fall on both targets alike; odd rounds run fabcheck-target first, even rounds SPDK
# first, so neither always gets the later seconds. Prints, per row, as a markdown table: the
# median IOPS (and mean latency) of each target; the ratio fabcheck / SPDK as the median of the
# rounds' pair ratios (the paired estimate), with the lowest and highest pair ratio and the
# ratio of the two targets' medians beside it; and the CPU time each target spent per I/O:
# fabcheck-target's from /proc/PID/task/*/schedstat (every thread), SPDK's as the busy time of
# its reactor's threads (`thread_get_stats`: the poll iterations that did work, so not the idle
# polling), with their ratio. The machine's speed moves both CPU columns alike within a pair.
#
# Peer: $SPDK_PEER_DIR with bin/nvmf_tgt, else ../shared/peers/spdk-peer.sh (or $SPDK_PEER_SH);
# without one it prints "bench-vs-spdk: SKIPPED (...)". Env: FABCHECK_BENCH_ROUNDS (default 7),
# FABCHECK_BENCH_SECONDS (per run, default 4), FABCHECK_TARGET_ARGS (extra fabcheck-target
# arguments, e.g. "--busy-poll-us 0" to measure without busy polling; the profile is set per row,
# `--spdk v26.05` unless the row names another), FABCHECK_BENCH_SPDK_HUGEPAGES=1 (SPDK's nvmf_tgt
# on 2 MiB hugepages, as SPDK is deployed, instead of `--no-huge`: needs a mounted hugetlbfs and
# 1 GiB of free hugepages, e.g. `echo 600 > /proc/sys/vm/nr_hugepages`; fabcheck-target's RAM
# namespaces use transparent huge pages either way). Every process is stopped by its PID.
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
root=$(pwd)
rounds=${FABCHECK_BENCH_ROUNDS:-7}
secs=${FABCHECK_BENCH_SECONDS:-4}
target_args=${FABCHECK_TARGET_ARGS:-}
spdk_mem=(--no-huge -s 1024)
spdk_mem_name="--no-huge (4 KiB pages)"
if [ "${FABCHECK_BENCH_SPDK_HUGEPAGES:-0}" = 1 ]; then
	free_mib=$(awk '/^HugePages_Free/ {f=$2} /^Hugepagesize/ {s=$2} END {print int(f*s/1024)}' /proc/meminfo)
	if ! grep -q hugetlbfs /proc/mounts || [ "$free_mib" -lt 1024 ]; then
		echo "bench-vs-spdk: FABCHECK_BENCH_SPDK_HUGEPAGES=1 needs a mounted hugetlbfs and 1 GiB of free hugepages (free: ${free_mib} MiB)" >&2
		exit 2
	fi
	spdk_mem=(-s 1024)
	spdk_mem_name="hugepages (2 MiB)"
fi

if ! peer=$(find_spdk_peer) || [ ! -x "$peer/bin/nvmf_tgt" ]; then
	echo "bench-vs-spdk: SKIPPED (no SPDK peer: set SPDK_PEER_DIR or provide ../shared/peers/spdk-peer.sh)"
	exit 0
fi
step "building fabcheck-target (release)"
cargo build -q --release -p fabcheck-runtime --bin fabcheck-target
bin=$root/target/release
work=$(mktemp -d /tmp/fabcheck-bench.XXXXXX)
tpid=
stop_target() {
	[ -n "$tpid" ] || return 0
	kill -TERM "$tpid" 2>/dev/null || true
	wait "$tpid" 2>/dev/null || true
	tpid=
}
trap 'stop_target; rm -rf "$work"' EXIT

port=$(random_port)
nqn=nqn.2016-06.io.spdk:cnode1
# name|spdk_nvme_perf arguments[|fabcheck-target arguments of this row]
# fabcheck-target serves the v26.05 profile (`--spdk v26.05`, the peer's release: a successful
# read ends with a C2HData carrying SUCCESS and no CapsuleResp) unless the row says otherwise.
# The last row shows the master profile's cost: master sends the CapsuleResp after each read
# to a host that keeps SQ flow control (SPDK commit 00c2f8cd49), as spdk_nvme_perf v26.05 does.
rows=(
	"4K randread QD32|-q 32 -o 4096 -w randread"
	"4K randwrite QD32|-q 32 -o 4096 -w randwrite"
	"128K read QD32|-q 32 -o 131072 -w read"
	"128K write QD32|-q 32 -o 131072 -w write"
	"4K randread QD1|-q 1 -o 4096 -w randread"
	"4K randwrite QD32, header+data digests|-q 32 -o 4096 -w randwrite -H -I"
	"4K randread QD32, master profile (C2HData + CapsuleResp)|-q 32 -o 4096 -w randread|--spdk master"
)

# start_fabcheck [ROW-ARGS]
start_fabcheck() {
	local sock=$work/fabcheck.sock
	# shellcheck disable=SC2086
	taskset -c 0 "$bin/fabcheck-target" --listen "127.0.0.1:$port" --rpc-socket "$sock" $target_args ${1:---spdk v26.05} > "$work/t.log" 2>&1 &
	tpid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
}

start_spdk() {
	local sock=$work/spdk.sock
	taskset -c 0 "$peer/bin/nvmf_tgt" "${spdk_mem[@]}" --no-pci -m 0x1 -r "$sock" > "$work/t.log" 2>&1 &
	tpid=$!
	spdk_serve_malloc "$peer" "$sock" $nqn "$port"
}

# The target's CPU time so far, in ns: every thread of fabcheck-target; the busy time of SPDK's
# threads (thread_get_stats).
target_cpu_ns() {
	if [ "$1" = fabcheck ]; then
		cat /proc/"$tpid"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
	else
		/usr/bin/python3 "$peer/scripts/rpc.py" -s "$work/spdk.sock" thread_get_stats 2>/dev/null |
			python3 -c 'import json, sys; d = json.load(sys.stdin); print(round(sum(t["busy"] for t in d["threads"]) * 1e9 / d["tick_rate"]))' 2>/dev/null || echo 0
	fi
}

# run_row TARGET ROUND ROW-INDEX: appends "target round row iops mean_us cpu_us_per_io" to
# $work/results.
run_row() {
	local target=$1 i=$3 name args log=$work/perf.log c0 c1
	IFS='|' read -r name args _ <<< "${rows[$i]}"
	c0=$(target_cpu_ns "$target")
	# shellcheck disable=SC2086
	taskset -c 1 "$peer/bin/spdk_nvme_perf" --no-huge -s 512 -c 0x2 -t "$secs" $args \
		-r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port subnqn:$nqn" > "$log" 2>&1 || true
	c1=$(target_cpu_ns "$target")
	local line
	line=$(awk -F: -v c=$((c1 - c0)) -v s="$secs" '/^Total/ {split($2, f, " "); n = f[1] * s;
		printf "%s %s %.2f\n", f[1], f[3], (n > 0 ? c / 1000 / n : 0)}' "$log" | tail -1)
	[ -n "$line" ] || line="0 0 0"
	echo "$target $2 $i $line" >> "$work/results"
	printf '  %-8s round %s  %-40s %s\n' "$target" "$2" "$name" "$line"
}

step "rounds: $rounds, $secs s per run, targets on core 0, spdk_nvme_perf on core 1, fabcheck-target args: ${target_args:-none}, SPDK memory: $spdk_mem_name, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
	for i in "${!rows[@]}"; do
		order="fabcheck spdk"
		[ $((r % 2)) -eq 0 ] && order="spdk fabcheck"
		for target in $order; do
			IFS='|' read -r _ _ row_args <<< "${rows[$i]}"
			"start_$target" "$row_args"
			run_row "$target" "$r" "$i"
			stop_target
		done
	done
done

step "load at the end: $(cut -d' ' -f1-3 /proc/loadavg); medians (IOPS; mean latency in us) and ratio fabcheck / SPDK"
python3 - "$work/results" "${#rows[@]}" "${rows[@]}" <<'EOF'
import statistics, sys
path, n = sys.argv[1], int(sys.argv[2])
names = [r.split("|")[0] for r in sys.argv[3:3 + n]]
runs = {}
for line in open(path):
    t, r, i, iops, lat, cpu = line.split()
    runs.setdefault((t, int(i)), {})[int(r)] = (float(iops), float(lat), float(cpu))
med = statistics.median
print("| workload | fabcheck IOPS | SPDK IOPS | ratio (median of pairs) | pair ratios | ratio of medians "
      "| fabcheck mean us | SPDK mean us | fabcheck CPU us/IO | SPDK busy CPU us/IO | CPU ratio SPDK / fabcheck |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for i, name in enumerate(names):
    f, s = runs.get(("fabcheck", i), {}), runs.get(("spdk", i), {})
    if not f or not s:
        print(f"| {name} | n/a |")
        continue
    fi, si = med(x[0] for x in f.values()), med(x[0] for x in s.values())
    fl, sl = med(x[1] for x in f.values()), med(x[1] for x in s.values())
    fc, sc = med(x[2] for x in f.values()), med(x[2] for x in s.values())
    pairs = [f[r][0] / s[r][0] for r in f if r in s and s[r][0] > 0]
    ratio = f"{med(pairs):.2f}" if pairs else "n/a"
    spread = f"{min(pairs):.2f}-{max(pairs):.2f}" if pairs else "n/a"
    of_medians = f"{fi / si:.2f}" if si > 0 else "n/a"
    cpu_ratio = f"{sc / fc:.2f}" if fc > 0 and sc > 0 else "n/a"
    print(f"| {name} | {fi:,.0f} | {si:,.0f} | {ratio} | {spread} | {of_medians} | {fl:.1f} | {sl:.1f} "
          f"| {fc:.2f} | {sc:.2f} | {cpu_ratio} |")
EOF
