# jsonget.sh (sourced): jget FILE KEY prints a flat JSON number/string or "NA".
jget() {
  if [ -f "$1" ]; then
    jq -r --arg k "$2" 'if has($k) and (.[$k] != null) then .[$k] | tostring else "NA" end' "$1" 2>/dev/null || echo NA
  else
    echo NA
  fi
}
# fmt4 X: four decimals, NA unchanged.
fmt4() { case $1 in NA|'') echo NA ;; *) LC_ALL=C printf '%.4f' "$1" ;; esac; }
