#!/usr/bin/env bash
# Packs what the build needs from this Debian 12 machine into .bundle/ (git-ignored), for a GPU
# machine that has the CUDA toolkit, CMake and ninja but none of our Debian packages and no
# network (docs/GPU.md). The files keep their Debian paths under .bundle/usr, and the CMake
# package configs inside are relocatable, so the GPU machine builds with
#   cmake ... -DCMAKE_PREFIX_PATH=$PWD/.bundle/usr  and  LD_LIBRARY_PATH=$PWD/.bundle/usr/lib/x86_64-linux-gnu
# (scripts/gpu_check.sh does both). About 20 MB.
set -euo pipefail
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
du -sh "$out"
