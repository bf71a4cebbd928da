#!/usr/bin/env bash
# fabcheck-target as SPDK v26.05's own tools see it, and fabcheck-perf against SPDK's nvmf_tgt.
#
# Uses the portable SPDK peer (nvmf_tgt, spdk_nvme_identify, spdk_nvme_perf, bdevperf, rpc.py):
# $SPDK_PEER_DIR if it holds bin/nvmf_tgt, else the shared copy's spdk-peer.sh (../shared/peers
# next to the repository, or $SPDK_PEER_SH), which extracts it. Without either it prints
# "spdk-interop: SKIPPED (...)" and exits 0.
#
# Every check reads the tool's output (identify fields, IOPS > 0, zero errors/miscompares, the
# RPC answers), not only its exit code. Targets run on core 0, initiators on core 1; every
# process is stopped by its PID. Known gaps print XFAIL with the reason and do not fail the run;
# if one starts passing it prints XPASS and fails, so the list stays true.
# Env: FABCHECK_INTEROP_SECONDS (per I/O run, default 2).
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
root=$(pwd)
secs=${FABCHECK_INTEROP_SECONDS:-2}

if ! peer=$(find_spdk_peer) || [ ! -x "$peer/bin/nvmf_tgt" ]; then
	echo "spdk-interop: SKIPPED (no SPDK peer: set SPDK_PEER_DIR to an extracted peer, or provide ../shared/peers/spdk-peer.sh)"
	exit 0
fi
step "SPDK peer in $peer"
have taskset || { echo "spdk-interop: SKIPPED (taskset missing)"; exit 0; }

step "building fabcheck-target and fabcheck-perf (release)"
cargo build -q --release -p fabcheck-runtime --bins
bin=$root/target/release
work=$(mktemp -d /tmp/fabcheck-interop.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	[ "${fails:-1}" -ne 0 ] || rm -rf "$work"
}
trap cleanup EXIT

# total_iops LOG: the IOPS of the last "Total" line of spdk_nvme_perf or bdevperf (0 if none).
total_iops() { awk -F: '/^[[:space:]\r]*Total/ {split($2, f, " "); v = f[1]} END {print v + 0}' "$1"; }
# bdev_fails LOG: Fail/s of bdevperf's last Total line.
bdev_fails() { awk -F: '/^[[:space:]\r]*Total/ {split($2, f, " "); v = f[3]} END {print v + 0}' "$1"; }
positive() { awk -v v="$1" 'BEGIN {exit !(v > 0)}'; }
# jcheck NAME JSON PYTHON-EXPR: the expression over `r` (the parsed JSON) must be true.
jcheck() {
	if python3 -c "import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if ($3) else 1)" "$2"; then
		pass "$1"
	else
		fail "$1: $2"
	fi
}
# rpc_err NAME CODE ARGS...: rpc.py must fail with this JSON-RPC error code.
rpc_err() {
	local name=$1 code=$2 out; shift 2
	if out=$(rpc "$@" 2>&1); then
		fail "$name: succeeded"
	elif grep -q "\"code\": $code" <<< "$out"; then
		pass "$name ($code)"
	else
		fail "$name: $out"
	fi
}

run_rpc_setup() {
	step "rpc.py: setup (one batch, rpc.py -b)"
	rpc framework_wait_init && pass "framework_wait_init" || fail "framework_wait_init"
	rpc -b > "$work/batch.out" 2>&1 <<-EOF || fail "rpc.py -b batch: $(cat "$work/batch.out")"
	nvmf_create_transport -t TCP
	bdev_malloc_create 64 512 -b Malloc0
	bdev_malloc_create 32 4096 -b Malloc1
	nvmf_create_subsystem $cnode1 -a -s SPDK00000000000001 -m 4
	nvmf_create_subsystem $cnode2 -a -s SPDK00000000000002 -d fabcheck-interop
	nvmf_subsystem_add_ns $cnode1 Malloc0
	nvmf_subsystem_add_ns $cnode2 Malloc1
	nvmf_subsystem_add_listener $cnode1 -t tcp -a 127.0.0.1 -s $port -f ipv4
	nvmf_subsystem_add_listener $cnode1 -t tcp -a 127.0.0.1 -s $port2 -f ipv4
	nvmf_subsystem_add_listener $cnode2 -t tcp -a 127.0.0.1 -s $port -f ipv4
	EOF
	grep -q '"Malloc1"' "$work/batch.out" && pass "batch answered (bdev names returned)" \
		|| fail "batch output: $(cat "$work/batch.out")"
	local subs
	subs=$(rpc nvmf_get_subsystems)
	jcheck "the discovery subsystem first, as SPDK lists it" "$subs" \
		"r[0]['nqn'] == 'nqn.2014-08.org.nvmexpress.discovery' and r[0]['subtype'] == 'Discovery' and r[0]['allow_any_host']"
	subs=$(echo "$subs" | python3 -c 'import json,sys; print(json.dumps([s for s in json.load(sys.stdin) if s["subtype"] == "NVMe"]))')
	jcheck "two subsystems, serials, -m 4, cntlid range" "$subs" \
		"[s['serial_number'] for s in r] == ['SPDK00000000000001', 'SPDK00000000000002'] and r[0]['max_namespaces'] == 4 and r[1]['max_namespaces'] == 32 and r[0]['min_cntlid'] == 1 and r[1]['model_number'] == 'fabcheck-interop'"
	jcheck "namespace UUID and NGUID from the bdev UUIDs" "$subs" \
		"len({s['namespaces'][0]['uuid'] for s in r}) == 2 and all(s['namespaces'][0]['nguid'] == s['namespaces'][0]['uuid'].replace('-', '').upper() for s in r)"
	jcheck "two listeners on cnode1" "$subs" \
		"sorted(a['trsvcid'] for a in r[0]['listen_addresses']) == sorted(['$port', '$port2'])"
	jcheck "bdev_get_bdevs: unique UUIDs, claimed" "$(rpc bdev_get_bdevs)" \
		"len({b['uuid'] for b in r}) == 2 and all(b['claimed'] for b in r)"
	jcheck "nvmf_get_transports: TCP, c2h_success option on (as SPDK reports it)" "$(rpc nvmf_get_transports)" \
		"r[0]['trtype'] == 'TCP' and r[0]['c2h_success'] is True"
	rpc_err "bad NQN refused" -32603 nvmf_create_subsystem "bad nqn"
	rpc_err "iqn. NQN refused" -32603 nvmf_create_subsystem iqn.2016-06.io.spdk:x
	rpc_err "add_ns on a missing subsystem" -32602 nvmf_subsystem_add_ns nqn.2016-06.io.spdk:none Nope
	rpc_err "nsid above -m 4" -32602 nvmf_subsystem_add_ns $cnode1 Malloc0 -n 5
}

run_identify() {
	step "spdk_nvme_identify"
	local out=$work/identify.log
	if taskset -c 1 "$peer/bin/spdk_nvme_identify" "${mem[@]}" -r "$(trid $port $cnode1)" > "$out" 2>&1 &&
		grep -Eq "Serial Number: +SPDK00000000000001" "$out" &&
		grep -Eq "Namespace ID: *1" "$out"; then
		pass "identify cnode1 (serial, namespace 1)"
	else
		fail "identify cnode1: $(tail -5 "$out")"
	fi
	if grep -Eq "May have multiple controllers: +Yes" "$out" &&
		grep -Eq "Namespace Sharing Capabilities: +Multiple Controllers" "$out" &&
		grep -Eq "Active slot: +1" "$out"; then
		pass "identify: CMIC, NMIC and the firmware slot log as SPDK serves them"
	else
		fail "identify CMIC/NMIC/firmware slot: $(grep -E "multiple|Sharing|Active slot" "$out")"
	fi
	if grep -Eq "^Command Effects Log Page: +Supported" "$out" &&
		grep -Eq "^ +Write \(01h\): Supported LBA-Change" "$out" &&
		grep -Eq "^ +Keep Alive \(18h\): Supported" "$out"; then
		pass "identify: the Commands Supported and Effects page (LPA and its entries)"
	else
		fail "identify effects page: $(grep -E "Effects|Write \(01h\)|Keep Alive \(18h\)" "$out")"
	fi
	# cnode1 was created with `nvmf_create_subsystem -m 4`: NN is its max_namespaces.
	if grep -Eq "^Max Number of Namespaces: +4$" "$out"; then
		pass "identify: NN is the subsystem's max_namespaces (-m 4)"
	else
		fail "identify NN: $(grep -E "Number of Namespaces" "$out")"
	fi
	if grep -Eq "^Volatile Write Cache: +Present" "$out" &&
		grep -Eq "^Fused Compare & Write: +Supported" "$out"; then
		pass "identify: volatile write cache and fused Compare & Write as SPDK reports them"
	else
		fail "identify VWC/FUSES: $(grep -E "^Volatile Write Cache|^Fused Compare" "$out")"
	fi
	if taskset -c 1 "$peer/bin/spdk_nvme_identify" "${mem[@]}" -r "$(trid $port $cnode2)" > "$out" 2>&1 &&
		grep -Eq "Serial Number: +SPDK00000000000002" "$out" &&
		grep -Eq "Model Number: +fabcheck-interop" "$out"; then
		pass "identify cnode2 (its own serial and model)"
	else
		fail "identify cnode2: $(tail -5 "$out")"
	fi
	if taskset -c 1 "$peer/bin/spdk_nvme_identify" "${mem[@]}" \
		-r "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$port" > "$out" 2>&1 &&
		grep -Eq "Number of Records: +3" "$out" &&
		[ "$(grep -Ec "NVM Subsystem Qualified Name: +$cnode1" "$out")" = 2 ] &&
		[ "$(grep -Ec "NVM Subsystem Qualified Name: +$cnode2" "$out")" = 1 ] &&
		grep -Eq "Transport Service Identifier: +$port2" "$out"; then
		pass "identify without subnqn: discovery log page with the 3 listener records"
	else
		fail "identify discovery: $(grep -E "Records|Qualified|sct|Error" "$out" | head -8)"
	fi
	local a b
	a=$(taskset -c 1 "$peer/bin/spdk_nvme_identify" "${mem[@]}" -r "$(trid $port $cnode1)" 2>&1 | grep -E "^UUID:|NGUID:" | sort)
	b=$(taskset -c 1 "$peer/bin/spdk_nvme_identify" "${mem[@]}" -r "$(trid $port $cnode2)" 2>&1 | grep -E "^UUID:|NGUID:" | sort)
	if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; then
		pass "identify: each subsystem's namespace has its own UUID/NGUID"
	else
		fail "namespace identity: cnode1 [$a] cnode2 [$b]"
	fi
}

# perf_run NAME ARGS...: spdk_nvme_perf on core 1; IOPS > 0 and no failed I/O.
perf_run() {
	local name=$1 log=$work/perf.log; shift
	if taskset -c 1 "$peer/bin/spdk_nvme_perf" "${mem[@]}" -c 0x2 -t "$secs" "$@" > "$log" 2>&1 &&
		positive "$(total_iops "$log")" && ! grep -Eqi "failed|error" <(grep -v "CQ transport error -6" "$log"); then
		pass "$name: $(total_iops "$log") IOPS"
	else
		fail "$name: $(tail -5 "$log")"
	fi
}

run_perf() {
	step "spdk_nvme_perf"
	local w d
	for d in "" "-H -I"; do
		for w in randread randwrite; do
			# shellcheck disable=SC2086
			perf_run "perf $w 4K QD32 ${d:+(digests)}" -r "$(trid $port $cnode1)" -q 32 -o 4096 -w $w $d
		done
	done
	perf_run "perf 128K read QD8 -P 2" -r "$(trid $port $cnode1)" -q 8 -o 131072 -w read -P 2
}

run_two_paths() {
	step "two paths to cnode1 and a second subsystem in one perf run"
	local log=$work/perf.log
	taskset -c 1 "$peer/bin/spdk_nvme_perf" "${mem[@]}" -c 0x2 -t "$secs" -q 16 -o 4096 -w randrw -M 50 \
		-r "$(trid $port $cnode1)" -r "$(trid $port2 $cnode1)" -r "$(trid $port $cnode2)" > "$log" 2>&1 || true
	local lines
	lines=$(grep -c "from core" "$log" || true)
	if [ "$lines" -eq 3 ] && ! awk '/from core/ {split($0, a, ":"); split(a[length(a)], f, " "); if (f[1] + 0 <= 0) bad = 1} END {exit !bad}' "$log"; then
		pass "3 controllers (2 paths + cnode2), each with I/O"
	else
		fail "two paths: $(grep -E "from core|Total|rror" "$log" | head -8)"
	fi
	local rows
	rows=$(rpc nvmf_subsystem_get_listeners $cnode1)
	jcheck "get_listeners shows both paths" "$rows" "len(r) == 2"
}

bdevperf_conf() { # bdevperf_conf DIGESTS PORT...: one Nvme0 controller per port (multipath if 2)
	local dg=$1 first=1 p; shift
	printf '{"subsystems": [{"subsystem": "bdev", "config": ['
	for p in "$@"; do
		[ $first = 1 ] || printf ','
		first=0
		printf '{"method": "bdev_nvme_attach_controller", "params": {"name": "Nvme0", "trtype": "tcp", "adrfam": "IPv4", "traddr": "127.0.0.1", "trsvcid": "%s", "subnqn": "%s", "hdgst": %s, "ddgst": %s, "multipath": "multipath"}}' \
			"$p" "$cnode1" "$dg" "$dg"
	done
	printf ']}]}\n'
}

# bdevperf_run NAME CONF [RPC-DURING]: verify on core 1; IOPS > 0, no miscompare, and Fail/s == 0
# (with RPC-DURING, a controller reset: the host itself aborts the I/O in flight at the reset
# with dnr=1, as it does against SPDK's nvmf_tgt, so bdevperf runs with -f and only the data
# checks and the I/O after the reconnect count).
bdevperf_run() {
	local name=$1 conf=$2 during=${3:-} log=$work/bdevperf.log bsock=$work/bdevperf.sock
	local flags=()
	rm -f "$bsock"
	local run=$((secs + 1))
	[ -z "$during" ] || { flags=(-f); run=$((secs + 3)); }
	taskset -c 1 "$peer/bin/bdevperf" --no-huge -s 1024 --no-pci -m 0x2 -r "$bsock" -c "$conf" \
		-q 32 -o 4096 -w verify "${flags[@]}" -t "$run" > "$log" 2>&1 &
	local bp=$!
	pids+=("$bp")
	if [ -n "$during" ]; then
		# bdevperf starts its I/O once its RPC socket is up (slow on a loaded machine).
		for _ in $(seq 300); do [ -S "$bsock" ] && break; sleep 0.1; done
		sleep 1
		if /usr/bin/python3 "$peer/scripts/rpc.py" -s "$bsock" $during > "$work/during.log" 2>&1; then
			pass "$name: '$during' answered"
		else
			fail "$name: '$during': $(cat "$work/during.log")"
		fi
	fi
	local rc=0
	wait "$bp" || rc=$?
	local fails_ok=1
	[ -n "$during" ] || ! positive "$(bdev_fails "$log")" || fails_ok=0
	if [ $rc -eq 0 ] && positive "$(total_iops "$log")" && [ $fails_ok = 1 ] &&
		! grep -qi "miscompare" "$log"; then
		pass "$name: $(total_iops "$log") IOPS verified, $(bdev_fails "$log") failed/s"
	else
		fail "$name (rc $rc): $(grep -E "Total|rror|iscompare" "$log" | tail -5)"
	fi
}

run_bdevperf() {
	step "bdevperf -w verify (SPDK's bdev_nvme initiator)"
	bdevperf_conf false "$port" > "$work/bp.json"
	bdevperf_conf true "$port" > "$work/bp-dg.json"
	bdevperf_conf false "$port" "$port2" > "$work/bp-mp.json"
	bdevperf_run "bdevperf verify" "$work/bp.json"
	bdevperf_run "bdevperf verify, digests" "$work/bp-dg.json"
	bdevperf_run "controller reset under verify I/O" "$work/bp.json" "bdev_nvme_reset_controller Nvme0"
	bdevperf_run "bdevperf multipath verify (2 paths, one bdev)" "$work/bp-mp.json"
}

run_rpc_teardown() {
	step "rpc.py: teardown"
	rpc nvmf_subsystem_remove_ns $cnode2 1 && rpc nvmf_delete_subsystem $cnode2 &&
		rpc nvmf_subsystem_remove_listener $cnode1 -t tcp -a 127.0.0.1 -s $port2 -f ipv4 ||
		fail "teardown calls"
	jcheck "after teardown: discovery and cnode1, one listener" "$(rpc nvmf_get_subsystems)" \
		"[s['nqn'] for s in r] == ['nqn.2014-08.org.nvmexpress.discovery', '$cnode1'] and len(r[1]['listen_addresses']) == 1"
	rpc spdk_kill_instance SIGTERM || true
	local rc=0
	for _ in $(seq 100); do kill -0 "$tpid" 2>/dev/null || break; sleep 0.1; done
	wait "$tpid" || rc=$?
	[ $rc -eq 0 ] && pass "spdk_kill_instance: fabcheck-target exited 0" || fail "target exit code $rc"
}

run_fabcheck_perf_vs_spdk() {
	local ssock=$work/spdk.sock sport=$((port + 2)) log=$work/fperf.log
	taskset -c 0 "$peer/bin/nvmf_tgt" --no-huge -s 1024 --no-pci -m 0x1 -r "$ssock" > "$work/nvmf_tgt.log" 2>&1 &
	local spid=$!
	pids+=("$spid")
	for _ in $(seq 100); do [ -S "$ssock" ] && break; sleep 0.1; done
	local srpc=(/usr/bin/python3 "$peer/scripts/rpc.py" -s "$ssock")
	"${srpc[@]}" framework_wait_init > /dev/null
	"${srpc[@]}" -b > /dev/null <<-EOF
	nvmf_create_transport -t TCP
	bdev_malloc_create 64 512 -b Malloc0
	nvmf_create_subsystem $cnode1 -a -s SPDK00000000000001
	nvmf_subsystem_add_ns $cnode1 Malloc0
	nvmf_subsystem_add_listener $cnode1 -t tcp -a 127.0.0.1 -s $sport
	EOF
	if taskset -c 1 "$bin/fabcheck-perf" --target "127.0.0.1:$sport" --subnqn $cnode1 -q 32 -o 4096 \
		-w rw -M 50 -t "$secs" -c 2 --verify > "$log" 2>&1 &&
		grep -q "^mismatches: 0$" "$log" && grep -q "^errors: 0$" "$log" &&
		positive "$(awk '/^IOPS:/ {print $2}' "$log")"; then
		pass "fabcheck-perf rw --verify vs nvmf_tgt: $(awk '/^IOPS:/ {print $2}' "$log") IOPS, 0 mismatches"
	else
		fail "fabcheck-perf vs nvmf_tgt: $(tail -6 "$log")"
	fi
	kill -TERM "$spid"
	wait "$spid" 2>/dev/null || true
}

fails=0
pass() { echo "  PASS $*"; }
fail() { echo "  FAIL $*"; fails=$((fails + 1)); }
# xfail NAME REASON CMD...: a known gap; its command is expected to fail.
xfail() {
	local name=$1 why=$2; shift 2
	if "$@" > "$work/xfail.log" 2>&1; then
		fail "XPASS $name (now works: move it to the checks)"
	else
		echo "  XFAIL $name: $why"
	fi
}

port=$(random_port)
port2=$((port + 1))
sock=$work/fabcheck.sock
cnode1=nqn.2016-06.io.spdk:cnode1
cnode2=nqn.2016-06.io.spdk:cnode2
rpc() { /usr/bin/python3 "$peer/scripts/rpc.py" -s "$sock" "$@"; }
trid() { echo "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:$1 subnqn:$2"; }
mem=(--no-huge -s 512)

# The target starts empty (a config with no subsystems); rpc.py builds everything.
cat > "$work/empty.toml" <<EOF
rpc_socket = "$sock"
listen = ["127.0.0.1:$port"]
EOF
step "fabcheck-target on 127.0.0.1:$port (core 0), set up by SPDK's rpc.py"
taskset -c 0 "$bin/fabcheck-target" --config "$work/empty.toml" > "$work/target.log" 2>&1 &
tpid=$!
pids+=("$tpid")
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done

run_rpc_setup
run_identify
run_perf
run_two_paths
run_bdevperf
run_rpc_teardown

step "fabcheck-perf --verify against SPDK's nvmf_tgt"
run_fabcheck_perf_vs_spdk

if [ "$fails" -ne 0 ]; then
	echo "spdk-interop: $fails check(s) failed (logs were in $work)"
	exit 1
fi
echo "spdk-interop: all checks passed against SPDK v26.05's tools"
