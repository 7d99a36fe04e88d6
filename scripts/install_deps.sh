#!/usr/bin/env bash
# Installs what dezero-cpp builds with, from Debian 12 packages (idempotent; uses sudo when
# not root). The CUDA toolkit is optional: when /usr/local/cuda is present the CUDA backend is
# built too. `--sanitizers` adds Clang, libFuzzer and LLVM's OpenMP for the sanitizer and fuzz
# builds (docs/RELIABILITY.md); `--bench` adds LibTorch for the side-by-side runner.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config libeigen3-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libstb-dev gnuplot-nox
          libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev graphviz doxygen)
for option in "$@"; do
  case "$option" in
    --sanitizers) packages+=(clang libclang-rt-14-dev libomp-14-dev) ;;
    --bench) packages+=(libtorch-dev libopenblas0-openmp) ;;  # side-by-side runner; OpenBLAS: LibTorch at its best
    *) echo "install_deps.sh: unknown option $option (--sanitizers, --bench)"; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
