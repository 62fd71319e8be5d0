#!/bin/bash
# pipelines/cmp-runs.sh A B: compare two run directories (work/<name>) of the
# same pipeline: every artifact of A must exist in B and be byte-identical,
# except the wall-clock fields of the JSON files ("seconds*", "img_per_s"),
# which are compared with those fields removed. Stamps, done files and the
# stage log are skipped. Prints one line per file that differs and a count;
# exits 1 when any differs.
set -u
a=$1 b=$2
n=0 bad=0
strip() { sed -E 's/"(seconds[a-z0-9_]*|img_per_s)": [-+0-9.eE]+/"\1": T/g' "$1"; }
while IFS= read -r -d '' f; do
    n=$((n + 1))
    case "$f" in
    *.json | *.jsonl) cmp -s <(strip "$a/$f") <(strip "$b/$f") ;;
    *) cmp -s "$a/$f" "$b/$f" ;;
    esac || { echo "differs: $f"; bad=$((bad + 1)); }
done < <(cd "$a" && find . -type f ! -name stages.log ! -name 'done.*' ! -name 'params.*' -print0 | sort -z)
echo "$n artifacts compared, $bad differ"
[ $bad = 0 ]
