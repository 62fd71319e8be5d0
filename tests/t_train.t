#!/bin/bash
# t_train.t: dsah-train and dsah-encode as Make runs them: a run killed with
# kill -9 mid-round and rerun resumes from its checkpoint to byte-identical
# model bytes; round 2 continues from round 1; encode's packed codes are the
# signs of its --real output; bad inputs fail with one line and leave nothing.
set -u
. "$(dirname "$0")/lib.sh"
BIN=${DSAH_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# Fixture: 1000 random 28x28 grey images, train = all, W from i mod 3.
perl -e '
sub npy { my ($p,$d,$s,$x)=@_; my $h="{\x27descr\x27: \x27$d\x27, \x27fortran_order\x27: False, \x27shape\x27: $s, }";
  my $t=10+length($h)+1; $h .= " " x ((64 - $t % 64) % 64) . "\n";
  open(my $f, ">", $p) or die; binmode $f; print $f "\x93NUMPY\x01\x00", pack("v", length $h), $h, $x; close $f }
srand(1); my $N=1000;
npy("$ARGV[0]/images.npy", "|u1", "($N, 28, 28, 1)", pack("C*", map { int(rand(256)) } 1..$N*784));
npy("$ARGV[0]/train.npy", "<i8", "($N,)", pack("q<*", 0..$N-1));
my $w=""; for my $i (0..$N-1) { my $r="\0" x 125; for my $j (0..$N-1) { vec($r,$j,1)=1 if $i%3==$j%3 } $w.=$r }
npy("$ARGV[0]/w.npy", "|u1", "($N, 125)", $w);
npy("$ARGV[0]/w_bad.npy", "|u1", "(999, 125)", substr($w,0,999*125));
' "$T"

ARGS=(--images "$T/images.npy" --indices "$T/train.npy" --w "$T/w.npy" --arch conv3-16,pool,fc-64,dropout-0.5
      --input 28 --bits 16 --epochs 6 --batch 50 --lr 1e-3 --seed 5 --threads 2 -q)
"$BIN/dsah-train" "${ARGS[@]}" --out "$T/A" 2>"$T/A.err"
ok $? "uninterrupted run exits 0"
[ -s "$T/A/model.safetensors" ] && [ -s "$T/A/optim.safetensors" ] && [ ! -e "$T/A/checkpoint.safetensors" ] \
  && [ "$(wc -l < "$T/A/train.jsonl")" = 6 ]
ok $? "model, optim state and 6 train.jsonl lines written; checkpoint removed"
grep -q '"epoch": 6, "loss": [0-9.e+-]*, "pair": [0-9.e+-]*, "quant": [0-9.e+-]*, "lambda": 0, "seconds": [0-9.]*, "img_per_s": [0-9.]*, "lr": [0-9.e+-]*, "step": 120}' "$T/A/train.jsonl"
ok $? "train.jsonl line: epoch, loss, pair, quant, seconds, img/s, lr, step (6 x 20 steps)"

# Killed mid-round: wait for the first checkpoint, kill -9, rerun.
"$BIN/dsah-train" "${ARGS[@]}" --out "$T/B" 2>/dev/null &
pid=$!
for i in $(seq 1 3000); do [ -e "$T/B/checkpoint.safetensors" ] && break; sleep 0.01; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
[ -e "$T/B/checkpoint.safetensors" ] && [ ! -e "$T/B/model.safetensors" ]
ok $? "killed with -9 after a checkpoint and before the end (no model yet)"
mkdir -p "$T/C" && cp "$T/B/checkpoint.safetensors" "$T/C/"
"$BIN/dsah-train" "${ARGS[@]:0:${#ARGS[@]}-1}" --out "$T/B" 2>"$T/B.err"
ok $? "rerun exits 0"
grep -q "resuming from .*checkpoint.safetensors after epoch [1-5]" "$T/B.err"
ok $? "rerun resumed from the checkpoint ($(grep -o 'after epoch [0-9]*' "$T/B.err"))"
cmp -s "$T/A/model.safetensors" "$T/B/model.safetensors"
ok $? "resumed model is byte-identical to the uninterrupted run's"
cmp -s "$T/A/optim.safetensors" "$T/B/optim.safetensors"
ok $? "resumed Adam state is byte-identical too"
[ "$(cut -d, -f1-4 "$T/A/train.jsonl")" = "$(cut -d, -f1-4 "$T/B/train.jsonl")" ]
ok $? "train.jsonl epochs and losses identical after resume"

# A checkpoint of other settings is refused.
"$BIN/dsah-train" "${ARGS[@]}" --lr 2e-3 --out "$T/C" 2>"$T/C.err"
[ $? -ne 0 ] && grep -q "^dsah-train: error: .*checkpoint of a run with other settings" "$T/C.err" && [ ! -e "$T/C/model.safetensors" ]
ok $? "checkpoint of other settings refused: $(head -1 "$T/C.err")"

# Round 2: from round 1's model and Adam state; the step count continues.
"$BIN/dsah-train" "${ARGS[@]}" --epochs 1 --init "$T/A/model.safetensors" --init-optim "$T/A/optim.safetensors" --out "$T/R2" 2>/dev/null \
  && grep -q '"step": 140}' "$T/R2/train.jsonl"
ok $? "round 2 from --init and --init-optim continues at step 120 -> 140"
"$BIN/dsah-train" "${ARGS[@]}" --bits 32 --init "$T/A/model.safetensors" --out "$T/R3" 2>"$T/R3.err"
[ $? -ne 0 ] && grep -q "bits 16" "$T/R3.err" && [ ! -e "$T/R3/model.safetensors" ]
ok $? "--init model of other bits refused: $(head -1 "$T/R3.err")"

# Encode: packed codes are the signs of the real outputs. The two runs use
# other batch sizes (default and 7), so sgemm may sum in another order: a sign
# may differ only where |z| < 1e-5 (float rounding of z is ~1e-7 here).
"$BIN/dsah-encode" -q --model "$T/A/model.safetensors" --images "$T/images.npy" --indices "$T/train.npy" --out "$T/codes.npy" \
 && "$BIN/dsah-encode" -q --model "$T/A/model.safetensors" --images "$T/images.npy" --indices "$T/train.npy" --real --batch 7 --out "$T/real.npy"
ok $? "encode (packed, and --real with batch 7) exits 0"
perl -e '
sub rd { open(my $f,"<",$_[0]) or die; binmode $f; local $/; my $s=<$f>; my $hl=unpack("v",substr($s,8,2)); return (substr($s,10,$hl), substr($s,10+$hl)) }
my ($hc,$c)=rd($ARGV[0]); my ($hr,$r)=rd($ARGV[1]);
die "header $hc" unless $hc =~ /\x27\|u1\x27.*\(1000, 2\)/; die "header $hr" unless $hr =~ /<f4.*\(1000, 16\)/;
my @z=unpack("f<*",$r); my $bad=0;
for my $i (0..999) { for my $k (0..15) { my $bit=vec(substr($c,$i*2,2),$k,1); $bad++ if $bit != ($z[$i*16+$k] >= 0 ? 1 : 0) && abs($z[$i*16+$k]) >= 1e-5; $bad++ if abs($z[$i*16+$k]) > 1 } }
exit($bad ? 1 : 0)' "$T/codes.npy" "$T/real.npy"
ok $? "packed codes [1000,2] == sgn of --real outputs [1000,16] (bit k LSB-first) except where |z| < 1e-5, all |z| <= 1"

# Bad inputs: one line, non-zero exit, nothing written.
"$BIN/dsah-train" "${ARGS[@]}" --w "$T/w_bad.npy" --out "$T/D" 2>"$T/D.err"
[ $? -ne 0 ] && [ "$(wc -l < "$T/D.err")" = 1 ] && grep -q "^dsah-train: error: .*w_bad.npy" "$T/D.err" && [ -z "$(ls -A "$T/D" 2>/dev/null)" ]
ok $? "W of the wrong shape: $(cat "$T/D.err")"
"$BIN/dsah-train" "${ARGS[@]}" --arch conv3-16,pol --out "$T/E" 2>"$T/E.err"
[ $? -ne 0 ] && grep -q "^dsah-train: error: --arch: arch: unknown layer 'pol'" "$T/E.err" && [ ! -e "$T/E/model.safetensors" ]
ok $? "bad arch: $(head -1 "$T/E.err")"
"$BIN/dsah-train" "${ARGS[@]}" --input 32 --epochs 1 --out "$T/F" 2>"$T/F.err" \
  && "$BIN/dsah-encode" -q --model "$T/F/model.safetensors" --images "$T/images.npy" --indices "$T/train.npy" --out "$T/F/c.npy"
ok $? "--input 32 on 28x28 images: resized (bilinear) for training and encoding"
"$BIN/dsah-train" --images "$T/images.npy" --out "$T/G" 2>"$T/G.err"
[ $? -ne 0 ] && grep -q "missing --" "$T/G.err"
ok $? "missing flags: $(head -1 "$T/G.err")"
"$BIN/dsah-encode" --model "$T/w.npy" --images "$T/images.npy" --indices "$T/train.npy" --out "$T/x.npy" 2>"$T/H.err"
[ $? -ne 0 ] && grep -q "^dsah-encode: error: .*w.npy" "$T/H.err" && [ ! -e "$T/x.npy" ]
ok $? "encode with a non-model file: $(head -1 "$T/H.err")"
"$BIN/dsah-train" --help | grep -q -- "--init-optim" && "$BIN/dsah-encode" --help | grep -q -- "--real"
ok $? "--help lists the flags"

# --loss ssdh: S with its mask (the fixture's W as the sign, every third
# pair masked out); the loss falls; a mask of the wrong shape and a missing
# mask are refused.
perl -e '
sub npy { my ($p,$d,$s,$x)=@_; my $h="{\x27descr\x27: \x27$d\x27, \x27fortran_order\x27: False, \x27shape\x27: $s, }";
  my $t=10+length($h)+1; $h .= " " x ((64 - $t % 64) % 64) . "\n";
  open(my $f, ">", $p) or die; binmode $f; print $f "\x93NUMPY\x01\x00", pack("v", length $h), $h, $x; close $f }
my $N=1000; my $m=""; for my $i (0..$N-1) { my $r="\0" x 125; for my $j (0..$N-1) { vec($r,$j,1)=1 if ($i+$j)%3 } $m.=$r }
npy("$ARGV[0]/mask.npy", "|u1", "($N, 125)", $m);
npy("$ARGV[0]/mask_bad.npy", "|u1", "(999, 125)", substr($m,0,999*125));
' "$T"
"$BIN/dsah-train" "${ARGS[@]}" --epochs 3 --loss ssdh --mask "$T/mask.npy" --out "$T/S" 2>"$T/S.err"
[ $? = 0 ] && perl -ne '$l{$1}=$2 if /"epoch": (\d+), "loss": ([0-9.e+-]+)/; END { exit(($l{3} < $l{1}) ? 0 : 1) }' "$T/S/train.jsonl"
ok $? "--loss ssdh: trains, loss falls over 3 epochs ($(grep -o '"loss": [0-9.]*' "$T/S/train.jsonl" | tr '\n' ' '))"
"$BIN/dsah-train" "${ARGS[@]}" --loss ssdh --mask "$T/mask_bad.npy" --out "$T/S2" 2>"$T/S2.err"
[ $? -ne 0 ] && [ "$(wc -l < "$T/S2.err")" = 1 ] && grep -q "^dsah-train: error: .*mask_bad.npy" "$T/S2.err" && [ ! -e "$T/S2/model.safetensors" ]
ok $? "--loss ssdh with a mask of the wrong shape: $(cat "$T/S2.err")"
"$BIN/dsah-train" "${ARGS[@]}" --loss ssdh --out "$T/S3" 2>"$T/S3.err"
[ $? -ne 0 ] && grep -q "^dsah-train: error: --loss ssdh needs --mask" "$T/S3.err"
ok $? "--loss ssdh without --mask: $(cat "$T/S3.err")"

# --loss greedyhash: no W, the training rows' features (8-d, random); the
# loss falls; features of the wrong row count are refused.
perl -e '
sub npy { my ($p,$d,$s,$x)=@_; my $h="{\x27descr\x27: \x27$d\x27, \x27fortran_order\x27: False, \x27shape\x27: $s, }";
  my $t=10+length($h)+1; $h .= " " x ((64 - $t % 64) % 64) . "\n";
  open(my $f, ">", $p) or die; binmode $f; print $f "\x93NUMPY\x01\x00", pack("v", length $h), $h, $x; close $f }
srand(3); npy("$ARGV[0]/feat.npy", "<f4", "(1000, 8)", pack("f<*", map { rand() - 0.5 } 1..8000));
npy("$ARGV[0]/feat_bad.npy", "<f4", "(999, 8)", pack("f<*", map { rand() - 0.5 } 1..7992));
' "$T"
GARGS=(--images "$T/images.npy" --indices "$T/train.npy" --arch conv3-16,pool,fc-64,dropout-0.5 --input 28 --bits 16
       --batch 50 --lr 1e-3 --seed 5 --threads 2 -q --loss greedyhash)
"$BIN/dsah-train" "${GARGS[@]}" --epochs 3 --features "$T/feat.npy" --out "$T/GH" 2>"$T/GH.err"
[ $? = 0 ] && perl -ne '$l{$1}=$2 if /"epoch": (\d+), "loss": ([0-9.e+-]+)/; END { exit(($l{3} < $l{1}) ? 0 : 1) }' "$T/GH/train.jsonl" \
  && "$BIN/dsah-encode" -q --model "$T/GH/model.safetensors" --images "$T/images.npy" --indices "$T/train.npy" --out "$T/GH/c.npy"
ok $? "--loss greedyhash: trains without --w, loss falls over 3 epochs ($(grep -o '"loss": [0-9.]*' "$T/GH/train.jsonl" | tr '\n' ' ')), encodes"
"$BIN/dsah-train" "${GARGS[@]}" --features "$T/feat_bad.npy" --out "$T/GH2" 2>"$T/GH2.err"
[ $? -ne 0 ] && [ "$(wc -l < "$T/GH2.err")" = 1 ] && grep -q "^dsah-train: error: .*feat_bad.npy" "$T/GH2.err" && [ ! -e "$T/GH2/model.safetensors" ]
ok $? "--loss greedyhash with features of 999 rows: $(cat "$T/GH2.err")"

done_testing
