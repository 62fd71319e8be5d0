#!/bin/bash
# bench/ingest.sh: wall time of dsah-ingest on Fashion-MNIST (70,000 images,
# the paper's class-balanced split) and of dsah-features pixels on its db
# split (69,000 x 784 f4). Median of 5 runs each; ingest must stay <= 2 s.
set -u
BIN=${DSAH_BIN:?DSAH_BIN not set}
DATA=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
LIMIT=2.0
[ -d "$DATA" ] || { echo "bench: ingest: error: $DATA missing (apt-get install dataset-fashion-mnist)" >&2; exit 1; }
tmp=${TMPDIR:-/tmp}/dsah_bench_ingest.$$; rm -rf "$tmp"; mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT

# median of the 5 numbers on stdin
median() { sort -g | sed -n 3p; }
# time_cmd: seconds of wall time for the command, or exit 1 when it fails
time_cmd() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" || { echo "bench: ingest: error: command failed: $*" >&2; exit 1; }
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
}

ing=()
for i in 1 2 3 4 5; do
  rm -rf "$tmp/data"
  ing+=("$(time_cmd "$BIN/dsah-ingest" -q --source fashion-mnist --path "$DATA" --query-per-class 100 \
           --train-per-class 1000 --seed 0 --out "$tmp/data")")
done
m_ing=$(printf '%s\n' "${ing[@]}" | median)
printf 'bench: dsah-ingest fashion-mnist (70000 images, 100+1000 per class): median %.3f s (n=5) [limit %s s]\n' "$m_ing" "$LIMIT"

feat=()
for i in 1 2 3 4 5; do
  rm -f "$tmp/pixels_db.npy"
  feat+=("$(time_cmd "$BIN/dsah-features" -q --images "$tmp/data/images.npy" --indices "$tmp/data/db.npy" \
            --extractor pixels --out "$tmp/pixels_db.npy")")
done
m_feat=$(printf '%s\n' "${feat[@]}" | median)
printf 'bench: dsah-features pixels fashion-mnist db (69000 x 784 f4): median %.3f s (n=5)\n' "$m_feat"

if awk -v m="$m_ing" -v l="$LIMIT" 'BEGIN { exit !(m > l) }'; then
  echo "bench: ingest: error: median $m_ing s is over the $LIMIT s limit" >&2
  exit 1
fi
