#!/usr/bin/env bash
# Differential sweep: random stories of one scenario through the model and real SPDK.
#   differential/sweep.sh SCENARIO RUNS v24.01|v24.05 [BUG]
# Exports the stories of seeds 1..RUNS (`fc1:SCENARIO[+BUG]:<seed>`), replays them all on the
# harness (one setup, one forked child per story), and prints the agreement rate and the first
# story of each kind of disagreement, with its seed string and step.
# Agreement: the model is clean and SPDK reaches quiescence with the same outputs after every
# step, or the model reports a violation and SPDK crashes. Unsupported stories (steps the harness
# cannot replay yet) are counted apart.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
scenario=${1:?usage: sweep.sh SCENARIO RUNS VERSION [BUG]}
runs=${2:?runs}
version=${3:?version}
bug=${4:-}
key=$scenario${bug:++$bug}
dir=$("$here/build.sh" "$version" | tail -1)
(cd "$root" && cargo build -q -p fabcheck)
work=$root/target/differential/sweep-$key-$version
rm -rf "$work" && mkdir -p "$work"
for i in $(seq 1 "$runs"); do
  "$root/target/debug/fabcheck" export-story "fc1:$key:$(printf %x "$i")" -o "$work/$i.story"
done
set +e
(cd "$work" && "$dir/fabcheck-diff" --syms "$dir/fabcheck-diff.syms" $(seq -f %g.story 1 "$runs")) \
  >"$work/harness.log" 2>&1
set -e
python3 - "$work/harness.log" "$key" "$version" <<'PY'
import re, sys
log, key, version = sys.argv[1:]
stories, cur = [], None
for line in open(log, errors="replace"):
    line = line.rstrip("\n")
    if line.startswith("story ") and not line.startswith("story done"):
        cur = {"seed": "", "model": "", "verdict": "", "first": None, "differs": None, "summary": None, "step": "?"}
        stories.append(cur)
    elif cur is None:
        continue
    elif line.startswith("seed "):
        cur["seed"] = line[5:]
    elif line.startswith("model result: "):
        cur["model"] = line[14:]
    elif re.match(r"step \d+ ", line):
        cur["step"] = line.split()[1]
    elif "DIVERGENCE" in line and cur["first"] is None:
        cur["first"] = re.sub(r"step \d+: ", "", line.strip())
        cur.setdefault("at", cur["step"])
    elif ("OUTPUT DIFFERS" in line or "RPC DIFFERS" in line) and cur["differs"] is None:
        cur["differs"] = (cur["step"], line.strip())
        cur.setdefault("at", cur["step"])
    elif line.startswith("SUMMARY: ") and cur["summary"] is None:
        cur["summary"] = re.sub(r"/\S*/", "", line[9:])
    elif line.startswith("verdict "):
        cur["verdict"] = line.rsplit(": ", 1)[1]
kinds, agree, unsupported = {}, 0, 0
for s in stories:
    clean, v = s["model"] == "clean", s["verdict"]
    if v == "UNSUPPORTED":
        unsupported += 1
        kind = None
    elif v == "DIVERGED":
        kind = "message: " + (s["first"] or "?")
    elif v == "CRASH" and clean:
        kind = "SPDK crashes, model clean: " + (s["summary"] or "signal")
    elif v == "CRASH":
        kind = None if "violation" in s["model"] else "crash vs " + s["model"]
    elif v == "QUIESCENT" and not clean:
        kind = "model " + s["model"] + ", SPDK quiescent"
    elif v == "QUIESCENT" and s["differs"]:
        kind = "output: " + re.sub(r"step \d+ ", "", s["differs"][1])
    elif v == "QUIESCENT":
        kind = None
    else:
        kind = "SPDK " + v + ", model " + s["model"]
    if kind is None and v != "UNSUPPORTED":
        agree += 1
    elif kind is not None:
        kinds.setdefault(kind, []).append(s)
n = len(stories)
replayed = n - unsupported
rate = 100.0 * agree / replayed if replayed else 0.0
print(f"{key} on SPDK {version}: {n} stories, {unsupported} unsupported, "
      f"{agree}/{replayed} agree ({rate:.1f}%)")
for kind, ss in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
    s = ss[0]
    print(f"  {len(ss):4} x {kind}\n         first: {s['seed']} (step {s.get('at', s['step'])})")
PY
