#!/bin/bash
# t_plan.t: the Make logic of dsah-plan and the Makefile's pipeline targets,
# driven with stand-in stage executables (written below) that honour the
# stages/README.md output contract and derive every output from the md5 of
# their inputs and flags, so equal inputs give equal bytes. The real stages
# are exercised by t_pipeline.t.
set -u
. "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${DSAH_BIN:-$repo/bin}
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
unset MAKEFLAGS MFLAGS MAKELEVEL

fake=$tmp/fakebin
mkdir -p "$fake"
cat > "$fake/stage" <<'SH'
#!/bin/bash
# stand-in stage: outputs = md5 of (stage, flags, input file contents)
set -eu
st=${0##*dsah-}
args=("$@")
key=$( { echo "$st"; prev=""; for a in "$@"; do case $prev in --threads|--device|--out) ;; *) echo "$a"; [ -f "$a" ] && md5sum < "$a"; esac; prev=$a; done; } | md5sum | cut -c1-32)
out=""; for ((i=0;i<${#args[@]};i++)); do [ "${args[$i]}" = --out ] && out=${args[$((i+1))]}; done
put() { mkdir -p "$(dirname "$1")"; echo "$key $1" > "$1.tmp.$$"; mv "$1.tmp.$$" "$1"; }
case $st in
  ingest) for f in images labels query train db; do put "$out/$f.npy"; done; put "$out/ingest.json" ;;
  features|encode) put "$out" ;;
  graph) put "${out}wl.npy"; put "${out}w0.npy"; mkdir -p "$out"; echo '{"n_plus_w0": 1234, "f_w_w0": 0.5}' > "${out}stats.json" ;;
  train) mkdir -p "$out"; echo "{\"epoch\": 1}" > "${out}train.jsonl"   # a log written as it goes
         [ -n "${FAKE_TRAIN_SLEEP:-}" ] && sleep "$FAKE_TRAIN_SLEEP"
         put "${out}optim.safetensors"; put "${out}model.safetensors" ;;
  and) put "$out"; put "$(dirname "$out")/and.json" ;;
  baseline) put "${out}query.npy"; put "${out}db.npy"; put "${out}baseline.json" ;;
  eval) mkdir -p "$out"
        v=$(( 0x${key:0:6} % 10000 ))
        printf '{"bits": 16, "mAP@100": 0.%04d, "mAP@5000": 0.%04d, "P@10": 0.5, "P@100": 0.%04d, "seconds": 1}\n' $v $(( (v*7) % 10000 )) $(( (v*3) % 10000 )) > "${out}metrics.json.tmp"
        mv "${out}metrics.json.tmp" "${out}metrics.json"
        printf 'radius,recall,precision,queries\n0,0.1,0.9,5\n1,0.5,0.6,5\n' > "${out}pr.csv"
        printf 'N,precision\n10,0.8\n100,0.6\n' > "${out}pn.csv" ;;
esac
SH
chmod +x "$fake/stage"
for s in ingest features graph train encode and eval baseline; do ln -s stage "$fake/dsah-$s"; done

mkdir -p "$tmp/data"
cat > "$tmp/p.yaml" <<EOF
name: tp
dataset: {source: mnist, path: $tmp/data, query_per_class: 5, train_per_class: 20}
graph: {k1: 10, k2: 10}
network: {arch: [conv3-4, pool, fc-16], input: 12}
train: {bits: [16], rounds: 3, epochs: 2, batch: 20, gamma: 0.5, tau: 1, lr: 0.001}
eval: {topk: [100, 5000], precision_at: [10, 100]}
sweep: {gamma: [0, 1], tau: [0.5, 1], bits: [16]}
EOF
W=$tmp/work/tp
log=$W/stages.log
mk() { make -s -C "$repo" --no-print-directory PIPELINE="$tmp/p.yaml" WORK="$tmp/work" STAGE_BIN="$fake" BIN="$bin" "$@"; }

mk pipeline > "$tmp/out1" 2>&1; ok $? "make pipeline runs (fake stages)"
is "$(ran 1 | tr '\n' ' ')" "baselines/itq-b16/baseline baselines/itq-b16/eval baselines/lsh-b16/baseline baselines/lsh-b16/eval data/ingest features/pixels_db features/pixels_query features/pixels_train graph/graph runs/dsah-b16/codes/db runs/dsah-b16/codes/query runs/dsah-b16/eval runs/dsah-b16/round1/and runs/dsah-b16/round1/encode runs/dsah-b16/round1/train runs/dsah-b16/round2/and runs/dsah-b16/round2/encode runs/dsah-b16/round2/train runs/dsah-b16/round3/train " "first run: every stage of the pipeline once, no table or sweep runs"
grep -q '| DSAH | 16 |' "$tmp/out1" && grep -q 'n+ = 1234' "$tmp/out1"; ok $? "the summary table is printed with n+ of W0"

m=$(mark); mk pipeline > "$tmp/out2" 2>&1
is "$(ran "$m")" "" "second run: no stage runs"
grep -q "dsah-\(ingest\|train\|graph\)" "$tmp/out2"; ok $((!$?)) "second run: make prints no stage command"

# parameter changes rerun exactly the listed stages
R="runs/dsah-b16"
change() { # $1: SET text, $2: expected ids
  local m; m=$(mark); mk pipeline SET="$1" > "$tmp/outc" 2>&1 || { ok 1 "make pipeline SET=$1"; sed 's/^/#   /' "$tmp/outc"; return; }
  is "$(ran "$m" | tr '\n' ' ')" "$2" "changing '$1' reruns exactly the expected stages"
}
change "train.gamma=0.25" "$R/codes/db $R/codes/query $R/eval $R/round1/and $R/round2/and $R/round2/encode $R/round2/train $R/round3/train "
all_rounds="$R/codes/db $R/codes/query $R/eval $R/round1/and $R/round1/encode $R/round1/train $R/round2/and $R/round2/encode $R/round2/train $R/round3/train "
change "train.gamma=0.25 train.tau=2" "$all_rounds"
change "train.gamma=0.25 train.tau=2 train.lambda=1" "$all_rounds"
change "train.gamma=0.25 train.tau=2 train.lambda=1 train.lr=0.01" "$all_rounds"
S="train.gamma=0.25 train.tau=2 train.lambda=1 train.lr=0.01"
change "$S graph.k1=12" "graph/graph $all_rounds"
change "$S graph.k1=12 eval.topk=[100,1000]" "baselines/itq-b16/eval baselines/lsh-b16/eval $R/eval "
S="$S graph.k1=12 eval.topk=[100,1000]"
change "$S train.device=cpu" ""
# train.precision is stamped (bf16 changes results beyond float rounding):
# it reruns the training and encoding of every round, and what follows them
change "$S train.device=cpu train.precision=tf32" "$all_rounds"

# an edit of the YAML file itself: gamma back in the file, the rest reverted
sed -i 's/gamma: 0.5/gamma: 0.75/' "$tmp/p.yaml"
change "" "baselines/itq-b16/eval baselines/lsh-b16/eval graph/graph $all_rounds"

# make -n shows what would run and runs nothing
touch "$W/graph/params.graph"
m=$(mark); mk -n pipeline > "$tmp/outn" 2>&1
grep -q "dsah-graph --features" "$tmp/outn" && grep -q "dsah-train" "$tmp/outn"; ok $? "make -n pipeline shows the stale stages"
is "$(ran "$m")" "" "make -n pipeline runs no stage"
mk pipeline > /dev/null 2>&1

# one stage alone, by name and by artifact path
m=$(mark); mk stage STAGE=graph > "$tmp/outs" 2>&1; ok $? "make stage STAGE=graph"
is "$(ran "$m" | tr '\n' ' ')" "graph/graph " "make stage STAGE=graph runs the graph alone"
m=$(mark); mk stage STAGE="$W/$R/round2/model.safetensors" > "$tmp/outs" 2>&1
is "$(ran "$m" | tr '\n' ' ')" "$R/round2/train " "make stage STAGE=<artifact> runs its stage alone"
mk pipeline > /dev/null 2>&1

# kill -9 in the middle of a training round, then make pipeline
cp -r "$W" "$tmp/ref"   # the uninterrupted result
rm -rf "$W/runs"
m0=$(mark)
( export FAKE_TRAIN_SLEEP=3; exec setsid make -s -C "$repo" --no-print-directory pipeline PIPELINE="$tmp/p.yaml" WORK="$tmp/work" STAGE_BIN="$fake" BIN="$bin" > "$tmp/outk" 2>&1 ) &
bgpid=$!
for i in $(seq 1 150); do ran "$m0" | grep -q "round2/train" && break; sleep 0.1; done
sleep 1
kill -9 -- "-$bgpid" 2>/dev/null
wait "$bgpid" 2>/dev/null
test -f "$W/$R/round2/train.jsonl" && ! test -f "$W/$R/round2/model.safetensors"; ok $? "killed mid round 2: its log exists, its model does not"
m2=$(mark); mk pipeline > "$tmp/outr" 2>&1; ok $? "make pipeline after kill -9 finishes"
is "$(ran "$m2" | grep -c round1/train)" "0" "the finished round 1 is not redone"
ran "$m2" | grep -q "^$R/round2/train"; ok $? "the killed round 2 is redone"
diff -r -x '*.tmp.*' "$W/runs" "$tmp/ref/runs" > "$tmp/diffk"; ok $? "the result equals the uninterrupted run's"; sed 's/^/#   /' "$tmp/diffk" | head
ls "$W/$R/round2/" | grep -q '\.tmp\.'; ok $((!$?)) "no temporary left behind"

# sweep: 2x2 gamma x tau with JOBS=2
m=$(mark); mk sweep JOBS=2 > "$tmp/outsw" 2>&1; ok $? "make sweep JOBS=2"
is "$(ran "$m" | grep -c '/eval$')" "4" "four sweep runs evaluated"
is "$(ran "$m" | grep -c 'graph/graph')" "0" "the sweep reuses the pipeline's W0"
is "$(ls "$W/sweep" | tr '\n' ' ')" "g0-t0.5-b16 g0-t1-b16 g1-t0.5-b16 g1-t1-b16 " "one run directory per grid point"
is "$(($(wc -l < "$W/results.csv") - 1))" "4" "results.csv has four rows"
bad=0
while IFS=, read -r kind label rest; do
  [ "$kind" = kind ] && continue
  exp=$(jq -r '[.["mAP@100"], .["mAP@5000"], .["P@10"], .["P@100"]] | map(tostring) | join(",")' "$W/sweep/$label/eval/metrics.json")
  got=$(awk -F, -v l="$label" 'NR==1 { for (i=1;i<=NF;i++) c[$i]=i } $2==l { print $c["mAP@100"]","$c["mAP@5000"]","$c["P@10"]","$c["P@100"] }' "$W/results.csv")
  [ "$exp" = "$got" ] || { bad=1; echo "#   $label: csv $got, metrics.json $exp"; }
done < "$W/results.csv"
ok $bad "results.csv values equal each run's metrics.json"
grep -q 'g1-t0.5-b16' "$W/results.md"; ok $? "results.md written"
# a fresh sweep from scratch builds ingest and W0 once for the four runs
mk sweep JOBS=2 WORK="$tmp/work2" SET="eval.topk=[100,5000]" > "$tmp/outsw2" 2>&1; ok $? "a sweep from scratch"
is "$(grep -c 'graph/graph' "$tmp/work2/tp/stages.log")" "1" "a sweep from scratch: one W0 build for four runs"
is "$(grep -c 'data/ingest' "$tmp/work2/tp/stages.log")" "1" "a sweep from scratch: one ingest"
test -s "$tmp/work2/tp/heatmap-b16.png" && grep -q '<svg' "$tmp/work2/tp/heatmap-b16.svg"; ok $? "gamma x tau heatmap of mAP@5000 as PNG and SVG"
# GAMMA/TAU on the command line replace the grid
mk sweep JOBS=2 GAMMA="0.5" TAU="0.5 2" > "$tmp/outsw3" 2>&1
is "$(awk -F, 'NR>1{print $2}' "$W/results.csv" | tr '\n' ' ')" "g0.5-t0.5-b16 g0.5-t2-b16 " "GAMMA= TAU= set the grid"

# table
mk table > "$tmp/outt" 2>&1; ok $? "make table"
grep -q '| DSAH-PIC0 |' "$W/table.md" && grep -q '| DSAH-noAND |' "$W/table.md" && grep -q '| lsh |' "$W/table.md"; ok $? "table.md has DSAH, the ablations and the baselines"
head -1 "$W/table-fit.md" | grep -q '^| method | fit s 16 bits |' && grep -q '^| lsh | NA |' "$W/table-fit.md"; ok $? "table-fit.md: a fit-time row per method (NA where the stand-in stages wrote no times)"
test -s "$W/pr-b16.png" && grep -q '<svg' "$W/pn-b16.svg"; ok $? "PR and P@N plots written"
grep -q -- "--pic 'none'" "$W/plan.mk"; ok $? "PIC0 ablation trains with --pic none"

# a stage not built yet: the pipeline runs what it can
mkdir -p "$tmp/partial"; for s in ingest features graph eval baseline; do ln -s "$fake/stage" "$tmp/partial/dsah-$s"; done
make -s -C "$repo" --no-print-directory pipeline PIPELINE="$tmp/p.yaml" WORK="$tmp/work3" STAGE_BIN="$tmp/partial" BIN="$bin" > "$tmp/outp" 2>&1; ok $? "pipeline without train/encode/and runs"
test -f "$tmp/work3/tp/baselines/lsh-b16/eval/metrics.json" && test -f "$tmp/work3/tp/graph/w0.npy" && ! ls "$tmp"/work3/tp/runs/*/round1/model.safetensors > /dev/null 2>&1; ok $? "baselines and graph done, DSAH runs left out"
grep -q "dsah-train is not built" "$tmp/outp"; ok $? "the missing stage is named"

# the READMEs' key and flag references are the generated ones
(cd "$repo" && docs/gen-reference.sh "$bin" --check) 2> "$tmp/docs.err"
ok $? "pipelines/README.md and stages/README.md end with the references generated from the tables $(head -c 200 "$tmp/docs.err")"
# every citation of the design contract points into docs/DESIGN.md, at a section it has
cites=$(cd "$repo" && grep -rn "DESIGN\.md" common stages tests kernels pipelines README.md 2>/dev/null | grep -v "^tests/t_plan.t:")
nodocs=$(printf '%s\n' "$cites" | grep -v "docs/DESIGN\.md" | grep -v '^$')
missing=$(cd "$repo" && grep -rhoE "§[A-Z][a-z]+" common stages tests kernels pipelines README.md 2>/dev/null | sort -u |
  while read -r sec; do grep -q "^## $sec\$" docs/DESIGN.md || echo "$sec"; done)
[ -n "$cites" ] && [ -z "$nodocs" ] && [ -z "$missing" ]
ok $? "DESIGN.md is cited as docs/DESIGN.md with sections it has: ${nodocs:0:150} ${missing:0:80}"

# a bad YAML fails in dsah-plan, before anything runs
printf 'name: bad\ndataset: {source: mnist, path: %s, query_per_class: 5, train_per_class: 20}\ntrain: {gama: 1}\n' "$tmp/data" > "$tmp/bad.yaml"
make -s -C "$repo" --no-print-directory pipeline PIPELINE="$tmp/bad.yaml" WORK="$tmp/work4" STAGE_BIN="$fake" BIN="$bin" > "$tmp/outb" 2>&1
rc=$?
[ $rc != 0 ] && grep -q "bad.yaml:3: train.gama: unknown key; did you mean 'train.gamma'?" "$tmp/outb" && ! test -e "$tmp/work4/bad/stages.log"; ok $? "unknown key: make pipeline fails naming file, line, key; no stage ran"
printf 'name: x; touch %s/pwned\ndataset: {source: mnist, path: %s, query_per_class: 5, train_per_class: 20}\n' "$tmp" "$tmp/data" > "$tmp/evil.yaml"
make -s -C "$repo" --no-print-directory pipeline PIPELINE="$tmp/evil.yaml" WORK="$tmp/work4" STAGE_BIN="$fake" BIN="$bin" > "$tmp/oute" 2>&1
[ $? != 0 ] && ! test -e "$tmp/pwned" && grep -q "evil.yaml:1: name:" "$tmp/oute"; ok $? "a name with shell syntax is rejected and runs nothing"
printf 'dataset: {source: mnist, path: "$(touch %s/pwned2)", query_per_class: 5, train_per_class: 20}\n' "$tmp" > "$tmp/evil2.yaml"
make -s -C "$repo" --no-print-directory pipeline PIPELINE="$tmp/evil2.yaml" WORK="$tmp/work4" STAGE_BIN="$fake" BIN="$bin" > "$tmp/oute2" 2>&1
[ $? != 0 ] && ! test -e "$tmp/pwned2" && grep -q "evil2.yaml:1: dataset.path:" "$tmp/oute2"; ok $? "a path with \$(...) is rejected and runs nothing"
make -s -C "$repo" --no-print-directory pipeline PIPELINE="$tmp/p.yaml" WORK="$tmp/work4" STAGE_BIN="$fake" BIN="$bin" SET='name=$(touch '"$tmp"'/pwned3)' > "$tmp/oute3" 2>&1
[ $? != 0 ] && ! test -e "$tmp/pwned3"; ok $? "SET with \$(...) on the command line is rejected and runs nothing"

# SSDH: one dsah-ssdh on the graph's training features, then per length one
# training with --loss ssdh against its w.npy and mask.npy, encoded and evaluated
printf 'name: sd\ndataset: {source: mnist, path: %s, query_per_class: 5, train_per_class: 20}\ntrain: {bits: [16, 32]}\neval: {baselines: [lsh, ssdh, greedyhash]}\n' "$tmp/data" > "$tmp/sd.yaml"
"$bin/dsah-plan" -q --config "$tmp/sd.yaml" --work "$tmp/work6" --bin "$bin" > /dev/null
pm="$tmp/work6/sd/plan.mk"
grep -q "dsah-ssdh --features '$tmp/work6/sd/features/pixels_train.npy' --alpha '2' --beta '0'" "$pm" \
  && grep -q "dsah-train .*--w '$tmp/work6/sd/ssdh/w.npy' .*--epochs '30' .*--loss 'ssdh' --mask '$tmp/work6/sd/ssdh/mask.npy' .*--out '$tmp/work6/sd/runs/ssdh-b32/round1/'" "$pm" \
  && ! grep -q "runs/ssdh-b16/round2" "$pm" && grep -q "runs/ssdh-b16/eval/metrics.json" "$pm" \
  && grep -q "^main	ssdh	32	-	-	$tmp/work6/sd/runs/ssdh-b32\$" "$tmp/work6/sd/index.tsv"
ok $? "ssdh: dsah-ssdh on the training features, one --loss ssdh round per length against its S, evaluated, in index.tsv"
grep -q "dsah-train .*--arch .*--epochs '30' .*--loss 'greedyhash' --features '$tmp/work6/sd/features/pixels_train.npy' --gh-alpha '0.1' .*--out '$tmp/work6/sd/runs/greedyhash-b16/round1/'" "$pm" \
  && ! grep "runs/greedyhash-b16/round1/" "$pm" | grep -q -- "--w '" && grep -q "runs/greedyhash-b32/eval/metrics.json" "$pm" \
  && grep -q "^main	greedyhash	16	-	-	$tmp/work6/sd/runs/greedyhash-b16\$" "$tmp/work6/sd/index.tsv"
ok $? "greedyhash: one --loss greedyhash round per length on the training features, no W, evaluated, in index.tsv"
# make report runs every run directory as a GNU parallel unit with its share
# of the threads; SSDH's runs too: their shared S is made with the upstream
units=$(sed -n 's/^REPORT_UNITS := *//p' "$pm")
up=$(grep '^report-upstream:' "$pm")
case " $units " in *" runs+ssdh-b16 "*" runs+ssdh-b32 "*) r=0 ;; *) r=1 ;; esac
[ $r = 0 ] && case " $units " in *" runs+greedyhash-b16 "*) true ;; *) false ;; esac \
  && case "$up" in *"$tmp/work6/sd/ssdh/done.ssdh"*) true ;; *) false ;; esac
ok $? "report: SSDH's and GreedyHash's runs are parallel units; SSDH's S is in report-upstream"

# baseline settings that cannot work fail at plan time, naming the key
badbl() { # label, expected message, extra YAML
  printf 'name: bl\ndataset: {source: mnist, path: %s, query_per_class: 5, train_per_class: 20}\n%s\n' "$tmp/data" "$3" > "$tmp/bl.yaml"
  make -s -C "$repo" --no-print-directory pipeline PIPELINE="$tmp/bl.yaml" WORK="$tmp/work5" STAGE_BIN="$fake" BIN="$bin" > "$tmp/outbl" 2>&1
  local rc=$?
  [ $rc != 0 ] && grep -qF "$2" "$tmp/outbl" && ! test -e "$tmp/work5/bl/stages.log"; ok $? "$1: fails at plan time: $(grep -m1 error "$tmp/outbl" | head -c 150)"
}
badbl "agh anchors >= n" "eval.agh_anchors 300: agh1 needs fewer anchors than the 200 training rows" \
  "eval: {baselines: [agh1]}"
badbl "agh2 bits/2 >= anchors" "train.bits 64: agh2 needs 32 eigenvectors of the anchor graph, more than eval.agh_anchors 20 - 1" \
  "train: {bits: [16, 64]}
eval: {baselines: [agh2], agh_anchors: 20}"
badbl "sp bits > pixel dimension" "train.bits 1024: sp needs bits <= the feature dimension 784" \
  "train: {bits: [1024]}
eval: {baselines: [sp]}"
badbl "agh nearest > anchors" "eval.agh_nearest 50: must be <= eval.agh_anchors 40" \
  "eval: {baselines: [agh1], agh_anchors: 40, agh_nearest: 50}"
badbl "sp density 0" "bl.yaml:3: eval.sp_density: 0: must be in (0, 1] (dsah-baseline --density)" \
  "eval: {baselines: [sp], sp_density: 0}"

# the frozen prefix (nn/prefix.h): vgg19 from weights with finetune fc plans
# features/vgg19_pool5_<split> for query and db only; the training split (a
# subset of db) reads db's cache through --prefix-indices data/db.npy, so no
# image runs through the convolutions twice; every training, encode and relu7
# rule reads a cache (GreedyHash's the relu7 features: below); its stamp holds
# weights, layer and input, not tau
pw=$tmp/prefixwork
"$bin/dsah-plan" --config "$repo/pipelines/cifar10.yaml" --set train.finetune=fc --work "$pw" > /dev/null 2>&1
pm=$pw/cifar10/plan.mk
d5="$pw/cifar10/features/vgg19_pool5_db.npy"; dbix="$pw/cifar10/data/db.npy"
is "$(ls "$pw/cifar10/features" | grep pool5 | tr '\n' ' ')" "params.vgg19_pool5_db params.vgg19_pool5_query " "finetune fc: pool5 stages for query and db only"
is "$(grep -c "vgg19_pool5_train" "$pm")" "0" "no vgg19_pool5_train rule, input or target: the training images are not convolved again"
nt=$(grep "dsah-train " "$pm" | grep -vc "/runs/greedyhash-"); ne=$(grep "dsah-encode " "$pm" | grep -vc "/runs/greedyhash-")
is "$nt $(grep "dsah-train " "$pm" | grep -v "/runs/greedyhash-" | grep -c -- "--prefix-cache '$d5' --prefix-indices '$dbix' --prefix-layer 'pool5'")" "$nt $nt" "every training but GreedyHash's ($nt) reads db's pool5 cache through --prefix-indices data/db.npy"
nr=$(grep "/done\.train:" "$pm" | grep -vc "/runs/greedyhash-")
is "$nr $(grep "/done\.train:" "$pm" | grep -v "/runs/greedyhash-" | grep -c -- " $pw/cifar10/features/done\.vgg19_pool5_db ")" "$nr $nr" "every training rule but GreedyHash's ($nr) depends on db's pool5 stage"
is "$ne $(grep "dsah-encode " "$pm" | grep -v "/runs/greedyhash-" | grep -c -- "--prefix-cache '$pw/cifar10/features/vgg19_pool5_.*.npy' .*--prefix-layer 'pool5'")" "$ne $ne" "every encode but GreedyHash's ($ne) reads a pool5 cache"
net=$(grep "dsah-encode " "$pm" | grep -c -- "--indices '$pw/cifar10/data/train.npy'")
is "$net $(grep "dsah-encode " "$pm" | grep -- "--indices '$pw/cifar10/data/train.npy'" | grep -c -- "--prefix-cache '$d5' --prefix-indices '$dbix' --prefix-layer")" "$net $net" "every encode of the training split ($net: AND's inputs, the report's pairs) reads db's cache through the map"
[ "$net" -gt 0 ] && ! grep "dsah-encode " "$pm" | grep -v -- "--indices '$pw/cifar10/data/train.npy'" | grep -q -- "--prefix-indices"; ok $? "encodes of query and db read their own caches, with no --prefix-indices"
[ "$nt" -gt 0 ] && [ "$ne" -gt 0 ]; ok $? "the plan has trainings and encodes"
grep -q "dsah-features .*--indices '$pw/cifar10/data/query.npy' .*--prefix-cache '$pw/cifar10/features/vgg19_pool5_query.npy' --prefix-layer" "$pm"; ok $? "relu7 features of query come from its pool5 cache"
grep -q "dsah-features .*--indices '$pw/cifar10/data/train.npy' .*--prefix-cache '$d5' --prefix-indices '$dbix' --prefix-layer 'pool5' .*--out '$pw/cifar10/features/vgg19_train.npy'" "$pm"; ok $? "relu7 features of train come from db's pool5 cache through the map"
is "$(grep -x -- "--layer pool5\|--weights weights/vgg19.tv_in1k.safetensors\|--input 224" "$pw/cifar10/features/params.vgg19_pool5_db" | wc -l)" "3" "the prefix stamp holds weights, layer and input"
touch -d '2000-01-01' "$pw"/cifar10/features/params.* "$pw/cifar10/runs/dsah-b16/round1/params.train"
"$bin/dsah-plan" --config "$repo/pipelines/cifar10.yaml" --set train.finetune=fc --set train.tau=3 --work "$pw" > /dev/null 2>&1
is "$(find "$pw/cifar10/features" -name 'params.*' ! -newermt '2000-01-02' | wc -l)" "5" "changing tau rewrites no features or prefix stamp"
[ "$pw/cifar10/runs/dsah-b16/round1/params.train" -nt "$pw/cifar10/features/params.vgg19_pool5_db" ]; ok $? "changing tau rewrites the training stamp"
"$bin/dsah-plan" --config "$repo/pipelines/cifar10.yaml" --set train.finetune=head --work "$tmp/prefixhead" > /dev/null 2>&1
is "$(ls "$tmp/prefixhead/cifar10/features" | grep relu6 | tr '\n' ' ')" "params.vgg19_relu6_db params.vgg19_relu6_query " "finetune head: the prefix stops before dropout, relu6, for query and db"
"$bin/dsah-plan" --config "$repo/pipelines/cifar10.yaml" --work "$tmp/prefixall" > /dev/null 2>&1
is "$(grep -v "/runs/greedyhash-" "$tmp/prefixall/cifar10/plan.mk" | grep -c -- "--prefix-cache\|--layer")" "0" "finetune all: no prefix (GreedyHash's head reads the relu7 features, below)"

# GreedyHash's head (eval.greedyhash_finetune, default head; docs/baselines.md):
# with vgg19 from network.weights only the hash head trains, the frozen
# network in eval mode (--frozen-eval), on the relu7 features, which are the
# prefix cache of its training and encodes (computed from the pool5 caches);
# nothing of GreedyHash reads a pool5 cache or runs fc6/fc7
F=$pw/cifar10/features; G=$pw/cifar10/runs/greedyhash-b64
ng=$(grep "dsah-train .*/runs/greedyhash-" "$pm" | sort -u | wc -l)
is "$ng $(grep "dsah-train .*/runs/greedyhash-" "$pm" | sort -u | grep -c -- "--loss 'greedyhash' --features '$F/vgg19_train.npy' --gh-alpha '0.1' --finetune 'head' --frozen-eval --seed '0' --prefix-cache '$F/vgg19_train.npy' --prefix-layer 'relu7' --out '$pw/cifar10/runs/greedyhash-b[0-9]*/round1/'")" "4 4" \
  "GreedyHash's head: each of its 4 trainings trains the head with frozen eval on the relu7 features"
grep -qxF "$G/round1/done.train: $pw/cifar10/data/done.ingest $F/done.vgg19_train $G/round1/params.train" "$pm"
ok $? "GreedyHash's head: its training depends on the images and the training split's relu7 features only"
grep -qF -- "--indices '$pw/cifar10/data/query.npy' --prefix-cache '$F/vgg19_query.npy' --prefix-layer 'relu7' --out '$G/codes/query.npy'" "$pm" \
  && grep -qF -- "--indices '$pw/cifar10/data/db.npy' --prefix-cache '$F/vgg19_db.npy' --prefix-layer 'relu7' --out '$G/codes/db.npy'" "$pm"
ok $? "GreedyHash's head: query and db are encoded from their relu7 features"
is "$(grep "dsah-[a-z]* .*/runs/greedyhash-" "$pm" | grep -c "pool5\|--prefix-indices")" "0" "GreedyHash's head: no rule of it reads a pool5 cache"
grep -q "dsah-features .*--indices '$pw/cifar10/data/db.npy' .*--prefix-cache '$F/vgg19_pool5_db.npy' --prefix-layer 'pool5' .*--out '$F/vgg19_db.npy'" "$pm"
ok $? "relu7 features of db come from its pool5 cache"
# network: today's plan (train.finetune of DSAH's network from the pool5
# cache); the two plans differ in GreedyHash's rules only, and switching
# rewrites no stamp but GreedyHash's (its trainings and encodes)
gn=$tmp/ghnet gh=$tmp/ghhead
"$bin/dsah-plan" --config "$repo/pipelines/cifar10.yaml" --set train.finetune=fc --set eval.greedyhash_finetune=network --work "$gn" > /dev/null 2>&1
"$bin/dsah-plan" --config "$repo/pipelines/cifar10.yaml" --set train.finetune=fc --work "$gh" > /dev/null 2>&1
Fn=$gn/cifar10/features
grep -qF -- "--loss 'greedyhash' --features '$Fn/vgg19_train.npy' --gh-alpha '0.1' --finetune 'fc' --seed '0' --prefix-cache '$Fn/vgg19_pool5_db.npy' --prefix-indices '$gn/cifar10/data/db.npy' --prefix-layer 'pool5' --out '$gn/cifar10/runs/greedyhash-b64/round1/'" "$gn/cifar10/plan.mk" \
  && grep -qF -- "--indices '$gn/cifar10/data/query.npy' --prefix-cache '$Fn/vgg19_pool5_query.npy' --prefix-layer 'pool5' --out '$gn/cifar10/runs/greedyhash-b64/codes/query.npy'" "$gn/cifar10/plan.mk" \
  && ! grep -q -- "--frozen-eval" "$gn/cifar10/plan.mk"
ok $? "eval.greedyhash_finetune network: GreedyHash trains finetune fc from db's pool5 cache, encodes from pool5, no --frozen-eval"
dl=$(diff <(sed "s|$gh/|W/|g" "$gh/cifar10/plan.mk") <(sed "s|$gn/|W/|g" "$gn/cifar10/plan.mk") | grep '^[<>]')
is "$(grep -vc "/runs/greedyhash-" <<< "$dl") $(grep -c "/runs/greedyhash-" <<< "$dl")" "0 $(grep -c "/runs/greedyhash-" <<< "$dl" | sed 's/^0$/some/')" \
  "head and network plans differ only in lines of GreedyHash's rules ($(grep -c "/runs/greedyhash-" <<< "$dl") lines)"
touch -d '2000-01-01' $(find "$gn/cifar10" -name 'params.*')
"$bin/dsah-plan" --config "$repo/pipelines/cifar10.yaml" --set train.finetune=fc --work "$gn" > /dev/null 2>&1
nnew=$(find "$gn/cifar10" -name 'params.*' -newermt '2000-01-02' | wc -l)
is "$nnew $(find "$gn/cifar10" -name 'params.*' -newermt '2000-01-02' | grep -c "/runs/greedyhash-b[0-9]*/\(round1/params.train\|codes/params.encode-\(query\|db\)\)$")" "12 12" \
  "network -> head rewrites exactly GreedyHash's 4 training and 8 encode stamps"
# features.* other than the network's (here pixels): the head's relu7 caches
# are their own, written for query and db from network.weights and their
# pool5 caches; the training split reads db's through --prefix-indices
gp=$tmp/ghpix; Fp=$gp/cifar10/features
"$bin/dsah-plan" --config "$repo/pipelines/cifar10.yaml" --set train.finetune=fc --set features.extractor=pixels --work "$gp" > /dev/null 2>&1
grep -qF "dsah-features --images '$gp/cifar10/data/images.npy' --indices '$gp/cifar10/data/db.npy' --extractor 'vgg19' --weights 'weights/vgg19.tv_in1k.safetensors' --input '224' --layer 'relu7' --prefix-cache '$Fp/vgg19_pool5_db.npy' --prefix-layer 'pool5' --batch '100' --out '$Fp/vgg19_relu7_db.npy'" "$gp/cifar10/plan.mk" \
  && grep -qF -- "--loss 'greedyhash' --features '$Fp/pixels_train.npy' --gh-alpha '0.1' --finetune 'head' --frozen-eval --seed '0' --prefix-cache '$Fp/vgg19_relu7_db.npy' --prefix-indices '$gp/cifar10/data/db.npy' --prefix-layer 'relu7' --out '$gp/cifar10/runs/greedyhash-b64/round1/'" "$gp/cifar10/plan.mk" \
  && grep -qF -- "--indices '$gp/cifar10/data/query.npy' --prefix-cache '$Fp/vgg19_relu7_query.npy' --prefix-layer 'relu7' --out" "$gp/cifar10/plan.mk"
ok $? "pixel features: GreedyHash's head reads vgg19_relu7_{query,db} (from the pool5 caches), train through db's"
is "$(ls "$Fp" | grep -c "^params.vgg19_relu7_\(query\|db\)$") $(ls "$Fp" | grep -c relu7_train)" "2 0" "pixel features: relu7 caches for query and db only"
# features.cache_dtype (nn/prefix.h): f4, the default, leaves the plan and
# every stamp byte for byte as without the key; f2 adds --dtype 'f2' after
# --layer to the prefix cache rules only (pool5 of query and db, and here,
# with pixel features, the head's relu7 caches), never to the relu7
# features; switching f4 -> f2 rewrites the caches' stamps only (what reads
# a cache reruns because its input changed)
dt=$tmp/dtype
"$bin/dsah-plan" --config "$repo/pipelines/cifar10.yaml" --set train.finetune=fc --set features.extractor=pixels --set features.cache_dtype=f4 --work "$dt" > /dev/null 2>&1
cmp -s <(sed "s|$dt/|W/|g" "$dt/cifar10/plan.mk") <(sed "s|$gp/|W/|g" "$gp/cifar10/plan.mk"); ok $? "features.cache_dtype f4: the plan byte-identical to the one without the key"
st4=$(cd "$dt" && find cifar10 -name 'params.*' | sort); stp=$(cd "$gp" && find cifar10 -name 'params.*' | sort)
same=1; for f in $st4; do cmp -s <(sed "s|$dt/|W/|g" "$dt/$f") <(sed "s|$gp/|W/|g" "$gp/$f") || same=0; done
[ "$st4" = "$stp" ] && [ $same = 1 ] && [ -n "$st4" ]; ok $? "features.cache_dtype f4: the same $(wc -w <<< "$st4") stamps, byte for byte"
touch -d '2000-01-01' $(find "$dt/cifar10" -name 'params.*')
"$bin/dsah-plan" --config "$repo/pipelines/cifar10.yaml" --set train.finetune=fc --set features.extractor=pixels --set features.cache_dtype=f2 --work "$dt" > /dev/null 2>&1
dm=$dt/cifar10/plan.mk; Fd=$dt/cifar10/features
is "$(find "$dt/cifar10" -name 'params.*' -newermt '2000-01-02' | sed "s|$Fd/||" | sort | tr '\n' ' ')" "params.vgg19_pool5_db params.vgg19_pool5_query params.vgg19_relu7_db params.vgg19_relu7_query " \
  "f4 -> f2 rewrites the 4 cache stamps only"
is "$(grep -- "--dtype" "$dm" | sort -u | wc -l) $(grep -x -- "--dtype f2" "$Fd"/params.* | wc -l)" "4 4" "f2: --dtype in the 4 cache rules' commands and their stamps"
grep -qF "dsah-features --images '$dt/cifar10/data/images.npy' --indices '$dt/cifar10/data/db.npy' --extractor 'vgg19' --weights 'weights/vgg19.tv_in1k.safetensors' --input '224' --layer 'pool5' --dtype 'f2' --batch '100' --out '$Fd/vgg19_pool5_db.npy'" "$dm" \
  && grep -qF "dsah-features --images '$dt/cifar10/data/images.npy' --indices '$dt/cifar10/data/query.npy' --extractor 'vgg19' --weights 'weights/vgg19.tv_in1k.safetensors' --input '224' --layer 'relu7' --dtype 'f2' --prefix-cache '$Fd/vgg19_pool5_query.npy' --prefix-layer 'pool5' --batch '100' --out '$Fd/vgg19_relu7_query.npy'" "$dm"
ok $? "f2: the pool5 and relu7 cache commands, exactly"
cmp -s <(sed "s|$dt/|W/|g; s| --dtype 'f2'||" "$dm") <(sed "s|$gp/|W/|g" "$gp/cifar10/plan.mk"); ok $? "f2: the plan is f4's with --dtype 'f2' added, nothing else"
# with vgg19 features (the network's): the relu7 features stay f4
"$bin/dsah-plan" --config "$repo/pipelines/cifar10.yaml" --set train.finetune=fc --set features.cache_dtype=f2 --work "$tmp/dtv" > /dev/null 2>&1
is "$(grep -- "--dtype" "$tmp/dtv/cifar10/plan.mk" | grep -o -- "--layer '[a-z0-9]*' --dtype 'f2' .*--out '[^']*'" | sed "s|.*--out '$tmp/dtv/cifar10/features/||; s|'\$||" | sort -u | tr '\n' ' ')" "vgg19_pool5_db.npy vgg19_pool5_query.npy " \
  "vgg19 features: --dtype f2 on the pool5 caches only, the relu7 features (which the graph reads) stay f4"
"$bin/dsah-plan" --config "$repo/pipelines/cifar10.yaml" --set features.cache_dtype=f8 --work "$tmp/dtbad" > "$tmp/dtbad.out" 2>&1
[ $? != 0 ] && grep -qF "features.cache_dtype: f8: " "$tmp/dtbad.out" && grep -qF "(dsah-features --dtype)" "$tmp/dtbad.out"; ok $? "features.cache_dtype f8: refused naming the key and the flag: $(head -c 150 "$tmp/dtbad.out")"

# a list network (the smoke and Fashion-MNIST setting): nothing pretrained to
# freeze, head trains as network: the same plan, byte for byte
"$bin/dsah-plan" -q --config "$tmp/sd.yaml" --work "$tmp/work6n" --bin "$bin" --set eval.greedyhash_finetune=network > /dev/null
cmp -s <(sed "s|$tmp/work6/|W/|g" "$tmp/work6/sd/plan.mk") <(sed "s|$tmp/work6n/|W/|g" "$tmp/work6n/sd/plan.mk")
ok $? "list network: the plan with eval.greedyhash_finetune head = with network"

done_testing
