#!/bin/bash
# tune.sh YAML OUT.md "LABEL key=value ..." ...
# Runs `make pipeline PIPELINE=YAML SET="name=<yaml name>-LABEL key=value ..."`
# for each setting, one after the other (each in its own work/<name>-LABEL/,
# so earlier results stay and a rerun only redoes what changed), and writes
# OUT.md: one row per setting and code length with DSAH's mAP@5000, mAP@1000
# and P@100 from its eval/metrics.json, the ITQ row of the first setting
# beside them, and the training seconds. Meant for a validation pipeline
# (dataset.validation_per_class): settings are compared on queries drawn
# from the database, never on the test queries.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: tune.sh YAML OUT.md \"LABEL key=value ...\" ..." >&2; exit 2; }
yaml=$1 out=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/jsonget.sh"
MAKE=${MAKE:-make}
WORK=${WORK:-work}
base=$(awk '$1=="name:"{print $2; exit}' "$yaml")
[ -n "$base" ] || base=$(basename "$yaml" .yaml)
unset MAKEFLAGS MFLAGS MAKELEVEL
rows=()
for setting in "$@"; do
  label=${setting%% *}
  sets=""
  [ "$label" != "$setting" ] && sets=${setting#* }
  name=$base-$label
  echo "tune: $name: $sets" >&2
  mkdir -p "$WORK"
  if ! "$MAKE" --no-print-directory pipeline PIPELINE="$yaml" SET="name=$name $sets" > "$WORK/$name.log" 2>&1; then
    echo "tune: error: $name failed; see $WORK/$name.log" >&2
    tail -5 "$WORK/$name.log" >&2
    exit 1
  fi
  while IFS=$'\t' read -r kind method bits gamma tau dir; do
    [ "$kind" = main ] || continue
    case "$method" in DSAH) ;; itq) [ -z "${itq_done:-}" ] || continue ;; *) continue ;; esac
    m=$dir/eval/metrics.json
    secs=""
    if [ "$method" = DSAH ]; then
      secs=$(cat "$dir"/round*/train.jsonl | jq -s '[.[] | .seconds // 0] | add | floor')
    fi
    rows+=("| $label | $method | $bits | $(fmt4 "$(jget "$m" mAP@5000)") | $(fmt4 "$(jget "$m" mAP@1000)") | $(fmt4 "$(jget "$m" P@100)") | $secs | \`$sets\` |")
  done < "$WORK/$name/index.tsv"
  itq_done=1
done
tmp=$out.tmp.$$
{
  echo "| setting | method | bits | mAP@5000 | mAP@1000 | P@100 | train s | SET |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
} > "$tmp"
mv "$tmp" "$out"
cat "$out"
