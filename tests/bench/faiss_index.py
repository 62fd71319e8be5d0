#!/usr/bin/python3
"""faiss_index.py: the FAISS side of tests/bench/index.sh (Debian's python3-faiss).

    faiss_index.py CODES.npy QUERIES.npy M K1,K2,.. NLAT NTPUT OURS_PREFIX INDEXES

Builds IndexBinaryFlat and IndexBinaryMultiHash (M tables of floor(bits/M)
bits, nflip 2: FAISS's multi-index hashing, approximate) over CODES once, then
for each k: single-query latency (the first NLAT queries one at a time, one
thread; median and p99 in ms of wall time, and the median CPU time of the
thread: on a shared machine the wall time of a short query is mostly waiting) and throughput (all queries in one call, all
threads; the first NTPUT queries). INDEXES: "flat" or "flat,multihash". Checks that IndexBinaryFlat returns exactly dsah's ids and
distances (OURS_PREFIX.k<k>.ids.npy / .dist.npy, database positions) and reports
MultiHash's recall of the exact top k. One JSON line per index.
"""
import json
import sys
import time

import faiss
import numpy as np


def timed(f):
    t = time.perf_counter()
    r = f()
    return r, time.perf_counter() - t


def main():
    codes_path, q_path, m, k, nlat, ntput, ours, which = sys.argv[1:9]
    m, nlat, ntput = int(m), int(nlat), int(ntput)
    ks = [int(x) for x in k.split(",")]
    xb = np.load(codes_path, mmap_mode="r")
    xq = np.ascontiguousarray(np.load(q_path)[:ntput])
    n, rb = xb.shape
    d = 8 * rb
    threads = faiss.omp_get_max_threads()
    flat = faiss.IndexBinaryFlat(d)
    _, tb = timed(lambda: flat.add(np.ascontiguousarray(xb)))
    todo = [("flat", flat, tb)]
    if "multihash" in which.split(","):
        mh = faiss.IndexBinaryMultiHash(d, m, d // m)
        _, tm = timed(lambda: mh.add(np.ascontiguousarray(xb)))
        mh.nflip = 2
        todo.append(("multihash", mh, tm))
    sizes = {}
    for name, ix, _ in todo:
        try:
            sizes[name] = int(faiss.serialize_index_binary(ix).size)
        except RuntimeError:
            sizes[name] = None
    for k in ks:
        ids_ours = np.load(f"{ours}.k{k}.ids.npy")[:ntput]
        dist_ours = np.load(f"{ours}.k{k}.dist.npy")[:ntput]
        res = {}
        for name, ix, build in todo:
            faiss.omp_set_num_threads(1)
            lat, cpu = [], []
            for i in range(min(nlat, len(xq))):
                c0 = time.thread_time()
                _, t = timed(lambda: ix.search(xq[i:i + 1], k))
                cpu.append(time.thread_time() - c0)
                lat.append(t)
            faiss.omp_set_num_threads(threads)
            (D, I), tt = timed(lambda: ix.search(xq, k))
            res[name] = (D, I)
            lat = np.sort(np.array(lat))
            line = {"index": name, "k": k, "n": n, "bits": d, "build_s": round(build, 4), "bytes": sizes[name],
                    "lat_median_ms": round(1e3 * float(np.median(lat)), 4),
                    "lat_p99_ms": round(1e3 * float(lat[min(len(lat) - 1, (len(lat) * 99) // 100)]), 4),
                    "cpu_median_ms": round(1e3 * float(np.median(cpu)), 4),
                    "lat_n": int(len(lat)), "tput_qps": round(len(xq) / tt, 1), "tput_nq": int(len(xq)),
                    "threads": threads}
            if name == "flat":
                line["identical_to_dsah"] = bool(D.shape == dist_ours.shape and (D == dist_ours).all()
                                                 and (I == ids_ours).all())
            else:
                line["nflip"] = ix.nflip
                Fi = res["flat"][1]
                hit = sum(len(set(I[q][I[q] >= 0]) & set(Fi[q])) for q in range(len(xq)))
                line["recall_at_k"] = round(hit / (len(xq) * k), 4)
            print(json.dumps(line), flush=True)

if __name__ == "__main__":
    main()
