#!/bin/bash
# t_serve.t: dsah-serve over HTTP, with curl and in a real browser.
#  - two columns (a trained 16-bit model's index with its model, a 32-bit
#    index without one) answer /api/search exactly as dsah-search does;
#    relevance marks follow the labels; an uploaded PNG of an item gives
#    that item's results; items outside an index are encoded by its model.
#  - bad requests: malformed or unknown query parameters (400), unknown
#    items and images (404), path escapes in /img/ (404, nothing served),
#    oversized uploads with and without Content-Length (413), undecodable
#    uploads (400); the server keeps running.
#  - a slow upload does not hold up other clients.
#  - the page in headless Chromium (playwright-core, tests/browser/page.mjs):
#    k tiles per column whose ids and distances equal the API's, a screenshot.
set -u
. "$(dirname "$0")/lib.sh"
BIN=${DSAH_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
T=$(mktemp -d)
SPID=""
trap '[ -n "$SPID" ] && kill $SPID 2>/dev/null; rm -rf "$T"' EXIT
if ! $PY -c 'import numpy, PIL' 2>/dev/null || ! command -v curl >/dev/null || ! command -v jq >/dev/null; then
  skip_all "python3-numpy, python3-pil, curl or jq not installed (common/deps.sh test)"
fi

$PY - "$T" <<'PY'
import sys, os, numpy as np
from PIL import Image
T = sys.argv[1]; r = np.random.default_rng(3)
im = r.integers(0, 256, (600, 28, 28, 1), dtype=np.uint8)
np.save(f"{T}/images.npy", im)
lab = np.zeros((600, 10), np.uint8); lab[np.arange(600), np.arange(600) % 10] = 1
np.save(f"{T}/labels.npy", lab)
np.save(f"{T}/train.npy", np.arange(500, dtype=np.int64))
np.save(f"{T}/db.npy", np.arange(500, dtype=np.int64))
np.save(f"{T}/query.npy", np.arange(500, 600, dtype=np.int64))
w = np.zeros((500, 500), np.uint8)
for i in range(500): w[i, i % 10::10] = 1
np.save(f"{T}/w.npy", np.packbits(w, axis=1, bitorder='little'))
np.save(f"{T}/rand32.npy", r.integers(0, 256, (500, 4), dtype=np.uint8))
np.save(f"{T}/randq.npy", r.integers(0, 256, (100, 4), dtype=np.uint8))
np.save(f"{T}/randq50.npy", np.load(f"{T}/randq.npy")[50:51])
Image.fromarray(im[7, :, :, 0]).save(f"{T}/item7.png")
open(f"{T}/bad.png", "wb").write(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
open(f"{T}/big.bin", "wb").write(os.urandom(150000))
PY
"$BIN/dsah-train" -q --images "$T/images.npy" --indices "$T/train.npy" --w "$T/w.npy" --arch fc-32 --input 28 --bits 16 \
  --epochs 1 --batch 50 --lr 1e-3 --seed 1 --threads 2 --out "$T/m" \
&& "$BIN/dsah-encode" -q --model "$T/m/model.safetensors" --images "$T/images.npy" --indices "$T/db.npy" --out "$T/dbc.npy" \
&& "$BIN/dsah-index" -q --codes "$T/dbc.npy" --ids "$T/db.npy" --out "$T/ia" \
&& "$BIN/dsah-index" -q --codes "$T/rand32.npy" --ids "$T/db.npy" --out "$T/ib"
ok $? "fixture: a trained 16-bit model's index and a 32-bit index"

"$BIN/dsah-serve" --index "dsah=$T/ia,rand=$T/ib" --model "$T/m/model.safetensors" --images "$T/images.npy" \
  --labels "$T/labels.npy" --queries "$T/query.npy" --query-codes ",$T/randq.npy" --listen 127.0.0.1:0 --max-upload 100000 --threads 4 \
  >"$T/serve.out" 2>"$T/serve.err" &
SPID=$!
for i in $(seq 1 200); do grep -q listening "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
URL=$(sed -n 's/^listening on //p' "$T/serve.out")
case $URL in http://127.0.0.1:[0-9]*/) r=0 ;; *) r=1 ;; esac
ok $r "dsah-serve listens on 127.0.0.1 ($URL)"
"$BIN/dsah-serve" --help | grep -q "default 127.0.0.1:8080"
ok $? "--listen defaults to 127.0.0.1:8080 (loopback only)"

code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }
[ "$(code "$URL")" = 200 ] && grep -q '<title>dsah search</title>' "$T/body"
ok $? "GET / serves the page"
[ "$(code "${URL}api/info")" = 200 ] && [ "$(jq -c '[.images, .labels, (.columns | map([.name, .bits, .n, .model]))]' "$T/body")" = '[600,true,[["dsah",16,500,true],["rand",32,500,false]]]' ]
ok $? "/api/info: images, labels, columns (name, bits, n, model)"

# API = dsah-search, per column
code "${URL}api/search?item=3&k=7" >/dev/null; cp "$T/body" "$T/s3.json"
"$BIN/dsah-search" -q --index "$T/ia" --items 3 --k 7 --out "$T/ca" && "$BIN/dsah-search" -q --index "$T/ib" --items 3 --k 7 --out "$T/cb"
same=0
for c in 0 1; do
  d=$([ $c = 0 ] && echo ca || echo cb)
  [ "$(jq -c "[.columns[$c].results[] | [.id, .distance]]" "$T/s3.json")" = "$(jq -c '[.queries[0].results[] | [.id, .distance]]' "$T/$d/results.json")" ] || same=1
done
ok $same "item=3&k=7: both columns equal dsah-search --items 3 --k 7 on their index"
[ "$(jq -c '[.columns[].results[] | (.relevant == ((.id % 10) == 3))] | all' "$T/s3.json")" = true ] && [ "$(jq -c .query.labels "$T/s3.json")" = '[3]' ]
ok $? "relevance marks follow the labels (item 3 is class 3)"
code "${URL}api/search?item=550&k=5" >/dev/null; cp "$T/body" "$T/s550.json"
"$BIN/dsah-search" -q --index "$T/ia" --items 550 --model "$T/m/model.safetensors" --data "$T/images.npy" --k 5 --out "$T/c550"
"$BIN/dsah-search" -q --index "$T/ib" --codes "$T/randq50.npy" --k 5 --out "$T/d550"
[ "$(jq -c '[.columns[0].results[] | [.id, .distance]]' "$T/s550.json")" = "$(jq -c '[.queries[0].results[] | [.id, .distance]]' "$T/c550/results.json")" ] \
  && [ "$(jq -c '[.columns[1].results[] | [.id, .distance]]' "$T/s550.json")" = "$(jq -c '[.queries[0].results[] | [.id, .distance]]' "$T/d550/results.json")" ]
ok $? "item 550 (a query, not in the indexes): encoded by the model in column 1, its --query-codes row in column 2"
[ "$(code "${URL}api/search?item=20&k=2")" = 200 ] && code "${URL}api/search?item=499&k=2" >/dev/null && cp "$T/body" "$T/s499.json" \
  && [ "$(jq -c '(.columns[1].results | length)' "$T/s499.json")" = 2 ] && code "${URL}api/search?item=5&k=2" >/dev/null
ok $? "items of the database answer in both columns"
[ "$(code -X POST --data-binary @"$T/item7.png" "${URL}api/search?k=6")" = 200 ] && cp "$T/body" "$T/up.json" \
  && code "${URL}api/search?item=7&k=6" >/dev/null \
  && [ "$(jq -c '[.columns[0].results[] | [.id, .distance]]' "$T/up.json")" = "$(jq -c '[.columns[0].results[] | [.id, .distance]]' "$T/body")" ] \
  && jq -e '.columns[1].error | test("no model")' "$T/up.json" >/dev/null
ok $? "an uploaded PNG of item 7 gives item 7's results (column 2: no model, an error)"
[ "$(code "${URL}api/search?random=1")" = 200 ] && [ "$(jq '.query.item >= 500 and .query.item < 600 and (.columns[0].results | length) == 10' "$T/body")" = true ]
ok $? "random=1: an item of --queries, k defaults to 10"

# thumbnails
[ "$(code "${URL}img/3.png")" = 200 ] && $PY -c "
import sys, numpy as np; from PIL import Image
a = np.asarray(Image.open('$T/body')); b = np.load('$T/images.npy')[3, :, :, 0]
sys.exit(0 if a.shape == b.shape and (a == b).all() else 1)"
ok $? "/img/3.png is images.npy[3] as PNG"

# bad requests
bad=0; list=""
for q in "api/search?item=abc" "api/search?item=-1" "api/search?item=1&random=1" "api/search?random=2" \
         "api/search?item=3&k=0" "api/search?item=3&k=1001" "api/search?item=3&k=x" "api/search?item=3&foo=1" \
         "api/search" "api/search?item=%00" "api/search?item=1e3"; do
  c=$(code "$URL$q"); list="$list $c"
  [ "$c" = 400 ] && jq -e .error "$T/body" >/dev/null || bad=1
done
ok $bad "malformed query strings: 400 with a JSON error ($list)"
[ "$(code "${URL}api/search?item=600")" = 404 ] && [ "$(code "${URL}img/600.png")" = 404 ]
ok $? "unknown item and image: 404"
bad=0; list=""
for p in "img/../../etc/passwd" "img/..%2f..%2fetc%2fpasswd" "img/%2e%2e/%2e%2e/etc/passwd" "img/3.png/../../../etc/passwd" \
         "img/3" "img/.png" "img/03.png.png" "img//etc/passwd" "../../etc/passwd"; do
  c=$(code --path-as-is "$URL$p"); list="$list $c"
  [ "$c" = 404 ] && ! grep -q "root:" "$T/body" || bad=1
done
ok $bad "path escapes in /img/ refused with 404, nothing served ($list)"
[ "$(code -X POST --data-binary @"$T/big.bin" "${URL}api/search")" = 413 ]
ok $? "upload over --max-upload with Content-Length: 413"
[ "$(code -X POST -H 'Transfer-Encoding: chunked' --data-binary @"$T/big.bin" "${URL}api/search")" = 413 ]
ok $? "chunked upload over --max-upload: 413"
[ "$(code -X POST --data-binary @"$T/bad.png" "${URL}api/search")" = 400 ] && jq -e '.error | test("corrupt PNG")' "$T/body" >/dev/null
ok $? "undecodable upload: 400 ($(jq -r .error "$T/body"))"
[ "$(code -X DELETE "${URL}api/search?item=1")" = 405 ] && [ "$(code "${URL}nope")" = 404 ]
ok $? "other methods 405, other paths 404"

# a slow upload (2 KB/s, 60 KB) while 20 other requests are served
head -c 60000 "$T/big.bin" > "$T/slow.bin"
curl -s -o /dev/null --limit-rate 2k -X POST --data-binary @"$T/slow.bin" "${URL}api/search" &
CPID=$!
sleep 0.5
t0=$(date +%s.%N); r=0
for i in $(seq 1 20); do [ "$(code -m 5 "${URL}api/search?item=$i&k=3")" = 200 ] || r=1; done
t1=$(date +%s.%N)
kill $CPID 2>/dev/null; wait $CPID 2>/dev/null
el=$(echo "$t1 - $t0" | bc)
[ $r = 0 ] && [ "$(echo "$el < 10" | bc)" = 1 ]
ok $? "20 searches answered in ${el} s while a slow upload is in progress"

# the page in a real browser
if [ -d "$ROOT/tests/browser/node_modules/playwright-core" ] && [ -x /usr/bin/chromium ]; then
  ( cd "$ROOT/tests/browser" && timeout 120 node page.mjs "$URL" "$T/page.png" 42 5 ) >"$T/browser.out" 2>&1
  rc=$?
  while read -r line; do
    case $line in "ok "*) ok 0 "browser: ${line#ok * - }" ;; "not ok "*) ok 1 "browser: ${line#not ok * - }" ;; esac
  done < "$T/browser.out"
  [ $rc = 0 ] && $PY -c "from PIL import Image; im = Image.open('$T/page.png'); import sys; sys.exit(0 if im.size[0] >= 1000 else 1)"
  ok $? "browser run exits 0 and the screenshot is a PNG (copied to build/serve-page.png)"
  [ $rc = 0 ] || sed 's/^/# /' "$T/browser.out" | tail -20
  mkdir -p "${DSAH_BUILD:-$ROOT/build}" && cp "$T/page.png" "${DSAH_BUILD:-$ROOT/build}/serve-page.png" 2>/dev/null
else
  ok 1 "browser test: tests/browser/node_modules/playwright-core or /usr/bin/chromium missing (run common/deps.sh test)"
fi

kill -0 $SPID 2>/dev/null
ok $? "the server is still running after all of the above"
kill -TERM $SPID; wait $SPID; rc=$?; SPID=""
[ $rc = 0 ] && ! grep -qi "error" "$T/serve.err"
ok $? "SIGTERM: exits 0, nothing on stderr but info lines"

done_testing
