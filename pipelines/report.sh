#!/bin/bash
# report.sh RUNDIR [NAME...]: the paper's experiment section regenerated from
# the artifacts of RUNDIR (planned by dsah-plan, run by make report): Tables
# 1, 3, 4 and Figures 3-11 (NAME: table1 ... fig11; default: report.figures)
# as RUNDIR/report/index.html and report.md, every plot as PNG and SVG
# beside them. Each entry: a caption saying what it shows, the exact
# settings, the command that regenerates it alone, the paper's number or
# shape beside ours (numbers for the paper's datasets, pipelines/paper-dsah.tsv)
# and a one-line verdict computed from our numbers. An entry whose runs are
# missing says so and which command makes them; nothing is invented.
# Values come from the environment (DSAH_PIPELINE, DSAH_SET, ...) as for plan.sh.
set -euo pipefail
d=${1:?run directory}
shift
here=$(cd "$(dirname "$0")" && pwd)
. "$here/jsonget.sh"
bin=${DSAH_BINDIR:-bin}
pargs=(--config "${DSAH_PIPELINE:?}" --work "${DSAH_WORK:-work}" -q)
set -f   # no globbing of SET words
read -r -a sets <<< "${DSAH_SET:-}"
set +f
for s in "${sets[@]}"; do pargs+=(--set "$s"); done
key() { "$bin/dsah-plan" "${pargs[@]}" --print "$1"; }
out=$d/report
mkdir -p "$out"
name=$(key name)
source_=$(key dataset.source)
case $source_ in cifar10|flickr25k|nuswide) paperds=$source_ ;; *) paperds="" ;; esac
RB=$(key report.bits)
R=$(key train.rounds)
figs=("$@")
[ ${#figs[@]} -gt 0 ] || IFS=, read -r -a figs <<< "$(key report.figures)"
# how to rerun one entry: the same DATASET/PIPELINE and SET
if [ "$DSAH_PIPELINE" = "pipelines/$name.yaml" ]; then how="DATASET=$name"; else how="PIPELINE=$DSAH_PIPELINE"; fi
[ -n "${DSAH_SET:-}" ] && how="$how SET=\"$DSAH_SET\""
cmd() { echo "make report-$1 $how"; }

# ---- reading the runs --------------------------------------------------------
idx=$d/index.tsv
# dir KIND LABEL BITS: the run directory of an index.tsv row, or nothing
dir() { awk -F'\t' -v k="$1" -v l="$2" -v b="$3" '$1==k && $2==l && $3==b {print $6; exit}' "$idx"; }
bits=$(awk -F'\t' '$1=="main"{print $3}' "$idx" | sort -un)
methods=$(awk -F'\t' '$1=="main" && !seen[$2]++ {print $2}' "$idx")
# the mAP key: mAP@5000 when evaluated (the paper's), else the first mAP@K
first_metrics=$(for L in $bits; do f=$(dir main DSAH "$L")/eval/metrics.json; [ -f "$f" ] && { echo "$f"; break; }; done || true)
MK=mAP@5000
if [ -n "$first_metrics" ] && [ "$(jget "$first_metrics" mAP@5000)" = NA ]; then
  MK=$(jq -r 'keys_unsorted[] | select(test("^mAP@"))' "$first_metrics" | head -1)
fi
PK=P@100
metric() { [ -n "$1" ] && jget "$1/eval/metrics.json" "$2" || echo NA; }
num() { case $1 in NA|'') echo NaN ;; *) echo "$1" ;; esac; }
paper() { # paper TABLE METHOD BITS
  [ -n "$paperds" ] || { echo ""; return; }
  awk -F'\t' -v t="$1" -v ds="$paperds" -v m="$2" -v b="$3" '$1==t && $2==ds && $3==m && $4==b {print $5; exit}' "$here/paper-dsah.tsv"
}
paper_name() { case $1 in lsh) echo LSH ;; sh) echo SH ;; itq) echo ITQ ;; agh1) echo AGH ;; sp) echo SP ;; sgh) echo SGH ;;
  greedyhash) echo GH ;; ssdh) echo SSDH ;; DSAH) echo DSAH ;; *) echo "" ;; esac; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "NA" && b != "NA" && a + 0 > b + 0) }'; }
plot() { # plot SCRIPT OUTBASE gnuplot-assignments...: PNG and SVG
  local gp=$1 base=$2; shift 2
  for term in png svg; do
    gnuplot -e "$*; term='$term'; outfile='$out/$base.$term.tmp'" "$here/$gp"
    mv "$out/$base.$term.tmp" "$out/$base.$term"
  done
}

# ---- the page, built as Markdown and HTML side by side -------------------------
MD=$out/report.md.tmp.$$ HT=$out/body.html.tmp.$$
trap 'rm -f "$MD" "$HT"' EXIT
: > "$MD"; : > "$HT"
md() { printf '%s\n' "$@" >> "$MD"; }
ht() { printf '%s\n' "$*" >> "$HT"; }
esc() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' <<< "$*"; }
section() { # section ID TITLE
  md "" "## $2" ""
  ht "<section id=\"$1\"><h2>$(esc "$2")</h2>"
}
para() { md "$*" ""; ht "<p>$(esc "$*")</p>"; }
meta() { # meta SETTINGS COMMAND PAPER VERDICT
  md "- Settings: $1" "- Regenerate alone: \`$2\`" "- Paper: $3" "- Here: $4" ""
  ht "<ul class=\"meta\"><li><b>Settings:</b> $(esc "$1")</li><li><b>Regenerate alone:</b> <code>$(esc "$2")</code></li>"
  ht "<li><b>Paper:</b> $(esc "$3")</li><li><b>Here:</b> $(esc "$4")</li></ul></section>"
}
figure() { # figure BASE CAPTION
  md "![$2]($1.png) ([SVG]($1.svg))" ""
  ht "<figure><a href=\"$1.svg\"><img src=\"$1.png\" alt=\"$(esc "$2")\"></a><figcaption>$(esc "$2")</figcaption></figure>"
}
raster() { # raster FILE CAPTION (no SVG: images)
  md "![$2]($1)" ""
  ht "<figure><img src=\"$1\" alt=\"$(esc "$2")\"><figcaption>$(esc "$2")</figcaption></figure>"
}
table_start() { # table_start HEAD...
  local h="" s=""
  for c in "$@"; do h="$h $c |"; s="$s --- |"; done
  md "|$h" "|$s"
  ht "<table><tr>$(for c in "$@"; do printf '<th>%s</th>' "$(esc "$c")"; done)</tr>"
}
# table_row CELL...: numbers with more than 4 decimals are shown with 4
cell4() { case $1 in *.?????*) [[ $1 =~ ^-?[0-9]+\.[0-9]+$ ]] && fmt4 "$1" || echo "$1" ;; *) echo "$1" ;; esac; }
table_row() {
  local c cells=()
  for c in "$@"; do cells+=("$(cell4 "$c")"); done
  md "| $(printf '%s | ' "${cells[@]}" | sed 's/ | $//') |"
  ht "<tr>$(for c in "${cells[@]}"; do printf '<td>%s</td>' "$(esc "$c")"; done)</tr>"
}
table_end() { md ""; ht "</table>"; }
missing() { para "Not available: $1 is missing. Run \`$2\`."; }
settings_common="$(key dataset.source) ($name), features $(key features.extractor), k1 = $(key graph.k1), k2 = $(key graph.k2), network $(key network.arch), R = $R, T = $(key train.epochs), batch $(key train.batch), lr $(key train.lr), tau $(key train.tau), gamma $(key train.gamma), lambda $(key train.lambda), PIC $(key train.pic), seed $(key train.seed)"

# ---- the entries ----------------------------------------------------------------
table13() { # table13 ID KEY TABLE TITLE PAPERCLAIM
  local id=$1 k=$2 t=$3
  section "$id" "$4"
  local head=(method) L
  for L in $bits; do head+=("$L bits"); done
  table_start "${head[@]}"
  local best_dsah=0 n=0
  for L in $bits; do n=$((n+1)); done
  for meth in $methods; do
    local row=("$meth")
    for L in $bits; do
      local v t2 pv cell
      v=$(metric "$(dir main "$meth" "$L")" "$k")
      t2=$(metric "$(dir main "$meth" "$L")" "tie_$k")
      cell=$(fmt4 "$v")
      [ "$t2" != NA ] && cell="$cell (tie-aware $(fmt4 "$t2"))"
      pv=$(paper "$t" "$(paper_name "$meth")" "$L")
      [ -n "$pv" ] && cell="$cell; paper $pv"
      row+=("$cell")
    done
    table_row "${row[@]}"
  done
  table_end
  for L in $bits; do
    local dv best=1
    dv=$(metric "$(dir main DSAH "$L")" "$k")
    for meth in $methods; do [ "$meth" = DSAH ] && continue; gt "$(metric "$(dir main "$meth" "$L")" "$k")" "$dv" && best=0; done
    [ "$dv" != NA ] && [ $best = 1 ] && best_dsah=$((best_dsah+1))
  done
  meta "$settings_common; eval.topk $(key eval.topk), baselines $(key eval.baselines) on $(key eval.baseline_features) features. Tie-aware: the expected value over every order of equally distant items (McSherry & Najork 2008)." \
    "$(cmd "$id")" "$5" "DSAH has the best $k at $best_dsah of $n code lengths among the methods run here."
}
entry_table1() { table13 table1 "$MK" table1 "Table 1: $MK" "DSAH best at every length on CIFAR-10, FLICKR25K and NUS-WIDE (VGG-19 relu7 features)${paperds:+; its numbers for $paperds are beside ours}."; }
entry_table3() { table13 table3 "$PK" table3 "Table 3: $PK" "DSAH best at 16 and 128 bits on all three datasets (0.616 / 0.691 on CIFAR-10)${paperds:+; its numbers for $paperds are beside ours}."; }

# train_seconds RUN FILE...: the "seconds" of every line of RUN's
# round*/train.jsonl and of the FILEs, summed, to 0.1; NA before RUN trained
train_seconds() {
  local run=$1 t; shift
  [ -e "$run/round1/train.jsonl" ] || { echo NA; return; }
  t=$(cat "$@" "$run"/round*/train.jsonl 2>/dev/null | jq -s '[.[] | .seconds] | add' 2>/dev/null)
  awk -v a="$t" 'BEGIN { if (a == "" || a == "null") print "NA"; else printf "%.1f", a }'
}

entry_table4() {
  section table4 "Table 4: training time"
  table_start method "code length" "$MK" "training seconds" "what is timed"
  local L meth
  for L in $bits; do
    for meth in $methods; do
      local dd s what
      dd=$(dir main "$meth" "$L")
      if [ "$meth" = DSAH ]; then
        # graph + every round's epochs + every AND update, as recorded by the stages
        s=$(train_seconds "$dd" "$d/graph/stats.json" "$dd"/round*/and.json)
        what="W0 graph + $R rounds of training + AND (stats.json, train.jsonl, and.json)"
      elif [ "$meth" = ssdh ]; then
        # its epochs and its similarity matrix, which every SSDH length shares
        s=$(train_seconds "$dd" "$d/ssdh/stats.json")
        what="training (ssdh/stats.json + train.jsonl)"
      elif [ -e "$dd/round1/train.jsonl" ]; then
        s=$(train_seconds "$dd")   # another deep baseline (greedyhash): its epochs
        what="training (train.jsonl)"
      else
        s=$(jget "$dd/baseline.json" seconds_fit); [ "$s" != NA ] && s=$(LC_ALL=C printf '%.2f' "$s")
        what="fit (baseline.json seconds_fit)"
      fi
      table_row "$meth" "$L" "$(fmt4 "$(metric "$dd" "$MK")")" "$s" "$what"
    done
  done
  table_end
  meta "$settings_common; this machine: $(nproc --all) cores, $(uname -m), $(test -e /dev/nvidia0 && echo GPU || echo no GPU)." "$(cmd table4)" \
    "CIFAR-10, 64 bits, one GTX 2080 GPU: SSDH 3.0 h, BGAN 5.0 h, MLS3RDUH 4.8 h, DSAH 1.2 h (mAP 0.622)." \
    "seconds of the stages on this machine (a shared machine times more slowly than an idle one)."
}

entry_fig3() {
  section fig3 "Figure 3: precision-recall and precision@N curves"
  local L kind shown=0
  for L in $bits; do
    for kind in pr pn; do
      local files="" titles="" meth dd
      for meth in $methods; do
        dd=$(dir main "$meth" "$L")
        [ -n "$dd" ] && [ -f "$dd/eval/$kind.csv" ] || continue
        files="$files $dd/eval/$kind.csv" titles="$titles $meth"
      done
      [ -n "$files" ] || continue
      plot curves.gp "fig3-$kind-b$L" "files='${files# }'; titles='${titles# }'; kind='$kind'; bits='$L'"
      figure "fig3-$kind-b$L" "$( [ $kind = pr ] && echo "Precision against recall over Hamming radii 0..$L" || echo "Precision of the top N") at $L bits: ${titles# }"
      shown=1
    done
  done
  [ $shown = 1 ] || missing "eval/pr.csv of the main runs" "$(cmd fig3)"
  meta "$settings_common" "$(cmd fig3)" "DSAH's PR curve covers the most area and its precision@N is highest in most cases (64 and 128 bits)." \
    "see the curves (DSAH against $(echo $methods | tr ' ' '\n' | grep -vx DSAH | paste -sd,))."
}

ablation() { # ablation ID TITLE "LABEL=KIND:LABEL ..." PAPER
  local id=$1 title=$2 series=$3 paperclaim=$4
  section "$id" "$title"
  local dat=$out/$id.dat L s hdr="bits"
  for s in $series; do hdr="$hdr ${s%%=*}"; done
  echo "$hdr" > "$dat"
  local n=0 wins=0 first last
  first=${series%% *}; last=${series##* }
  for L in $bits; do
    local line="$L" v
    for s in $series; do
      local spec=${s#*=}
      v=$(metric "$(dir "${spec%%:*}" "${spec#*:}" "$L")" "$MK")
      line="$line $(num "$v")"
    done
    echo "$line" >> "$dat"
    local vfirst vlast
    vfirst=$(metric "$(dir "$(echo "${first#*=}" | cut -d: -f1)" "$(echo "${first#*=}" | cut -d: -f2)" "$L")" "$MK")
    vlast=$(metric "$(dir "$(echo "${last#*=}" | cut -d: -f1)" "$(echo "${last#*=}" | cut -d: -f2)" "$L")" "$MK")
    # only the lengths where both runs have finished count
    [ "$vfirst" != NA ] && [ "$vlast" != NA ] || continue
    n=$((n+1))
    gt "$vlast" "$vfirst" && wins=$((wins+1))
  done
  local ns; ns=$(echo $series | wc -w)
  plot lines.gp "$id" "datafile='$dat'; title='$MK per code length'; xlabel='bits'; ylabel='$MK'; nseries=$ns; categorical=1"
  figure "$id" "$title: $MK of $(for s in $series; do printf '%s, ' "${s%%=*}"; done | sed 's/, $//') at each code length"
  table_start bits $(for s in $series; do echo "${s%%=*}"; done)
  tail -n +2 "$dat" | while read -r -a f; do table_row "${f[@]}"; done
  table_end
  meta "$settings_common; ${series//=/ = }" "$(cmd "$id")" "$paperclaim" "${last%%=*} above ${first%%=*} at $wins of the $n code lengths where both have run."
}
entry_fig4() { ablation fig4 "Figure 4: effect of PIC" "PIC0=table:DSAH-PIC0 PIC-=report:PIC- PIC=main:DSAH" \
  "PIC above PIC0 at every length (average +8.2%, +1.2%, +2.1% mAP on CIFAR-10, FLICKR25K, NUS-WIDE); PIC- below both."; }
entry_fig6() { ablation fig6 "Figure 6: effect of AND" "AND0=report:AND0 AND=table:DSAH-PIC0 AND+PIC=main:DSAH" \
  "AND improves AND0 (average +1.7%, +1.8%, +1.0%); AND+PIC improves it most (+8.9%, +3.4%, +3.8%)."; }

entry_fig5() {
  section fig5 "Figure 5: s_ij and PIC weights a_ij in one batch"
  local p=$d/report/pairs-b$RB
  if [ ! -f "$p/pairs.json" ]; then missing "$p/pairs.json" "$(cmd fig5)"; meta "" "$(cmd fig5)" "" "not run"; return; fi
  plot matrix.gp fig5-s "datafile='$p/s.dat'; title='s_ij, batch of $(jget "$p/pairs.json" batch), $RB bits'; cblabel='s_ij'"
  plot matrix.gp fig5-a "datafile='$p/a.dat'; title='a_ij (PIC, tau $(jget "$p/pairs.json" tau))'; cblabel='a_ij'"
  figure fig5-s "(a) pairwise similarity s_ij of a random training batch, items ordered by class, final DSAH model at $RB bits"
  figure fig5-a "(b) the PIC weights a_ij of the same batch, by the loss's own code (nn/loss.h)"
  local j=$p/pairs.json
  table_start pairs "mean s_ij" "mean a_ij" count
  for w in diagonal same_class different_class; do
    table_row "$w" "$(fmt4 "$(jget "$j" "mean_s_$w")")" "$(fmt4 "$(jget "$j" "mean_a_$w")")" "$(jget "$j" "pairs_$w")"
  done
  table_end
  local verdict="the diagonal's mean a_ij $(fmt4 "$(jget "$j" mean_a_diagonal)") is $(gt "$(jget "$j" mean_a_same_class)" "$(jget "$j" mean_a_diagonal)" && echo below || echo "not below") the same-class pairs' and different-class pairs get $(gt "$(jget "$j" mean_a_different_class)" "$(jget "$j" mean_a_same_class)" && echo higher || echo "not higher") weights than same-class pairs."
  meta "$settings_common; batch $(jget "$j" batch) drawn with seed $(key train.seed); codes z of runs/dsah-b$RB/round$R (dsah-encode --real)" "$(cmd fig5)" \
    "pairs with higher similarity, especially the diagonal, get lower weights; dissimilar pairs higher ones." "$verdict"
}

entry_fig7() {
  section fig7 "Figure 7: the mechanism of AND over rounds"
  local g0 rd
  g0=$(key train.gamma)
  rd=$(awk -F'\t' '$1=="report" && $2=="rounds*" {print $6; exit}' "$idx")
  if [ -z "$rd" ] || [ ! -d "$rd" ]; then missing "the per-round run" "$(cmd fig7)"; meta "" "$(cmd fig7)" "" "not run"; return; fi
  local Rr dat=$out/fig7.dat r
  Rr=$(ls -d "$rd"/round* 2>/dev/null | wc -l)
  echo "round n+ m $MK F_w" > "$dat"
  echo "0 $(num "$(jget "$d/graph/stats.json" n_plus_w0)") NaN NaN $(num "$(jget "$d/graph/stats.json" f_w_w0)")" >> "$dat"
  for r in $(seq 1 "$Rr"); do
    local a=$rd/round$r/and.json ev=$rd/round$r
    [ "$r" = "$Rr" ] && ev=$rd
    echo "$r $(num "$(jget "$a" n_plus_after)") $(num "$(jget "$a" m)") $(num "$(metric "$ev" "$MK")") $(num "$(jget "$a" f_w)")" >> "$dat"
  done
  local c=2 what names=(nplus m map fw)
  for what in n+ m "$MK" F_w; do
    local f=fig7-${names[$((c-2))]}
    awk -v c=$c '{print $1, $c}' "$dat" > "$out/$f.dat"
    plot lines.gp "$f" "datafile='$out/$f.dat'; title='$what per round (gamma $g0, $RB bits)'; xlabel='round'; ylabel='$what'"
    figure "$f" "$what after each round r (round 0: W0); n+, m and F_w from round<r>/and.json, $MK of round r's model"
    c=$((c+1))
  done
  table_start round n+ m "$MK" F_w
  tail -n +2 "$dat" | while read -r -a f; do table_row "${f[@]}"; done
  table_end
  local mono fw
  mono=$(awk 'NR>1 && $2 != "NaN" { if (p != "" && $2 + 0 < p + 0) bad = 1; p = $2 } END { print bad ? "not monotone" : "non-decreasing" }' "$dat")
  fw=$(awk 'NR==2 {a=$5} NR>2 && $5 != "NaN" {b=$5} END { if (b == "" || a == "NaN") print "n/a"; else printf "%s (%.4f to %.4f)", (b > a ? "rises" : "does not rise"), a, b }' "$dat")
  meta "$settings_common; gamma $g0, R = $Rr, $RB bits; every round's model encoded and evaluated" "$(cmd fig7)" \
    "n+ grows each round and converges, driven by a rising threshold m; F_w climbs, most in the first update (CIFAR-10, R = 10)." \
    "n+ is $mono over the rounds; F_w $fw."
}

entry_fig8() {
  section fig8 "Figure 8: lambda and tau at $RB bits"
  local which
  for which in lambda tau; do
    local dat=$out/fig8-$which.dat
    echo "$which $MK" > "$dat"
    awk -F'\t' -v w="$which" '$1=="report" && index($2, w "=") == 1 {print substr($2, length(w) + 2) "\t" $6}' "$idx" |
      while IFS=$'\t' read -r v dd; do echo "$v $(num "$(metric "$dd" "$MK")")"; done >> "$dat"
    plot lines.gp "fig8-$which" "datafile='$dat'; title='$MK against $which, $RB bits'; xlabel='$which'; ylabel='$MK'; categorical=1"
    figure "fig8-$which" "($([ $which = lambda ] && echo a || echo b)) $MK of DSAH at $RB bits for each $which (the other settings fixed)"
    table_start "$which" "$MK"
    tail -n +2 "$dat" | while read -r -a f; do table_row "${f[@]}"; done
    table_end
  done
  local bl bt
  bl=$(tail -n +2 "$out/fig8-lambda.dat" | sort -k2 -g | tail -1 | cut -d' ' -f1)
  bt=$(tail -n +2 "$out/fig8-tau.dat" | sort -k2 -g | tail -1 | cut -d' ' -f1)
  meta "$settings_common; lambda in {$(key report.lambda)}, tau in {$(key report.tau)}" "$(cmd fig8)" \
    "best lambda 10 (degrades above); tau 0.01 and 0.1 clearly worse, tau >= 1 stable, best 1." "best lambda here $bl, best tau $bt."
}

entry_fig9() {
  section fig9 "Figure 9: gamma and R of AND at $RB bits"
  local dat=$out/fig9.dat gs="" rows
  rows=$(awk -F'\t' '$1=="report" && $2 ~ /^rounds/ {print $4 "\t" $6}' "$idx" | sort -g)
  if [ -z "$rows" ]; then missing "the per-round runs" "$(cmd fig9)"; meta "" "$(cmd fig9)" "" "not run"; return; fi
  local Rr; Rr=$(key report.rounds)
  { printf 'R'; while IFS=$'\t' read -r g dd; do printf ' gamma=%s' "$g"; done <<< "$rows"; printf '\n'
    for r in $(seq 1 "$Rr"); do
      printf '%s' "$r"
      while IFS=$'\t' read -r g dd; do
        local ev=$dd/round$r; [ "$r" = "$Rr" ] && ev=$dd
        printf ' %s' "$(num "$(metric "$ev" "$MK")")"
      done <<< "$rows"
      printf '\n'
    done; } > "$dat"
  local ns; ns=$(echo "$rows" | wc -l)
  plot lines.gp fig9 "datafile='$dat'; title='$MK against R for each gamma, $RB bits'; xlabel='R (rounds)'; ylabel='$MK'; nseries=$ns"
  figure fig9 "$MK of the model after round R (1..$Rr) for each gamma of AND (m = mu + gamma sigma), $RB bits"
  table_start $(head -1 "$dat")
  tail -n +2 "$dat" | while read -r -a f; do table_row "${f[@]}"; done
  table_end
  # the best gamma at the last R where any run has a value (NaN: not run yet)
  local last bestg
  last=$(awk 'NR > 1 { for (i = 2; i <= NF; i++) if ($i != "NaN") { r = NR; break } } END { print r + 0 }' "$dat")
  bestg=$(awk -v r="$last" 'NR == r { b = 0; for (i = 2; i <= NF; i++) if ($i != "NaN" && (!b || $i + 0 > $b + 0)) b = i; print b }' "$dat")
  meta "$settings_common; gamma in {$(key report.gamma)}, R = 1..$Rr, $RB bits" "$(cmd fig9)" \
    "mAP rises with R and converges around R = 3 on CIFAR-10; gamma >= 0 a good choice; on FLICKR25K gamma < -0.5 jumps at R = 2, then degrades." \
    "$([ "$last" -gt 1 ] && echo "at R = $(sed -n "${last}p" "$dat" | cut -d' ' -f1) (the last R run) the best is $(head -1 "$dat" | cut -d' ' -f"$bestg")" || echo "no round evaluated yet")."
}

entry_fig10() {
  section fig10 "Figure 10: t-SNE of the $RB-bit codes"
  local shown=0 t verdict=""
  for t in "$d"/report/tsne-*-b"$RB"; do
    [ -f "$t/tsne.json" ] || continue
    local meth; meth=$(basename "$t" | sed "s/^tsne-//; s/-b$RB\$//")
    plot scatter.gp "fig10-$meth" "datafile='$t/tsne.tsv'; title='$meth, $RB bits: $(jget "$t/tsne.json" n) database codes'"
    figure "fig10-$meth" "t-SNE (exact, perplexity $(jget "$t/tsne.json" perplexity), seed $(key train.seed)) of $(jget "$t/tsne.json" n) database codes of $meth, coloured by class; trustworthiness(10) $(fmt4 "$(jget "$t/tsne.json" trustworthiness_10)"), KL $(fmt4 "$(jget "$t/tsne.json" kl)")"
    verdict="$verdict $meth T(10) $(fmt4 "$(jget "$t/tsne.json" trustworthiness_10)");"
    shown=1
  done
  [ $shown = 1 ] || missing "report/tsne-*-b$RB" "$(cmd fig10)"
  meta "$settings_common; $(key report.tsne_points) database codes drawn with seed $(key train.seed), +-1 vectors (squared distance = 4 x Hamming)" "$(cmd fig10)" \
    "DSAH's codes form clearer class clusters than BGAN's and MLS3RDUH's (CIFAR-10, 64 bits)." "trustworthiness of the embeddings:${verdict:- none}"
}

entry_fig11() {
  section fig11 "Figure 11: top-10 retrievals at $RB bits"
  local shown=0 m verdict=""
  for m in "$d"/report/montage-*-b"$RB"; do
    [ -f "$m/montage.json" ] || continue
    local meth; meth=$(basename "$m" | sed "s/^montage-//; s/-b$RB\$//")
    cp "$m/montage.png" "$out/fig11-$meth.png.tmp" && mv "$out/fig11-$meth.png.tmp" "$out/fig11-$meth.png"
    raster "fig11-$meth.png" "$meth: $(jget "$m/montage.json" examples) queries (first column, grey frame) and their top $(jget "$m/montage.json" k) by Hamming distance (dsah-search); green frame = same class (the paper's check mark), red = another class (the cross)"
    verdict="$verdict $meth $(jget "$m/montage.json" relevant) of $(jget "$m/montage.json" shown) relevant;"
    shown=1
  done
  [ $shown = 1 ] || missing "report/montage-*-b$RB" "$(cmd fig11)"
  meta "$settings_common; $(key report.examples) queries drawn with seed $(key train.seed) (the same for every method), index/<method>-b$RB" "$(cmd fig11)" \
    "DSAH returns fewer wrong images than MLS3RDUH (CIFAR-10, 64 bits)." "shown:${verdict:- none}"
}

# each entry's fragments (Markdown and HTML) are kept in report/fragments/, so
# that one entry alone (make report-fig7) updates its part of the page
frag=$out/fragments
mkdir -p "$frag"
for f in "${figs[@]}"; do
  case $f in table1|table3|table4|fig3|fig4|fig5|fig6|fig7|fig8|fig9|fig10|fig11) ;;
    *) echo "report: error: unknown table or figure '$f' (table1 table3 table4 fig3 ... fig11)" >&2; exit 2 ;; esac
  : > "$MD"; : > "$HT"
  "entry_$f"
  cp "$MD" "$frag/$f.md.tmp" && mv "$frag/$f.md.tmp" "$frag/$f.md"
  cp "$HT" "$frag/$f.html.tmp" && mv "$frag/$f.html.tmp" "$frag/$f.html"
  echo "report: $f" >&2
done

# ---- index.html and report.md ----------------------------------------------------
all=(table1 table3 table4 fig3 fig4 fig5 fig6 fig7 fig8 fig9 fig10 fig11)
stamp="$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc --all) cores"
{
  echo "# DSAH report: $name"
  echo
  echo "The experiments of Lin et al., Deep Self-Adaptive Hashing (CIKM 2021), Tables 1, 3, 4 and Figures 3-11, regenerated from the artifacts of \`$d\` ($stamp). Regenerate everything: \`make report $how\`."
  echo
  for f in "${all[@]}"; do [ -f "$frag/$f.md" ] && cat "$frag/$f.md"; done
} > "$out/report.md.tmp"
{
  cat <<EOF
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>DSAH report: $(esc "$name")</title>
<style>
body { font: 15px/1.45 sans-serif; max-width: 1100px; margin: 1em auto; padding: 0 1em; color: #222 }
table { border-collapse: collapse; margin: .5em 0 } th, td { border: 1px solid #bbb; padding: 3px 8px; text-align: right }
th:first-child, td:first-child { text-align: left } figure { margin: 1em 0 } img { max-width: 100%; border: 1px solid #ddd }
figcaption { font-size: 13px; color: #444 } ul.meta { font-size: 13px; color: #333 } code { background: #f3f3f3; padding: 1px 4px }
nav a { margin-right: .6em }
</style></head><body>
<h1>DSAH report: $(esc "$name")</h1>
<p>The experiments of Lin et al., <i>Deep Self-Adaptive Hashing</i> (CIKM 2021): Tables 1, 3, 4 and Figures 3-11, regenerated from the artifacts of <code>$(esc "$d")</code> ($(esc "$stamp")). Regenerate everything: <code>$(esc "make report $how")</code>. Also as <a href="report.md">report.md</a>.</p>
<nav>$(for f in "${all[@]}"; do [ -f "$frag/$f.html" ] && printf '<a href="#%s">%s</a>' "$f" "$f"; done)</nav>
EOF
  for f in "${all[@]}"; do [ -f "$frag/$f.html" ] && cat "$frag/$f.html"; done
  echo "</body></html>"
} > "$out/index.html.tmp"
mv "$out/report.md.tmp" "$out/report.md"
mv "$out/index.html.tmp" "$out/index.html"
echo "report: $out/index.html, $out/report.md" >&2
