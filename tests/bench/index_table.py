#!/usr/bin/python3
"""index_table.py LOG: Markdown tables of tests/bench/index.sh's output.

Latency: median single-query CPU ms and wall ms (one thread); throughput: queries/s (all
threads). Ratios: IndexBinaryFlat / dsah auto (higher = dsah faster).
"""
import json
import sys


def main():
    rows, cur, build = [], None, {}
    for line in open(sys.argv[1]):
        line = line.rstrip("\n")
        if line.startswith("== ") and " n=" in line:  # not make bench's "== tests/bench/index.sh"
            dist, n, bits = line[3:].split()
            cur = {"dist": dist, "n": int(n.split("=")[1]), "bits": int(bits.split("=")[1])}
            build[(cur["dist"], cur["n"], cur["bits"])] = {}
        elif line.startswith("dsah build "):
            build[(cur["dist"], cur["n"], cur["bits"])]["dsah"] = json.loads(line[len("dsah build "):])
        elif line.startswith("dsah search "):
            j = json.loads(line[len("dsah search "):])
            rows.append(dict(cur, who="dsah-" + j["method"], **j))
        elif line.startswith("faiss "):
            j = json.loads(line[len("faiss "):])
            rows.append(dict(cur, who=j["index"], **j))
            build[(cur["dist"], cur["n"], cur["bits"])][j["index"]] = j
    keys = sorted({(r["dist"], r["n"], r["bits"], r["k"]) for r in rows}, key=lambda x: (x[1], x[2], x[0], x[3]))
    get = lambda key, who: next((r for r in rows if (r["dist"], r["n"], r["bits"], r["k"]) == key and r["who"] == who), None)
    for title, field, fmt in (("single-query latency, median CPU ms of the thread (one thread)", "cpu_median_ms", "%.3f"),
                              ("single-query latency, median wall ms (one thread; shared machine)", "lat_median_ms", "%.3f"),
                              ("throughput, queries/s (2 threads)", "tput_qps", "%.0f")):
        print(f"\n{title}\n")
        last = "auto / Flat" if field == "tput_qps" else "Flat / auto"
        print(f"| codes | n | bits | k | dsah MIH | dsah scan | dsah auto | FAISS Flat | FAISS MultiHash (recall) | {last} |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for key in keys:
            c = {w: get(key, w) for w in ("dsah-mih", "dsah-scan", "dsah-auto", "flat", "multihash")}
            cell = lambda w: (fmt % c[w][field]) if c[w] else "-"
            mh = "-" if not c["multihash"] else f"{fmt % c['multihash'][field]} ({c['multihash']['recall_at_k']:.2f})"
            a, f = c["dsah-auto"], c["flat"]
            if a and f:
                ratio = f[field] / a[field] if field != "tput_qps" else a[field] / f[field]
                ratio = f"{ratio:.1f}x"
            else:
                ratio = "-"
            print(f"| {key[0]} | {key[1]:,} | {key[2]} | {key[3]} | {cell('dsah-mih')} | {cell('dsah-scan')} | "
                  f"{cell('dsah-auto')} | {cell('flat')} | {mh} | {ratio} |")
    print("\nbuild time (s) and size (MB)\n")
    print("| codes | n | bits | dsah build (MIH m) | dsah index.faiss + mih.bin MB | FAISS Flat build | Flat MB | FAISS MultiHash build | MultiHash MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (dist, n, bits), b in sorted(build.items(), key=lambda x: (x[0][1], x[0][2], x[0][0])):
        d, f, m = b.get("dsah"), b.get("flat"), b.get("multihash")
        if not d or not f:
            continue
        mb = lambda x: "-" if x is None else f"{x / 1e6:.1f}"
        print(f"| {dist} | {n:,} | {bits} | {d['build_s']:.2f} (m {d['m']}) | {mb(d['bytes_faiss'])} + {mb(d['bytes_mih'])} | "
              f"{f['build_s']:.2f} | {mb(f['bytes'])} | {'-' if not m else '%.1f' % m['build_s']} | {'-' if not m else mb(m['bytes'])} |")
    bad = [r for r in rows if r.get("identical_to_mih") is False or r.get("identical_to_dsah") is False]
    print(f"\nexactness: {sum(1 for r in rows if r.get('identical_to_mih') or r.get('identical_to_dsah'))} checks identical, {len(bad)} differ")


if __name__ == "__main__":
    main()
