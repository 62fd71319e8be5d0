#!/bin/bash
# serve.sh RUNDIR: dsah-serve on a pipeline's output (make serve). Shows the
# DSAH index at DSAH_SERVE_BITS (default: 64 when the pipeline has it, else
# its longest) beside ITQ's (or the first baseline's) at the same length
# with the baseline's query codes (so query items are answered by both),
# the DSAH model of the last round (so uploads and query items are encoded),
# the labels and the query split. DSAH_LISTEN: address:port (default
# 127.0.0.1:8080). Values come from the environment, never a command line.
set -euo pipefail
W=${1:?run directory}
bin=${DSAH_BINDIR:-bin}
need() { [ -e "$1" ] || { echo "make serve: error: $1 is missing: run 'make pipeline' (same DATASET/PIPELINE/SET) first" >&2; exit 1; }; }
bits=${DSAH_SERVE_BITS:-}
if [ -z "$bits" ]; then
  have=$(ls -d "$W"/index/dsah-b* 2>/dev/null | sed 's/.*-b//' | sort -n || true)
  [ -n "$have" ] || need "$W/index/dsah-b64"
  bits=$(echo "$have" | grep -qx 64 && echo 64 || echo "$have" | tail -1)
fi
case $bits in ''|*[!0-9]*) echo "make serve: error: SERVE_BITS '$bits' is not a number" >&2; exit 1 ;; esac
dsah="$W/index/dsah-b$bits"
need "$dsah/index.faiss"
model=$(ls -d "$W/runs/dsah-b$bits"/round*/ 2>/dev/null | sort -V | tail -1)
need "${model}model.safetensors"
other=""; oq=""
for m in itq lsh sh agh1 agh2 sp; do
  if [ -e "$W/index/$m-b$bits/index.faiss" ]; then
    other="$(echo "$m" | tr a-z A-Z)=$W/index/$m-b$bits"; oq="$W/baselines/$m-b$bits/query.npy"; need "$oq"; break
  fi
done
for f in images labels query; do need "$W/data/$f.npy"; done
exec "$bin/dsah-serve" --index "DSAH=$dsah${other:+,$other}" --model "${model}model.safetensors" \
  --images "$W/data/images.npy" --labels "$W/data/labels.npy" --queries "$W/data/query.npy" \
  ${other:+--query-codes ",$oq"} \
  --listen "${DSAH_LISTEN:-127.0.0.1:8080}"
