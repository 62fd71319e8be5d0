#!/bin/bash
# csv2md.sh IN.csv: the CSV as a Markdown table (numbers to 4 decimals).
awk -F, 'NR==1 { h="|"; s="|"; for (i=1;i<=NF;i++) { h=h" "$i" |"; s=s" --- |" } print h; print s; next }
         { r="|"; for (i=1;i<=NF;i++) { v=$i; if (v ~ /^-?[0-9]*\.[0-9]+([eE][-+]?[0-9]+)?$/) v=sprintf("%.4f", v); r=r" "v" |" } print r }' "$1"
