#!/usr/bin/env bash
# Structure checks (after lint): no non-test source file over 500 lines, no function over 60
# lines, no `expect(` on the server path (core/src/nvmf and runtime/src, outside tests), and
# every design reference (`docs/*.md` in code and docs) resolves to a file in the repository.
# Test code is: files named tests.rs or tests_*.rs, anything under a tests/ or benches/ folder, and the
# lines from a file's first `#[cfg(test)]` / `#[cfg(all(test, ...))]` on.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_FILE=500
MAX_FN=60
fail=0

# Non-test Rust sources of the workspace (fuzz/ is outside it).
sources() {
    git ls-files -- 'core/src/*.rs' 'sim/src/*.rs' 'cli/src/*.rs' 'runtime/src/*.rs' 'models/src/*.rs' \
        | grep -v -E '(^|/)tests(_[a-z0-9_]+)?\.rs$|/tests/|/benches/'
}

# The non-test part of a file: everything before its first cfg(test) attribute.
non_test() {
    awk '/^[[:space:]]*#\[cfg\((all\()?test/ { exit } { print }' "$1"
}

echo "structure: files over $MAX_FILE lines (non-test part)"
while read -r f; do
    n=$(non_test "$f" | wc -l)
    if [ "$n" -gt "$MAX_FILE" ]; then
        echo "  FAIL $f: $n lines"
        fail=1
    fi
done < <(sources)

echo "structure: functions over $MAX_FN lines"
while read -r f; do
    # A function starts at a line `fn name` (any visibility/async/const; not a one-liner or a
    # bodiless declaration) and ends at the first later line that is only `}` at its indent.
    non_test "$f" | awk -v file="$f" -v max="$MAX_FN" '
        match($0, /^[[:space:]]*((pub(\([a-z:]+\))?|async|const|unsafe|extern "C") )*fn [A-Za-z0-9_]+/) {
            if (depth == "" && $0 !~ /[;}][[:space:]]*$/) {
                indent = match($0, /[^ ]/) - 1
                name = $0; sub(/^.*fn /, "", name); sub(/[(<].*/, "", name)
                start = NR; depth = indent
            }
        }
        depth != "" && NR > start && $0 ~ "^" sprintf("%" depth "s", "") "}[[:space:]]*$" {
            len = NR - start + 1
            if (len > max) { printf "  FAIL %s:%d: %s is %d lines\n", file, start, name, len; bad = 1 }
            depth = ""
        }
        END { exit bad }
    ' || fail=1
done < <(sources)

echo "structure: expect( on the server path (core/src/nvmf, runtime/src)"
count=0
while read -r f; do
    hits=$(non_test "$f" | grep -n 'expect(' || true)
    if [ -n "$hits" ]; then
        n=$(printf '%s\n' "$hits" | wc -l)
        count=$((count + n))
        printf '%s\n' "$hits" | sed "s|^|  $f:|"
    fi
done < <(sources | grep -E '^(core/src/nvmf|runtime/src)/')
if [ "$count" -gt 0 ]; then
    echo "  FAIL: $count expect( calls on the server path (turn each into a recorded violation or a checked error)"
    fail=1
fi

echo "structure: design references resolve inside the repository"
refs=$(git ls-files -- '*.rs' '*.md' '*.toml' '*.sh' | grep -v '^ci/structure.sh$' \
    | xargs grep -n -o -E 'docs/[A-Za-z0-9_./-]+\.md' || true)
while IFS=: read -r file line ref; do
    [ -n "$ref" ] || continue
    if [ ! -f "$ref" ]; then
        echo "  FAIL $file:$line: $ref does not exist"
        fail=1
    fi
done <<< "$refs"
# Links between the docs pages themselves, e.g. [lifecycle.md](lifecycle.md#simplified-and-why).
for page in docs/*.md; do
    for link in $(grep -o -E '\]\([A-Za-z0-9_-]+\.md' "$page" | sed 's/^](//'); do
        if [ ! -f "docs/$link" ]; then
            echo "  FAIL $page: link to $link does not exist"
            fail=1
        fi
    done
done
outside=$(git ls-files -- '*.rs' '*.md' '*.toml' '*.sh' | grep -v '^ci/structure.sh$' \
    | xargs grep -n -E 'DESIGN\.md|DESIGN [0-9]|README-CORE|README-RUNTIME|SPDK-NOTES' || true)
if [ -n "$outside" ]; then
    printf '%s\n' "$outside" | sed 's/^/  FAIL (design note outside the repo) /'
    fail=1
fi

if [ "$fail" -ne 0 ]; then
    echo "structure: FAILED"
    exit 1
fi
echo "structure: ok"
