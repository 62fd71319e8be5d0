#!/bin/bash
# prepare.sh: fill .carry/ (git-ignored) with what tests/gpu/device.sh needs
# on the lent GPU machine, which has CUDA 13, PyTorch and cuDNN (Python
# package) but none of dsah's Debian libraries and no package registry
# (docs/GPU.md). Run here, on the Debian 12 build machine: `make gpu-carry`.
#
#   .carry/debs/    Debian 12 packages of the shared libraries the binaries
#                   load (apt-get download; device.sh unpacks them with
#                   dpkg -x into /tmp/sys, never into /)
#   .carry/bin/     the stages, built for any x86-64-v3 CPU (AVX2; the
#                   build machine's -march=native would be AVX-512 Zen 4, and
#                   the GPU machine's CPU is unknown), without debug info
#   .carry/tests/   t_device and t_ops (the GPU tests) and bench_gpu
#
# Then, with the device tool:  run  command="bash tests/gpu/device.sh"
#                                   carry=[".carry"]   timeout_s=540
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
C=.carry
B=build-carry   # outside .carry: kept between runs, never carried
rm -rf "$C/debs" "$C/bin" "$C/tests"
mkdir -p "$C/debs" "$C/tests"
# the shared libraries of ldd bin/dsah-* that are not CUDA's, with the
# libraries they load in turn that Ubuntu 24.04 (the GPU machine's
# python3 3.12.3) may lack
# (ldd of the binaries on the build machine; libxml2 and libicu72 for
# libarchive, libquadmath0 for libgfortran5: a CUDA image may lack them)
pkgs="libopenblas0-pthread liblapacke libtmglib3 libgfortran5 libquadmath0 libyaml-0-2 libarchive13 libxml2 libicu72
      libjpeg62-turbo libpng16-16 libmicrohttpd12"
if ! (cd "$C/debs" && apt-get download $pkgs >/dev/null 2>&1); then
    echo "prepare: apt-get download failed; running apt-get update once" >&2
    apt-get update >/dev/null
    (cd "$C/debs" && apt-get download $pkgs)
fi
# portable stage binaries and the GPU test and bench, CUDA on
make -j2 --no-print-directory CUDA=1 BUILD="$B" BIN="$C/bin" OPT="-O3 -march=x86-64-v3" \
    CFLAGS="-O3 -march=x86-64-v3 -std=gnu11 -Wall -Wextra -Wno-unused-parameter -fopenmp -fno-math-errno" \
    all "$B/tests/t_device" "$B/tests/t_ops" "$B/tests/bench_gpu" >/dev/null
cp "$B/tests/t_device" "$B/tests/t_ops" "$B/tests/bench_gpu" "$C/tests/"
strip "$C"/bin/* "$C"/tests/*

du -sh "$C" "$C"/*
echo "prepare: ready. Carry .carry: run command='bash tests/gpu/device.sh' carry=['.carry'] timeout_s=540"
