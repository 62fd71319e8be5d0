#!/bin/bash
# t_pipeline.t: the smoke pipeline end to end with the real stages (the Make
# logic itself is covered with stand-in stages by t_plan.t). Skipped until
# every stage is built.
set -u
. "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${DSAH_BIN:-$repo/bin}
build=${DSAH_BUILD:-$repo/build}
for s in plan ingest features graph train encode and eval baseline index search; do
  if [ ! -x "$bin/dsah-$s" ]; then skip_all "$bin/dsah-$s is not built yet"; fi
done
[ -x "$build/tests/gen_smoke" ] || { skip_all "$build/tests/gen_smoke is not built"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset MAKEFLAGS MFLAGS MAKELEVEL

smoke_fixture "$tmp" "$build" "$repo"
mk() { make -s -C "$repo" --no-print-directory PIPELINE="$tmp/smoke.yaml" WORK="$tmp/work" BIN="$bin" THREADS=1 "$@"; }

mk pipeline > "$tmp/o1" 2>&1; ok $? "smoke pipeline runs"
[ $? = 0 ] || sed 's/^/#   /' "$tmp/o1" | tail -20
test -s "$W/runs/dsah-b16/eval/metrics.json"; ok $? "DSAH metrics written"
# the summary's columns are the YAML's metrics (smoke: topk 100, 5000;
# precision_at 10, 100), its DSAH row the values of metrics.json
is "$(sed -n 3p "$W/summary.md")" "| method | bits | mAP@100 | mAP@5000 | P@10 | P@100 |" \
  "the summary's columns follow eval.topk and eval.precision_at"
is "$(grep '^| DSAH | 16 |' "$W/summary.md")" \
  "$(LC_ALL=C printf '| DSAH | 16 | %.4f | %.4f | %.4f | %.4f |' \
      $(jq -r '."mAP@100", ."mAP@5000", ."P@10", ."P@100"' "$W/runs/dsah-b16/eval/metrics.json"))" \
  "the summary's DSAH row holds its metrics.json values"
is "$(ls "$W/index" | tr '\n' ' ')" "dsah-b16 itq-b16 lsh-b16 " "make pipeline builds the indexes of its runs"
"$bin/dsah-search" -q --index "$W/index/dsah-b16" --codes "$W/runs/dsah-b16/codes/query.npy" --k 5 --out "$tmp/s" \
  && is "$(jq '[.queries[].results | length] | unique' -c "$tmp/s/results.json")" "[5]" "dsah-search on the pipeline's index"
m=$(mark); mk pipeline > "$tmp/o2" 2>&1
is "$(ran "$m")" "" "second run: no stage runs"

m=$(mark); mk pipeline SET="train.gamma=1" > "$tmp/o3" 2>&1
is "$(ran "$m" | tr '\n' ' ')" "index/dsah-b16 runs/dsah-b16/codes/db runs/dsah-b16/codes/query runs/dsah-b16/eval runs/dsah-b16/round1/and runs/dsah-b16/round2/train " "changing gamma reruns AND, round 2, encode, eval and the index"
m=$(mark); mk pipeline SET="train.gamma=1 eval.topk=[100,1000]" > "$tmp/o4" 2>&1
is "$(ran "$m" | tr '\n' ' ')" "baselines/itq-b16/eval baselines/lsh-b16/eval runs/dsah-b16/eval " "changing eval.topk reruns only eval"
mk pipeline > /dev/null 2>&1

# kill -9 during round 2's training, then resume: same codes as uninterrupted
cp -r "$W/runs/dsah-b16" "$tmp/ref"
rm -rf "$W/runs/dsah-b16/round2" "$W/runs/dsah-b16/codes" "$W/runs/dsah-b16/eval"
m0=$(mark)
( exec setsid make -s -C "$repo" --no-print-directory PIPELINE="$tmp/smoke.yaml" WORK="$tmp/work" BIN="$bin" THREADS=1 pipeline > "$tmp/ok" 2>&1 ) &
bg=$!
for i in $(seq 1 200); do ran "$m0" | grep -q round2/train && break; sleep 0.05; done
sleep 0.2
kill -9 -- "-$bg" 2>/dev/null; wait "$bg" 2>/dev/null
mk pipeline > "$tmp/o5" 2>&1; ok $? "pipeline resumes after kill -9"
cmp -s "$W/runs/dsah-b16/codes/db.npy" "$tmp/ref/codes/db.npy" && cmp -s "$W/runs/dsah-b16/codes/query.npy" "$tmp/ref/codes/query.npy"
ok $? "codes equal the uninterrupted run's"

# 2 x 2 sweep with JOBS=2
mk sweep JOBS=2 > "$tmp/o6" 2>&1; ok $? "2x2 sweep with JOBS=2"
is "$(ls "$W/sweep" | wc -l)" "4" "four runs"
is "$(grep -c '^graph/graph$' "$log")" "1" "one W0 build in all"
is "$(($(wc -l < "$W/results.csv") - 1))" "4" "results.csv has four rows"
bad=0
while IFS=, read -r kind label rest; do
  [ "$kind" = kind ] && continue
  exp=$(jq -r '.["mAP@5000"] | tostring' "$W/sweep/$label/eval/metrics.json")
  got=$(awk -F, -v l="$label" 'NR==1 { for (i=1;i<=NF;i++) c[$i]=i } $2==l { print $c["mAP@5000"] }' "$W/results.csv")
  [ "$exp" = "$got" ] || { bad=1; echo "#   $label: csv $got, metrics.json $exp"; }
done < "$W/results.csv"
ok $bad "results.csv mAP@5000 equals each run's metrics.json"
done_testing
