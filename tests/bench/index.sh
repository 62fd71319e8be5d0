#!/bin/bash
# index.sh: exact Hamming search (hash/index.c: MIH, the bit-sliced scan and
# auto) against FAISS (Debian's python3-faiss: IndexBinaryFlat, exact, and
# IndexBinaryMultiHash, approximate), side by side on the same data in one
# run: for every database, dsah's three methods, then FAISS's indexes.
#
# Databases: INDEX_BENCH_SIZES codes (default 1M and 10M) at 64 and 128 bits,
#   uniform: random bits; queries random;
#   clustered: the learned codes of the 69,000 Fashion-MNIST database images
#     replicated with 0-3 random bit flips each (uniform over 0..3); queries
#     the codes of the 1,000 query images. The codes are the pipeline's DSAH
#     codes (runs/dsah-b<L>/codes) when present, else its ITQ codes
#     (baselines/itq-b<L>), from INDEX_BENCH_RUN (default work/fashion-mnist;
#     make pipeline writes both).
# Per k in 1, 10, 100: single-query latency (median, p99; one thread) and
# throughput (a batch of queries, all threads); every dsah method is checked
# identical to the others and IndexBinaryFlat identical to dsah (ids and
# distances in order). Build time and file sizes per index. IndexBinaryMultiHash
# (as many tables as dsah's MIH, nflip 2) is built for every 1M database and
# for the 10M clustered 64-bit one, the goal's configuration (at 10M its
# build takes 15 s but a query on clustered codes 0.35-0.7 s of CPU); its
# recall of the exact top k is printed. Latency: 200 queries (dsah) and 50
# (FAISS) at 1M, 50 and 20 at 10M; throughput: 1,000 queries at 1M, the
# first 200 at 10M (a FAISS query takes tens of ms there).
set -uo pipefail
BUILD=${DSAH_BUILD:?}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
RUN=${INDEX_BENCH_RUN:-$REPO/work/fashion-mnist}
SIZES=${INDEX_BENCH_SIZES:-1000000 10000000}
PY=/usr/bin/python3
B="$BUILD/tests/bench_index"
T=$(mktemp -d "${TMPDIR:-/tmp}/index-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
src=""
for bits in 64 128; do
  if [ -s "$RUN/runs/dsah-b$bits/codes/db.npy" ]; then d="$RUN/runs/dsah-b$bits/codes"; s=DSAH
  elif [ -s "$RUN/baselines/itq-b$bits/db.npy" ]; then d="$RUN/baselines/itq-b$bits"; s=ITQ
  else echo "index.sh: error: no codes at $bits bits under $RUN (runs/dsah-b$bits/codes or baselines/itq-b$bits): run make pipeline" >&2; exit 1; fi
  ln -s "$d/db.npy" "$T/learned-db$bits.npy"; ln -s "$d/query.npy" "$T/learned-q$bits.npy"; src="$src $bits:$s"
done
echo "# $(date -u +%F) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); clustered codes from$src ($RUN)"
$PY - "$T" $SIZES <<'PY'
import sys, numpy as np
T, sizes = sys.argv[1], [int(x) for x in sys.argv[2:]]
r = np.random.default_rng(0)
for bits in (64, 128):
    rb = bits // 8
    base = np.load(f"{T}/learned-db{bits}.npy"); assert base.shape[1] == rb
    np.save(f"{T}/clustered-q{bits}.npy", np.load(f"{T}/learned-q{bits}.npy"))
    np.save(f"{T}/uniform-q{bits}.npy", r.integers(0, 256, (1000, rb), dtype=np.uint8))
    for n in sizes:
        np.save(f"{T}/uniform-{n}-{bits}.npy", r.integers(0, 256, (n, rb), dtype=np.uint8))
        x = base[r.integers(0, len(base), n)]
        nflip = r.integers(0, 4, n)
        for j in range(3):
            rows = np.nonzero(nflip > j)[0]
            pos = r.integers(0, bits, len(rows))
            np.bitwise_xor.at(x, (rows, pos // 8), (1 << (pos % 8)).astype(np.uint8))
        np.save(f"{T}/clustered-{n}-{bits}.npy", x)
PY
[ $? = 0 ] || exit 1
for n in $SIZES; do
  for bits in 64 128; do
    for dist in clustered uniform; do
      codes="$T/$dist-$n-$bits.npy" q="$T/$dist-q$bits.npy"
      echo "== $dist n=$n bits=$bits"
      line=$("$B" build "$codes" "$T/ix") || exit 1
      echo "dsah build $line"
      m=$(echo "$line" | jq .m)
      which=flat; ntput=1000; nlat=200; fnlat=50
      if [ "$n" -le 1000000 ] || { [ $dist = clustered ] && [ $bits = 64 ]; }; then which=flat,multihash; fi
      [ "$n" -gt 1000000 ] && { ntput=200; nlat=50; fnlat=20; }
      for k in 1 10 100; do
        "$B" search "$T/ix" "$q" $k $nlat $ntput "$T/o.k$k" | sed 's/^/dsah search /' || exit 1
      done
      $PY "$REPO/tests/bench/faiss_index.py" "$codes" "$q" "$m" 1,10,100 $fnlat $ntput "$T/o" $which | sed 's/^/faiss /' || exit 1
      rm -rf "$T/ix" "$T"/o.k*
    done
  done
  rm -f "$T"/*-"$n"-*.npy
done
