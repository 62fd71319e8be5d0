#!/bin/bash
# fetch.sh [vgg19]: download what has a public address for the pipeline's
# dataset (DSAH_PIPELINE), or the VGG-19 weights (DSAH_VGG19_URL into
# DSAH_VGG19_WEIGHTS); print where to get the rest.
set -euo pipefail
if [ "${1:-}" = vgg19 ]; then
  out=${DSAH_VGG19_WEIGHTS:-weights/vgg19.tv_in1k.safetensors}
  url=${DSAH_VGG19_URL:?}
  if [ -s "$out" ]; then echo "fetch: $out is there"; exit 0; fi
  mkdir -p "$(dirname "$out")"
  echo "fetch: $url -> $out"
  if ! curl -fL --retry 3 -o "$out.tmp.$$" "$url"; then
    rm -f "$out.tmp.$$"
    cat >&2 <<MSG
fetch: could not download $url.
  torchvision's VGG-19 as safetensors, on a machine with internet:
    pip install torch torchvision safetensors
    python3 -c "import torchvision; from safetensors.torch import save_file; m = torchvision.models.vgg19(weights='IMAGENET1K_V1'); save_file({k: v.contiguous() for k, v in m.state_dict().items()}, 'vgg19.safetensors')"
  then copy vgg19.safetensors to $out (timm's vgg19.tv_in1k holds the same weights).
MSG
    exit 1
  fi
  mv "$out.tmp.$$" "$out"
  exit 0
fi
bin=${DSAH_BINDIR:-bin}
keys=$("$bin/dsah-plan" -q --config "${DSAH_PIPELINE:?}" --work "${DSAH_WORK:-work}" --print dataset.source --print dataset.path)
src=$(sed -n 1p <<< "$keys") path=$(sed -n 2p <<< "$keys")
case $src in
  cifar10)
    url=https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
    case $path in *.tar.gz|*.tgz) out=$path ;; *) out=$path/cifar-10-binary.tar.gz ;; esac  # as make fetch does
    if [ -s "$out" ]; then echo "fetch: $out is there"; exit 0; fi
    mkdir -p "$(dirname "$out")"
    echo "fetch: $url -> $out"
    curl -fL --retry 3 -o "$out.tmp.$$" "$url" || { rm -f "$out.tmp.$$"; echo "fetch: download failed; get $url by hand into $out" >&2; exit 1; }
    mv "$out.tmp.$$" "$out" ;;
  fashion-mnist)
    echo "fetch: Fashion-MNIST comes with the Debian package dataset-fashion-mnist (common/deps.sh pipeline installs it)"
    echo "       into /usr/share/datasets/fashion-mnist; or the four *-ubyte.gz files from"
    echo "       https://github.com/zalandoresearch/fashion-mnist (data/fashion) into $path" ;;
  mnist)
    echo "fetch: put the four MNIST *-ubyte.gz files (train/t10k images and labels) into $path"
    echo "       (the smoke pipeline's are made by: make smoke-data)" ;;
  flickr25k)
    echo "fetch: MIRFLICKR-25000 (images and annotations) is distributed by https://press.liacs.nl/mirflickr/ ;"
    echo "       unpack the images to $path and the annotations where dataset.annotations points" ;;
  nuswide)
    echo "fetch: NUS-WIDE images and the 21 most frequent concepts' labels come from"
    echo "       https://lms.comp.nus.edu.sg/wp-content/uploads/2019/research/nuswide/NUS-WIDE.html ; put them at $path" ;;
  folder)
    echo "fetch: source folder: the images are yours, at $path" ;;
esac
