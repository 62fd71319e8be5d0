#!/bin/bash
# t_report.t: make report on the smoke pipeline (16 bits, the report: section
# of pipelines/smoke.yaml), as a user runs it.
#  - every table and figure is on the page, every plot as PNG and SVG;
#  - the runs are shared: one ingest, one W0, the main run reused by Tables
#    1/3/4 and Figures 4, 6, 8 (tau and lambda at train.*), no rule run twice;
#  - numbers on the page are those of the stages' files (metrics.json,
#    and.json, tsne.json, montage.json);
#  - a second make report runs no stage; make report-fig7 runs none either
#    and keeps every other entry on the page; a make report killed with
#    kill -9 in the middle resumes and finishes;
#  - the page in headless Chromium (tests/browser/report.mjs): loads from
#    file://, every image decodes, every SVG loads, no console error, no
#    request leaves the machine; the screenshot is copied to
#    build/report-page.png.
set -u
. "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${DSAH_BIN:-$repo/bin}
build=${DSAH_BUILD:-$repo/build}
for s in plan ingest features graph train encode and eval baseline index search tsne pairs montage; do
  if [ ! -x "$bin/dsah-$s" ]; then skip_all "$bin/dsah-$s is not built yet"; fi
done
[ -x "$build/tests/gen_smoke" ] || { skip_all "$build/tests/gen_smoke is not built"; }
tmp=$(mktemp -d)
bg=""
trap '[ -n "$bg" ] && pkill -KILL -s "$bg" 2>/dev/null; rm -rf "$tmp"' EXIT
unset MAKEFLAGS MFLAGS MAKELEVEL

smoke_fixture "$tmp" "$build" "$repo"
# the deep baselines too, so that Table 4 times their training and SSDH's
# runs go through the report's parallel units
sed -i 's/^  precision_at: \[10, 100\]$/&\n  baselines: [lsh, itq, greedyhash, ssdh]/' "$tmp/smoke.yaml"
grep -q '^  baselines: \[lsh, itq, greedyhash, ssdh\]$' "$tmp/smoke.yaml" || { echo "Bail out! could not add the deep baselines to $tmp/smoke.yaml"; exit 1; }
mk() { make -s -C "$repo" --no-print-directory PIPELINE="$tmp/smoke.yaml" WORK="$tmp/work" BIN="$bin" JOBS=2 "$@"; }
all=table1,table3,table4,fig3,fig4,fig5,fig6,fig7,fig8,fig9,fig10,fig11

# kill -9 once the report's own runs have started, then resume
( exec setsid make -s -C "$repo" --no-print-directory PIPELINE="$tmp/smoke.yaml" WORK="$tmp/work" BIN="$bin" JOBS=2 report > "$tmp/o0" 2>&1 ) &
bg=$!
for i in $(seq 1 600); do grep -q '^report/' "$log" 2>/dev/null && break; sleep 0.1; done
# every process of the session at once (GNU parallel runs its jobs in
# process groups of their own, so killing one group would leave them running)
{ pkill -KILL -s "$bg"; wait "$bg"; } 2>/dev/null; bg=""   # (bash's "Killed" notice too)
grep -q '^report/' "$log"; ok $? "make report killed with kill -9 while the report's runs were going"
mk report > "$tmp/o1" 2>&1; rc=$?
ok $rc "make report resumes and finishes"
[ $rc = 0 ] || grep -v 'dsah-plan: default' "$tmp/o1" | tail -20 | sed 's/^/#   /'
R=$W/report
test -s "$R/index.html" && test -s "$R/report.md"; ok $? "index.html and report.md written"
is "$(grep -o '<section id="[a-z0-9]*"' "$R/index.html" | sed 's/.*id="//; s/"//' | paste -sd, -)" "$all" "every table and figure on the page, in the paper's order"
missing=""
for f in $(grep -o 'src="[^"]*"' "$R/index.html" | sed 's/src="//; s/"//') $(grep -o 'href="[^"]*\.svg"' "$R/index.html" | sed 's/href="//; s/"//'); do
  [ -s "$R/$f" ] || missing="$missing $f"
done
is "$missing" "" "every image the page names is beside it"
is "$(grep -c '\.svg' "$R/report.md")" "$(grep -c 'href="[^"]*\.svg"' "$R/index.html")" "report.md links the same SVG plots as index.html"



is "$(grep -c '^data/ingest$' "$log") $(grep -c '^graph/graph$' "$log")" "1 1" "one ingest and one W0 for the whole report"
dups=$(sort "$log" | uniq -c | awk '$1 > 1' | wc -l)
[ "$dups" -le 2 ]; ok $? "no rule run twice but those the kill stopped (at most JOBS = 2: $dups)"
! grep -q '^report/tau1-b16/' "$log" && [ "$(awk -F'\t' '$2=="tau=1"{print $6}' "$W/index.tsv")" = "$W/runs/dsah-b16" ]
ok $? "tau = train.tau in Figure 8 is the main run, not a new one"

# the page's numbers are the stages' numbers
. "$repo/pipelines/jsonget.sh"
v=$(fmt4 "$(jget "$W/runs/dsah-b16/eval/metrics.json" mAP@5000)") t=$(fmt4 "$(jget "$W/runs/dsah-b16/eval/metrics.json" tie_mAP@5000)")
grep -q "| DSAH | $v (tie-aware $t) |" "$R/report.md"; ok $? "Table 1: DSAH's mAP@5000 $v and tie-aware $t from metrics.json"
# Table 4: a deep baseline's seconds are its epochs' (train.jsonl), SSDH's
# with its similarity matrix's (ssdh/stats.json), summed here by Python
t4=$(/usr/bin/python3 - "$W" <<'PY'
import json, sys, glob
W = sys.argv[1]
def secs(files):
    t = 0.0
    for f in files:
        for line in open(f):
            if line.strip(): t += json.loads(line)["seconds"]
    return t
gh = secs(sorted(glob.glob(f"{W}/runs/greedyhash-b16/round*/train.jsonl")))
ss = secs(sorted(glob.glob(f"{W}/runs/ssdh-b16/round*/train.jsonl"))) + json.load(open(f"{W}/ssdh/stats.json"))["seconds"]
print(f"{gh:.1f} {ss:.1f}")
PY
)
grep -q "^| greedyhash | 16 | [0-9.]* | ${t4% *} | training (train.jsonl) |$" "$R/report.md" \
  && grep -q "^| ssdh | 16 | [0-9.]* | ${t4#* } | training (ssdh/stats.json + train.jsonl) |$" "$R/report.md"
ok $? "Table 4: GreedyHash's and SSDH's training seconds ($t4) from their train.jsonl and ssdh/stats.json"
v=$(fmt4 "$(jget "$W/runs/picminus-b16/eval/metrics.json" mAP@5000)")
grep -q "| 16 | $(fmt4 "$(jget "$W/runs/pic0-b16/eval/metrics.json" mAP@5000)") | $v |" "$R/report.md"; ok $? "Figure 4: PIC0 and PIC- from their runs' metrics.json"
g=$(awk -F'\t' '$2=="rounds*"{print $6}' "$W/index.tsv")
grep -q "| 1 | $(jget "$g/round1/and.json" n_plus_after) | $(fmt4 "$(jget "$g/round1/and.json" m)") | $(fmt4 "$(jget "$g/round1/eval/metrics.json" mAP@5000)") |" "$R/report.md"
ok $? "Figure 7: round 1's n+, m (and.json) and mAP (its own eval)"
grep -q "trustworthiness(10) $(fmt4 "$(jget "$W/report/tsne-dsah-b16/tsne.json" trustworthiness_10)")" "$R/report.md"; ok $? "Figure 10: trustworthiness from tsne.json"
grep -q "dsah $(jget "$W/report/montage-dsah-b16/montage.json" relevant) of $(jget "$W/report/montage-dsah-b16/montage.json" shown) relevant" "$R/report.md"
ok $? "Figure 11: relevant results from montage.json"
# Figure 5 and 11 by NumPy from the files they read: s = cosine of the
# batch's codes, a = -log softmax(s / tau) over all B^2 pairs; the montage's
# rows are dsah-search's top 10 of those queries, relevant = same label
/usr/bin/python3 - "$W" > "$tmp/np.out" 2>&1 <<'PY'
import sys, numpy as np
W = sys.argv[1]; P = f"{W}/report/pairs-b16"
z = np.load(f"{P}/train_real.npy").astype(np.float64)[np.load(f"{P}/batch.npy")]
u = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-6); s = u @ u.T
a = -(s / 1.0 - np.log(np.exp(s / 1.0).sum()))
ok5 = np.allclose(np.load(f"{P}/s.npy"), s, atol=1e-5) and np.allclose(np.load(f"{P}/a.npy"), a, atol=1e-4)
ids = np.load(f"{W}/report/search-dsah-b16/ids.npy"); lims = np.load(f"{W}/report/search-dsah-b16/lims.npy")
qimg = np.load(f"{W}/data/query.npy"); L = np.load(f"{W}/data/labels.npy")
rows = np.genfromtxt(f"{W}/report/montage-dsah-b16/montage.tsv", skip_header=1, dtype=np.int64)
ok11 = len(rows) > 0
for r in np.unique(rows[:, 0]):
    m = rows[rows[:, 0] == r]; q = int(np.nonzero(qimg == m[0, 1])[0][0])
    ok11 &= np.array_equal(m[:, 3], ids[lims[q]:lims[q + 1]])
    ok11 &= np.array_equal(m[:, 4], (L[m[:, 3]] & L[m[0, 1]]).any(1).astype(np.int64))
print(int(not ok5), int(not ok11))
PY
read -r r5 r11 < <(tail -1 "$tmp/np.out")
ok "${r5:-1}" "Figure 5: s.npy and a.npy = NumPy's cosine and -log softmax(s/tau) of the batch's codes"
ok "${r11:-1}" "Figure 11: montage rows = dsah-search's top 10 of each shown query, relevant = shares a label"

# reruns
m=$(mark); mk report > "$tmp/o2" 2>&1
is "$(ran "$m")" "" "second make report: no stage runs"
m=$(mark); mk report-fig7 > "$tmp/o3" 2>&1; ok $? "make report-fig7"
is "$(ran "$m")" "" "make report-fig7 on a finished report runs no stage"
is "$(grep -o '<section id="[a-z0-9]*"' "$R/index.html" | wc -l)" "12" "the page keeps every entry after make report-fig7"
m=$(mark); mk report-fig8 SET="report.tau=[0.5,1,2]" > "$tmp/o4" 2>&1
is "$(ran "$m" | grep -c '^report/tau2-b16/')" "$(ran "$m" | wc -l)" "report.tau gains 2: only that run is made ($(ran "$m" | wc -l) rules)"
grep -q '| 2 | ' "$W/report/fragments/fig8.md"; ok $? "Figure 8 shows tau = 2"

# the page in headless Chromium
if [ -d "$repo/tests/browser/node_modules/playwright-core" ] && [ -x /usr/bin/chromium ]; then
  ( cd "$repo/tests/browser" && timeout 180 node report.mjs "file://$R/index.html" "$tmp/page.png" "$all" ) > "$tmp/browser.out" 2>&1
  rc=$?
  while read -r line; do
    case $line in "ok "*) ok 0 "browser: ${line#ok * - }" ;; "not ok "*) ok 1 "browser: ${line#not ok * - }" ;; esac
  done < "$tmp/browser.out"
  [ $rc = 0 ] && [ -s "$tmp/page.png" ]; ok $? "browser run exits 0; screenshot copied to build/report-page.png"
  [ $rc = 0 ] || sed 's/^/# /' "$tmp/browser.out" | tail -20
  mkdir -p "$build" && cp "$tmp/page.png" "$build/report-page.png" 2>/dev/null
  echo "# screenshot: $build/report-page.png"
else
  ok 1 "browser test: tests/browser/node_modules/playwright-core or /usr/bin/chromium missing (run common/deps.sh test)"
fi
done_testing
