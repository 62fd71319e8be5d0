#!/bin/bash
# serve.sh: dsah-serve under load (wrk, Debian's package) on loopback: 64
# connections for 30 s (SERVE_BENCH_SECONDS) of /api/search?random=1&k=10
# against a 1M-code index: the 69,000 Fashion-MNIST database images' learned
# 64-bit codes (the pipeline's DSAH codes, else its ITQ codes, as index.sh)
# replicated with 0-3 bit flips, ids = the image each replica comes from;
# queries: the 1,000 query images with their codes. Prints requests/s, p50
# and p99 latency, non-2xx and socket errors, whether the server survived;
# then the same run with an AddressSanitizer build of dsah-serve, whose
# report files must be empty.
set -uo pipefail
BUILD=${DSAH_BUILD:?}
BIN=${DSAH_BIN:?}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
RUN=${INDEX_BENCH_RUN:-$REPO/work/fashion-mnist}
SECS=${SERVE_BENCH_SECONDS:-30}
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/serve-bench.XXXXXX")
SPID=""
trap '[ -n "$SPID" ] && kill $SPID 2>/dev/null; rm -rf "$T"' EXIT
if [ -s "$RUN/runs/dsah-b64/codes/db.npy" ]; then d="$RUN/runs/dsah-b64/codes"; src=DSAH
elif [ -s "$RUN/baselines/itq-b64/db.npy" ]; then d="$RUN/baselines/itq-b64"; src=ITQ
else echo "serve.sh: error: no 64-bit codes under $RUN: run make pipeline" >&2; exit 1; fi
for f in images labels query db; do [ -s "$RUN/data/$f.npy" ] || { echo "serve.sh: error: $RUN/data/$f.npy missing: run make pipeline" >&2; exit 1; }; done
$PY - "$T" "$d" "$RUN/data" <<'PY'
import sys, numpy as np
T, d, data = sys.argv[1:4]
r = np.random.default_rng(1)
base, ids = np.load(f"{d}/db.npy"), np.load(f"{data}/db.npy")
pick = r.integers(0, len(base), 1000000)
x = base[pick]
nflip = r.integers(0, 4, len(x))
for j in range(3):
    rows = np.nonzero(nflip > j)[0]
    pos = r.integers(0, 64, len(rows))
    np.bitwise_xor.at(x, (rows, pos // 8), (1 << (pos % 8)).astype(np.uint8))
np.save(f"{T}/codes.npy", x)
np.save(f"{T}/ids.npy", ids[pick].astype(np.int64))
PY
"$BIN/dsah-index" -q --codes "$T/codes.npy" --ids "$T/ids.npy" --out "$T/ix" || exit 1
echo "# $(date -u +%F) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); 1M codes from $src, 64 bits"

load() { # label, serve binary
  "$2" --index "$T/ix" --images "$RUN/data/images.npy" --labels "$RUN/data/labels.npy" --queries "$RUN/data/query.npy" \
    --query-codes "$d/query.npy" --listen 127.0.0.1:0 --threads 4 >"$T/out" 2>"$T/err" &
  SPID=$!
  for i in $(seq 1 600); do grep -q listening "$T/out" 2>/dev/null && break; sleep 0.1; done
  local url; url=$(sed -n 's/^listening on //p' "$T/out")
  [ -n "$url" ] || { echo "$1: server did not start: $(head -3 "$T/err")"; return 1; }
  wrk -t2 -c64 -d"${SECS}s" --latency "${url}api/search?random=1&k=10" > "$T/wrk" 2>&1
  local alive=no; kill -0 $SPID 2>/dev/null && alive=yes
  kill -TERM $SPID; wait $SPID; local rc=$?; SPID=""
  local rps p50 p99 non2xx sockerr
  rps=$(awk '/^Requests\/sec/ {print $2}' "$T/wrk")
  p50=$(awk '$1 == "50%" {print $2}' "$T/wrk")
  p99=$(awk '$1 == "99%" {print $2}' "$T/wrk")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$T/wrk"); non2xx=${non2xx:-0}
  sockerr=$(grep -o 'Socket errors:.*' "$T/wrk" || echo "Socket errors: none")
  echo "$1: {\"requests_per_s\": $rps, \"p50\": \"$p50\", \"p99\": \"$p99\", \"requests\": $(awk '/requests in/ {print $1}' "$T/wrk"), \"non2xx\": $non2xx, \"socket_errors\": \"${sockerr#Socket errors: }\", \"alive_after\": \"$alive\", \"exit\": $rc}"
}
load serve "$BIN/dsah-serve"

# the same under AddressSanitizer
make -s -C "$REPO" BUILD="$T/asan-build" BIN="$T/asan-bin" \
  CFLAGS="-O1 -g -march=native -std=gnu11 -fopenmp -fno-math-errno -fsanitize=address -fno-omit-frame-pointer" \
  "$T/asan-bin/dsah-serve" >"$T/asan-make" 2>&1 || { echo "asan build failed: $(tail -3 "$T/asan-make")"; exit 1; }
export ASAN_OPTIONS="log_path=$T/asan:detect_leaks=1"
load serve-asan "$T/asan-bin/dsah-serve"
unset ASAN_OPTIONS
if ls "$T"/asan* >/dev/null 2>&1 && [ -n "$(cat "$T"/asan.* 2>/dev/null)" ]; then
  echo "serve-asan: AddressSanitizer reports:"; cat "$T"/asan.* | head -40
else
  echo "serve-asan: AddressSanitizer reported nothing"
fi
