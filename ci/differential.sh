#!/usr/bin/env bash
# Differential replay proof (docs/differential.md): the shrunk spdk-3302 stories, exported by
# `fabcheck export-story`, replayed on SPDK's real lib/nvmf built with AddressSanitizer.
#   v24.01 (has #3302): must report an ASAN SEGV or an assertion in nvmf_qpair_free_aer
#   v24.05 (fix 6c23277d0a) and master at 3230130e6a: must run the same story to quiescence
# Then the hazards of docs/hazards.md on real SPDK (the shutdown ones through shutdown.c), then sweeps (`fabcheck diff`): random stories of each SPDK profile against the SPDK version the
# profile models; the spdk-3302 scenarios must agree 100/100, churn reports its rate.
# Skips (exit 0, saying so) only when the SPDK source snapshots are not there.
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
out=target/differential
mkdir -p "$out"

have_src=
for d in "${FABCHECK_SPDK_SRC:-}" ../shared/peers/src /work/shared/peers/src; do
  if [ -n "$d" ] && [ -f "$d/spdk-v24.01-src.tar.zst" ] && [ -f "$d/spdk-v24.05-src.tar.zst" ] &&
     compgen -G "$d/spdk-master-*-src.tar.zst" >/dev/null; then
    have_src=$d; break
  fi
done
if [ -z "$have_src" ]; then
  echo "differential: SKIPPED: no SPDK source snapshots (spdk-v24.01, -v24.05, -master-*) in ../shared/peers/src"
  exit 0
fi
export FABCHECK_SPDK_SRC=$have_src

step "building fabcheck"
cargo build -q -p fabcheck
fabcheck=target/debug/fabcheck

declare -A dir
for v in v24.01 v24.05 master; do
  step "building SPDK $v libraries + harness (ASAN; cache ${FABCHECK_DIFF_CACHE:-$HOME/.cache/fabcheck-diff})"
  start=$SECONDS
  dir[$v]=$(differential/build.sh "$v" | tail -1)
  echo "built $v in $((SECONDS - start)) s: ${dir[$v]}"
done

# window name, failing seed string (the shrinker minimises it here, every run)
windows=(
  "a fc1:seed-3302+spdk-3302:14e3d14bf9586e0f"
  "b fc1:seed-3302-ctrlr-add-fail+spdk-3302:1e41ab087439611e"
)
fail=0
for w in "${windows[@]}"; do
  read -r name seed <<<"$w"
  step "window $name: shrinking $seed"
  shrunk=$("$fabcheck" shrink "$seed" | sed -n 's/^shrunk seed: *\([^ ]*\).*/\1/p' || true)
  [ -n "$shrunk" ] || { echo "differential: shrink of $seed gave no seed"; exit 1; }
  story=$out/window-$name.story
  "$fabcheck" export-story "$shrunk" -o "$story"
  echo "story: $story ($(grep -c '^step ' "$story") steps) from $shrunk"
  for v in v24.01 v24.05 master; do
    log=$out/window-$name-$v.log
    set +e
    "${dir[$v]}/fabcheck-diff" --syms "${dir[$v]}/fabcheck-diff.syms" "$story" >"$log" 2>&1
    rc=$?
    set -e
    verdict=$(sed -n 's/^verdict [^:]*: //p' "$log" | tail -1)
    case $v in
      v24.01)
        last_story=$(grep '^step ' "$story" | tail -1 | cut -d' ' -f2)
        last_run=$(grep '^step ' "$log" | tail -1 | sed 's/^step \([0-9]*\).*/\1/')
        if [ "$verdict" = CRASH ] && [ "$last_run" = "$last_story" ] &&
           grep -Eq '#0 .* in nvmf_qpair_free_aer|Assertion .*nvmf_qpair_free_aer|nvmf_qpair_free_aer.*Assertion' "$log"; then
          echo "window $name on $v: CRASH in nvmf_qpair_free_aer at step $last_run, the model's violation step ($(grep -m1 'SUMMARY' "$log"))"
        else
          echo "window $name on $v: expected a crash in nvmf_qpair_free_aer at step $last_story, got ${verdict:-nothing} at step ${last_run:-?} (rc $rc); log $log"
          tail -20 "$log"; fail=1
        fi ;;
      v24.05|master)
        # The fix: the same story runs to quiescence. The story is the v24.01 profile's, so a
        # step's bytes may leave one step later on a fixed version (v24.05 and later answer
        # CONNECT from the poll group, v24.01 from the controller thread); output agreement per
        # profile is what the sweeps below require.
        if [ "$verdict" = QUIESCENT ]; then
          echo "window $name on $v: QUIESCENT; $(grep -m1 '^story done' "$log") ($(grep -m1 '^quiescent' "$log"))"
        else
          echo "window $name on $v: expected quiescence, got ${verdict:-nothing} (rc $rc); log $log"
          tail -20 "$log"; fail=1
        fi ;;
    esac
  done
done
step "self-test: planted differences in window a must be caught on v24.05"
planted=$out/planted-name.story
sed 's/^\(step 2 0 run pg0\) _nvmf_poll_group_add$/\1 _nvmf_ctrlr_destruct/' "$out/window-a.story" >"$planted"
"${dir[v24.05]}/fabcheck-diff" --syms "${dir[v24.05]}/fabcheck-diff.syms" "$planted" >"$out/planted-name.log" 2>&1 || true
if grep -q 'DIVERGENCE step 2: model runs _nvmf_ctrlr_destruct' "$out/planted-name.log" &&
   grep -q 'verdict .*: DIVERGED' "$out/planted-name.log"; then
  echo "a wrong message name is a divergence at its step"
else
  echo "differential: a planted wrong message name went unnoticed"; fail=1
fi
planted=$out/planted-bytes.story
sed 's/^\(model 3 send 1 \)01/\102/' "$out/window-a.story" >"$planted"
"${dir[v24.05]}/fabcheck-diff" --syms "${dir[v24.05]}/fabcheck-diff.syms" "$planted" >"$out/planted-bytes.log" 2>&1 || true
# (window a is the buggy model's story: on fixed v24.05 the objects already differ at its
# violation step, so the planted byte must add exactly one differing step.)
base=$(sed -n 's/.*differ on \([0-9]*\)$/\1/p' "$out/window-a-v24.05.log" | tail -1)
if grep -q 'OUTPUT DIFFERS step 3 conn 1' "$out/planted-bytes.log" &&
   grep -q "differ on $((base + 1))\$" "$out/planted-bytes.log"; then
  echo "a wrong byte in the model's ICResp is an output difference at its step"
else
  echo "differential: a planted wrong output byte went unnoticed"; fail=1
fi

planted=$out/planted-rpc.story
sed 's/^model 8 rpc_done 1 ok$/model 8 rpc_done 1 error/' "$out/window-a.story" >"$planted"
"${dir[v24.05]}/fabcheck-diff" --syms "${dir[v24.05]}/fabcheck-diff.syms" "$planted" >"$out/planted-rpc.log" 2>&1 || true
if grep -q 'RPC DIFFERS step 8: model answers 1:error, SPDK answers 1:ok' "$out/planted-rpc.log"; then
  echo "a wrong RPC answer is a difference at its step"
else
  echo "differential: a planted wrong RPC answer went unnoticed"; fail=1
fi

# Hazards on real SPDK (docs/hazards.md, "Replayed on real SPDK"): each recorded seed's story on
# the SPDK of its profile, leniently; H-5 with the parked qpair's retry fired 1 ms after the end.
hazard() { # name version seed appended-step expected-line-regex
  local story=$out/hazard-$1-$2.story log=$out/hazard-$1-$2.log
  "$fabcheck" export-story "$3" -o "$story"
  [ -z "$4" ] || echo "step $(( $(grep -c '^step ' "$story") + 1 )) $4" >>"$story"
  "${dir[$2]}/fabcheck-diff" --syms "${dir[$2]}/fabcheck-diff.syms" --lenient "$story" >"$log" 2>&1 || true
  if grep -Eq "$5" "$log"; then
    echo "hazard $1 on $2: $(grep -Em1 "$5" "$log")"
  else
    echo "differential: hazard $1 on $2: expected /$5/ in $log"; fail=1
  fi
}
step "hazards H-5, H-6, H-7, H-11, H-12 on real SPDK"
retry() { echo "1000000 fire QidRetry{conn:ConnId($1)}"; } # the parked qpair's connection
hazard H-5 v24.01 'fc1:random-peers@v24.01:204729500633d901:0.0.0.0.0.0.0.2.25.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.2.10.0.0.0.1.0.1.1.2.5' "$(retry 3)" \
  'SUMMARY: AddressSanitizer: heap-use-after-free .*ctrlr.c:[0-9]+ in ctrlr_add_qpair_and_send_rsp'
hazard H-5 master 'fc1:random-peers@master:1ea3eff4d6f961b4:1.1.0.1.0.0.0.0.0.0.0.0.1.1.1.0.1.1.10.0.0.0.0.0.0.0.0.0.0.0.0.5' "$(retry 3)" \
  'SUMMARY: AddressSanitizer: heap-use-after-free .*ctrlr.c:[0-9]+ in nvmf_ctrlr_add_qpair'
hazard H-6 v24.01 'fc1:random-peers@v24.01:038b391585635873:0.1.0.1.0.0.0.0.1.1.1.0.0.0.1.1.1.21.0.1.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.1.1.0.0.0.0.1.12.0.1.1.0.1.1.0.2.10.2.0.1.2.0.0.2.11.2.0.2.0.1.0.0.0.3.1.0.0.1.3.5.1.1.4' '' \
  'SUMMARY: AddressSanitizer: SEGV .*ctrlr.c:[0-9]+ in ctrlr_add_qpair_and_send_rsp'
hazard H-7 master 'fc1:random-peers@master:2f90ea2a2adc5bab:0.0.0.0.0.0.0.1.0.0.0.0.2.1.1.1.1.1.2.2.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.3.10.5.3.6.11.8.9.2.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.16.1.1.1.1.1' '' \
  '^pg2 still counts 1 request\(s\) in a subsystem group'
# H-11 and H-12 (docs/hazards.md): remove_host's context outlives the subsystem a concurrent
# delete frees: the walk's completion (H-11) or master's 5 ms poll (H-12) reads it.
hazard H-11 master 'fc1:host-removal-under-teardown@master:0706dd2f4d197e6f:0.0.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1' '' \
  'SUMMARY: AddressSanitizer: heap-use-after-free .*subsystem.c:[0-9]+ in nvmf_subsystem_disconnect_host_fini'
hazard H-12 master 'fc1:host-removal-under-teardown@master:1ad6e24671254235:0.0.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1' '' \
  'SUMMARY: AddressSanitizer: heap-use-after-free .*subsystem.c:[0-9]+ in nvmf_subsystem_has_ctrlr'
# Found by the H-5 replay (docs/hazards.md, "Found on real SPDK only"): a stray H2CData with
# TTAG 0 (the host's data for a write the target already finished) makes SPDK index
# tqpair->reqs[ttag - 1] = reqs[-1]; the model answers the termination SPDK's release build
# most likely sends. The story's step 45 is that PDU.
hazard TTAG-0 master 'fc1:random-peers@master:25123d228eb2480a:0.1.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.17.0.0.0.0.0.0.0.0.0.0.17.0.0.0.0.0.0.0.0.6.0.0.0.0.14.0.0.0.0.0.8' '' \
  'SUMMARY: AddressSanitizer: heap-buffer-overflow .*tcp.c:[0-9]+ in nvmf_tcp_h2c_data_hdr_handle'
step "hazards H-4, H-6, H-8, H-9, H-10, H-13 through the target shutdown (shutdown.c)"
# v24.01 as released has no STOP_LISTEN: the seeds with +spdk-3273 (same violations in the model).
h4='0.0.0.1.0.1.0.1.8.0.0.1.0.0.1.11.0.0.1.0.0.1.0.1.14.0.0.0.0.0.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.1.0.0.1.22.0.0.1.18.0.0.2.0.2.0.2.0.2.0.2.0.2.0.2.0.2.26'
hazard H-4 v24.01 "fc1:random-peers@v24.01+spdk-3273:333012f6635ff33d:$h4" '' \
  '^verdict .*: LEAKED$'
# H-10 (the model reports it at that step since): in the profile's order (STOP_LISTEN first,
# 2cbc8aec37) the surviving subsystem's listener trid points into the transport listener
# STOP_LISTEN freed (docs/hazards.md).
hazard H-10-destroy-cb v24.01 "fc1:random-peers@v24.01:333012f6635ff33d:$h4" '' \
  '#[0-9]+ .* in nvmf_tgt_destroy_cb .*nvmf.c'
hazard H-6 master 'fc1:random-peers@master:038b391585635873:0.1.0.1.0.0.0.0.1.1.1.0.0.0.1.1.1.21.0.1.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.1.1.0.0.0.0.1.12.0.1.1.0.1.1.0.2.10.2.0.1.2.0.0.2.11.2.0.2.0.1.0.0.0.3.1.0.0.1.3.5.1.1.4' '' \
  'SUMMARY: AddressSanitizer: SEGV .*ctrlr.c:[0-9]+ in nvmf_ctrlr_add_qpair'
hazard H-8 v24.01 'fc1:shutdown-under-load@v24.01+spdk-3273:3d90540fe6a96dd7' '' \
  'LOST MESSAGE: spdk_thread_send_msg: Thread nvmf_tgt_poll_group_[0-9]+ is marked as exited'
hazard H-9 v24.01 'fc1:shutdown-under-load@v24.01+spdk-3273:0f3977d09047eef2' '' \
  '^verdict .*: LOST-MESSAGE$'
# H-10 on master: master stops
# listening before the destroys, and the in-flight delete's remove_all_listeners(s, true) meets
# a listener STOP_LISTEN made inactive.
hazard H-10 master 'fc1:shutdown-under-load@master:2e84be97ed3441bc' '' \
  "Assertion .nvmf_subsystem_listener_is_active\\(listener\\). failed"
# H-13 (docs/hazards.md): a stop freed the transport listener a subsystem listener points
# into; v24.01's nvmf_subsystem_find_listener reads it freed, master's STOP_LISTEN reads NULL.
hazard H-13 v24.01 'fc1:random-peers@v24.01:25d8c8503fa207b1' '' \
  '#[0-9]+ .* in nvmf_subsystem_find_listener .*subsystem.c'
hazard H-13-connect v24.01 'fc1:shutdown-under-load@v24.01:236a5a49db5899fa' '' \
  '#[0-9]+ .* in spdk_nvmf_subsystem_listener_allowed .*subsystem.c'
hazard H-13 master 'fc1:random-peers@master:2fcd400f7acbe68a' '' \
  '#[0-9]+ .* in nvmf_tgt_stop_listen .*shutdown.c'

# Sweeps (`fabcheck diff`): random stories of each profile against the SPDK that profile models,
# step for step (messages, bytes, closes, RPC answers, objects, quiescence). v24.01's stories run
# with the catalogue bugs v24.01 shipped switched on (diff does that by default).
runs=${FABCHECK_DIFF_RUNS:-100}
sweep() { # must-agree(1|0) scenario runs version
  local out
  out=$("$fabcheck" diff --scenario "$2" --runs "$3" --spdk "$4" --out "$out_dir" --jobs 2 || true)
  echo "$out"
  if [ "$1" = 1 ] && ! grep -q " $3/$3 agree" <<<"$out"; then
    echo "differential: the model and SPDK $4 disagree on some $2 story"; fail=1
  fi
  if [ "$1" = 0 ] && ! grep -q "0 unsupported" <<<"$out"; then
    echo "differential: some $2 story has steps the harness cannot replay"; fail=1
  fi
}
out_dir=$out
step "sweep: 100 random seed-3302-ctrlr-add-fail stories, master profile, on SPDK master"
sweep 1 seed-3302-ctrlr-add-fail 100 master
step "sweep: 100 random seed-3302-ctrlr-add-fail stories, v24.01 profile (+ its bugs), on SPDK v24.01"
sweep 1 seed-3302-ctrlr-add-fail 100 v24.01
step "sweep: 100 random seed-3302 stories, v24.01 profile (+ its bugs), on SPDK v24.01"
sweep 1 seed-3302 100 v24.01
# churn: namespaces, I/O, keep-alive, resets, listener and namespace RPCs. The known differences
# are listed in docs/differential.md; these sweeps report the rate and every kind, and fail only
# if a story cannot be replayed. FABCHECK_DIFF_RUNS=1000 for the full sweep.
step "sweep: $runs random churn stories, master profile, on SPDK master"
sweep 0 churn "$runs" master
step "sweep: $runs random churn stories, v24.01 profile (+ its bugs), on SPDK v24.01"
sweep 0 churn "$runs" v24.01
exit $fail
