#!/bin/bash
# heatmap.sh RUNDIR METRIC: from RUNDIR/results.csv, one gamma (x) by tau (y)
# heatmap of METRIC per code length: RUNDIR/heatmap-b<L>.png and .svg
# (the paper's Figures 8 and 9). Needs at least two gamma or two tau values.
set -euo pipefail
d=$1 metric=$2
here=$(cd "$(dirname "$0")" && pwd)
csv=$d/results.csv
col=$(head -1 "$csv" | tr ',' '\n' | grep -nxF "$metric" | cut -d: -f1 || true)
if [ -z "$col" ]; then
  echo "heatmap: $metric is not in $csv (add its K to eval.topk); no heatmap" >&2
  exit 0
fi
for L in $(awk -F, 'NR>1{print $3}' "$csv" | sort -un); do
  m=$d/heatmap-b$L.dat
  # matrix: first row the gamma values, first column the tau values
  awk -F, -v L="$L" -v c="$col" 'NR>1 && $3==L { g[$4]=1; t[$5]=1; v[$4 SUBSEP $5]=$c }
    END { ng=0; for (x in g) gs[++ng]=x; nt=0; for (y in t) ts[++nt]=y
          # numeric sort (small grids: insertion sort)
          for (i=2;i<=ng;i++) for (j=i;j>1 && gs[j]+0<gs[j-1]+0;j--) { s=gs[j]; gs[j]=gs[j-1]; gs[j-1]=s }
          for (i=2;i<=nt;i++) for (j=i;j>1 && ts[j]+0<ts[j-1]+0;j--) { s=ts[j]; ts[j]=ts[j-1]; ts[j-1]=s }
          printf "tau\\gamma"; for (i=1;i<=ng;i++) printf " %s", gs[i]; printf "\n"
          for (k=1;k<=nt;k++) { printf "%s", ts[k]; for (i=1;i<=ng;i++) { x=v[gs[i] SUBSEP ts[k]]; printf " %s", (x==""||x=="NA")?"NaN":x } printf "\n" } }' "$csv" > "$m"
  for term in png svg; do
    gnuplot -e "datafile='$m'; outfile='$d/heatmap-b$L.$term.tmp'; term='$term'; metric='$metric'; bits='$L'" "$here/heatmap.gp"
    mv "$d/heatmap-b$L.$term.tmp" "$d/heatmap-b$L.$term"
  done
  echo "heatmap: $d/heatmap-b$L.png, $d/heatmap-b$L.svg" >&2
done
