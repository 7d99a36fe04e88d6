#!/usr/bin/env bash
# Packs what the build needs from this Debian 12 machine into .bundle/ (git-ignored), for a GPU
# machine that has the CUDA toolkit, CMake and ninja but none of our Debian packages and no
# network (docs/GPU.md). The files keep their Debian paths under .bundle/usr, and the CMake
# package configs inside are relocatable, so the GPU machine builds with
#   cmake ... -DCMAKE_PREFIX_PATH=$PWD/.bundle/usr  and  LD_LIBRARY_PATH=$PWD/.bundle/usr/lib/x86_64-linux-gnu
# (scripts/gpu_check.sh does both). About 20 MB.
#   scripts/make_gpu_bundle.sh --binaries   also builds the CUDA binaries here (build-gpu-bundle/:
#   sm_90 only, no -march=native, so they run on any x86-64 host) and puts the three that
#   gpu_check.sh runs in .bundle/bin (with libdezero.so and libdezero_cuda.so in .bundle/bin/lib), so that `PREBUILT=1 scripts/gpu_check.sh` spends no GPU-machine
#   time on compiling (about 60 MB with them).
set -euo pipefail
binaries=0
for option in "$@"; do
  case "$option" in
    --binaries) binaries=1 ;;
    *) echo "make_gpu_bundle.sh: unknown option $option (--binaries)"; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
scripts/install_deps.sh
out=.bundle
rm -rf "$out"
lib=usr/lib/x86_64-linux-gnu
copy() { for p in "$@"; do [ -e "/$p" ] || { echo "missing /$p"; exit 1; }; mkdir -p "$out/$(dirname "$p")"; cp -a "/$p" "$out/$p"; done; }
# Headers (Eigen, spdlog and fmt, JSON, CLI11, stb, GoogleTest/Mock, Google Benchmark, zlib).
copy usr/include/eigen3 usr/include/spdlog usr/include/fmt usr/include/nlohmann usr/include/CLI usr/include/stb \
     usr/include/gtest usr/include/gmock usr/include/benchmark usr/include/zlib.h usr/include/zconf.h
# Libraries (spdlog, fmt and benchmark as Debian's shared objects; GoogleTest static; zlib).
copy $lib/libspdlog.so $lib/libspdlog.so.1.10 $lib/libspdlog.so.1.10.0 $lib/libfmt.so $lib/libfmt.so.9 \
     $lib/libfmt.so.9.1.0 $lib/libgtest.a $lib/libgtest_main.a $lib/libgmock.a $lib/libgmock_main.a \
     $lib/libbenchmark.so $lib/libbenchmark.so.1.7.1 $lib/libbenchmark.so.1debian $lib/libbenchmark_main.a \
     $lib/libz.a $lib/libz.so $lib/libz.so.1 $lib/libz.so.1.2.13
# CMake package configs.
copy $lib/cmake/spdlog $lib/cmake/fmt $lib/cmake/GTest $lib/cmake/benchmark usr/share/eigen3/cmake \
     usr/share/cmake/nlohmann_json usr/share/cmake/CLI11
# The OpenMP runtime the library links (a CUDA machine may have none).
copy $lib/libgomp.so.1 $lib/libgomp.so.1.0.0
if [ $binaries = 1 ]; then
  build=build-gpu-bundle
  PATH="/usr/local/cuda/bin:$PATH" cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDEZERO_USE_CUDA=ON \
    -DDEZERO_NATIVE=OFF -DDEZERO_BUILD_BENCH=ON -DCMAKE_CUDA_ARCHITECTURES=90-real >/dev/null
  cmake --build $build --target dezero_cuda_tests mnist_cnn gpu_bench cpu_program dezero_cuda
  for b in tests/dezero_cuda_tests tests/cpu_program examples/mnist_cnn bench/gpu_bench; do
    mkdir -p "$out/bin/$(dirname $b)"
    strip -o "$out/bin/$b" "$build/$b"
  done
  # The two shared libraries (libdezero.so finds libdezero_cuda.so beside itself); gpu_check.sh
  # puts .bundle/bin/lib on LD_LIBRARY_PATH.
  mkdir -p "$out/bin/lib"
  cp -a "$build"/libdezero.so* "$out/bin/lib/"
  strip --strip-unneeded -o "$out/bin/lib/libdezero_cuda.so" "$build/libdezero_cuda.so"
  for f in "$out"/bin/lib/libdezero.so.*.*; do strip --strip-unneeded "$f"; done
fi
du -sh "$out"
