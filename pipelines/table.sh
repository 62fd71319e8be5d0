#!/bin/bash
# table.sh RUNDIR: the Table-1-style table (the baselines of eval.baselines,
# DSAH, DSAH-PIC0, DSAH-noAND x code lengths; mAP@5000 and P@100) as
# RUNDIR/table.md and table.csv, printed; the fit time of each (seconds) as
# RUNDIR/table-fit.md; and the PR and P@N curves of every method per code
# length (the paper's Figure 3): RUNDIR/pr-b<L>.{png,svg}, pn-b<L>.{png,svg}.
set -euo pipefail
d=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/jsonget.sh"
"$here/collect.sh" "$d" main,table "$d/table.csv"
bits=$(awk -F'\t' 'NR>1 && ($1=="main"||$1=="table"){print $3}' "$d/index.tsv" | sort -un)
methods=$(awk -F'\t' 'NR>1 && ($1=="main"||$1=="table") && !seen[$2]++ {print $2}' "$d/index.tsv")
{
  printf '| method |'; for L in $bits; do printf ' mAP@5000 %s bits | P@100 %s bits |' "$L" "$L"; done; printf '\n'
  printf '| --- |'; for L in $bits; do printf ' --- | --- |'; done; printf '\n'
  for meth in $methods; do
    printf '| %s |' "$meth"
    for L in $bits; do
      dir=$(awk -F'\t' -v m="$meth" -v L="$L" '($1=="main"||$1=="table") && $2==m && $3==L {print $6}' "$d/index.tsv")
      printf ' %s | %s |' "$(fmt4 "$(jget "$dir/eval/metrics.json" mAP@5000)")" "$(fmt4 "$(jget "$dir/eval/metrics.json" P@100)")"
    done
    printf '\n'
  done
} > "$d/table.md.tmp.$$"
mv "$d/table.md.tmp.$$" "$d/table.md"
cat "$d/table.md"
# fit time per method and length (the paper's Table 4 lists training times):
# a baseline's baseline.json seconds_fit; a DSAH run's epoch seconds summed
# over its rounds' train.jsonl. Then the CPU seconds of the same fits
# (baseline.json cpu_seconds_fit, all threads; NA for DSAH runs and for
# baselines fitted before the field existed), which a busy machine inflates
# far less than the wall seconds.
fit_seconds() {
  if [ -f "$1/baseline.json" ]; then
    local v; v=$(jget "$1/baseline.json" "${2:-seconds_fit}")
    case $v in ''|NA|*[!0-9.e+-]*) echo NA ;; *) echo "$v" ;; esac
  elif [ -n "${2:-}" ]; then
    echo NA
  else
    local f=("$1"/round*/train.jsonl)
    if [ -f "${f[0]}" ]; then cat "${f[@]}" | jq -rs 'if length > 0 and all(.[]; .seconds | type == "number") then map(.seconds) | add else "NA" end' 2>/dev/null || echo NA
    else echo NA; fi
  fi
}
fit_table() { # $1: column label, $2: baseline.json key (empty: wall seconds)
  printf '| method |'; for L in $bits; do printf ' %s %s bits |' "$1" "$L"; done; printf '\n'
  printf '| --- |'; for L in $bits; do printf ' --- |'; done; printf '\n'
  for meth in $methods; do
    printf '| %s |' "$meth"
    for L in $bits; do
      dir=$(awk -F'\t' -v m="$meth" -v L="$L" '($1=="main"||$1=="table") && $2==m && $3==L {print $6}' "$d/index.tsv")
      v=$(fit_seconds "$dir" "$2")
      case $v in NA|'') printf ' NA |' ;; *) LC_ALL=C printf ' %.2f |' "$v" ;; esac
    done
    printf '\n'
  done
}
{
  fit_table "fit s" ""
  printf '\n'
  fit_table "fit CPU s" cpu_seconds_fit
} > "$d/table-fit.md.tmp.$$"
mv "$d/table-fit.md.tmp.$$" "$d/table-fit.md"
cat "$d/table-fit.md"
for L in $bits; do
  for kind in pr pn; do
    files="" titles=""
    for meth in $methods; do
      dir=$(awk -F'\t' -v m="$meth" -v L="$L" '($1=="main"||$1=="table") && $2==m && $3==L {print $6}' "$d/index.tsv")
      [ -f "$dir/eval/$kind.csv" ] || continue
      files="$files $dir/eval/$kind.csv" titles="$titles $meth"
    done
    [ -n "$files" ] || continue
    for term in png svg; do
      gnuplot -e "files='${files# }'; titles='${titles# }'; kind='$kind'; bits='$L'; term='$term'; outfile='$d/$kind-b$L.$term.tmp'" "$here/curves.gp"
      mv "$d/$kind-b$L.$term.tmp" "$d/$kind-b$L.$term"
    done
    echo "table: $d/$kind-b$L.png, $d/$kind-b$L.svg" >&2
  done
done
