#!/usr/bin/env bash
# The long sweep of issues #9, #10 and #12: every built-in scenario in every SPDK profile with
# every catalogue switch off, RUNS runs each (default 50,000; PCT portfolio, `hunt --jobs`).
# Prints one row per scenario and profile: runs, runs/s, violations (unknown findings),
# recorded hazards by id, nondeterminism, required marks missing. Exits 1 when any row has a
# violation, nondeterminism or a missing required mark; recorded hazards are reported, not failed.
#   bash ci/sweep.sh [RUNS]      FABCHECK_JOBS=J (default 2), FABCHECK_SWEEP_OUT=DIR,
#                                FABCHECK_BIN=PATH (a built fabcheck; default: build release),
#                                FABCHECK_PROFILES="v26.05 ..." (default: every profile)
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
runs=${1:-50000}
jobs=${FABCHECK_JOBS:-2}
out=${FABCHECK_SWEEP_OUT:-target/fabcheck/sweep}
mkdir -p "$out"
bin=${FABCHECK_BIN:-}
if [ -z "$bin" ]; then
	step "cargo build --release -p fabcheck"
	cargo build --release -q -p fabcheck
	bin=target/release/fabcheck
fi
scenarios=$("$bin" scenarios | sed -n 's/^\([a-z0-9-]*\)  (spdk .*/\1/p')
printf '| scenario | profile | runs | runs/s | violations | hazards | nondeterminism | missing marks |\n'
printf '|---|---|---|---|---|---|---|---|\n'
fail=0
for profile in ${FABCHECK_PROFILES:-v24.01 v26.05 master}; do
	for s in $scenarios; do
		log="$out/$s@$profile.jsonl"
		"$bin" hunt --scenario "$s" --spdk "$profile" --runs "$runs" --jobs "$jobs" --json \
			--out "$out/runs" >"$log" 2>/dev/null || true
		row=$(python3 - "$log" <<'PY'
import collections, json, sys
hazards, summary = collections.Counter(), None
for line in open(sys.argv[1]):
    d = json.loads(line)
    if d.get("summary"):
        summary = d
    elif d.get("hazard"):
        hazards[d["hazard"]] += 1
if summary is None:
    print("| - | - | no summary (hunt failed) | - | - | - |"); sys.exit(1)
hz = ", ".join(f"{k} {v}" for k, v in sorted(hazards.items())) or "0"
bad = summary["violations"] or summary["nondeterminism"] or summary["missing_marks"]
print(f"| {summary['runs']} | {summary['runs_per_sec']:.0f} | {summary['violations']} | {hz} "
      f"| {len(summary['nondeterminism'])} | {', '.join(summary['missing_marks']) or '-'} |")
sys.exit(1 if bad else 0)
PY
		) || fail=1
		printf '| `%s` | %s %s\n' "$s" "$profile" "$row"
	done
done
exit $fail
