#!/usr/bin/env bash
# Everything a GPU machine should run, in one go (docs/GPU.md):
#   scripts/gpu_check.sh            (EPOCHS=3 for the accuracy run of the CUDA issue)
# 1. builds with -DDEZERO_USE_CUDA=ON (with .bundle/ from scripts/make_gpu_bundle.sh when the
#    machine has none of our Debian packages); 2. runs the cuda-labelled tests; 3. runs them again
#    under compute-sanitizer memcheck when it is installed; 4. trains mnist_cnn on --device cuda;
#    5. times dezero against PyTorch on the GPU (bench/gpu_side_by_side.py, table spliced into
#    docs/PERFORMANCE.md); 6. prints a short table. Logs go to BUILD_DIR (default build-gpu).
set -uo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build-gpu}"
epochs="${EPOCHS:-1}"
export PATH="/usr/local/cuda/bin:$PATH"
args=()
if [ -d .bundle/usr ]; then
  args+=("-DCMAKE_PREFIX_PATH=$PWD/.bundle/usr")
  export LD_LIBRARY_PATH="$PWD/.bundle/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi
set -e
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDEZERO_USE_CUDA=ON -DDEZERO_BUILD_BENCH=ON "${args[@]}"
cmake --build "$build" -j"$(nproc)"
set +e
nvidia-smi -L
ctest --test-dir "$build" -L cuda --output-on-failure -j4 > "$build/cuda_tests.log" 2>&1
tests_rc=$?
memcheck="not installed"
if command -v compute-sanitizer >/dev/null; then
  compute-sanitizer --tool memcheck --error-exitcode 1 "$build/tests/dezero_cuda_tests" > "$build/memcheck.log" 2>&1 \
    && memcheck="clean" || memcheck="ERRORS (see $build/memcheck.log)"
fi
/usr/bin/time -v "$build/examples/mnist_cnn" --device cuda --epochs "$epochs" --out "$build/mnist_gpu" \
  > "$build/mnist_gpu.log" 2>&1
mnist_rc=$?
bench="skipped (python3 without torch)"
if python3 -c 'import torch' 2>/dev/null; then
  python3 bench/gpu_side_by_side.py --build "$build" --report docs/PERFORMANCE.md > "$build/gpu_bench.log" 2>&1 \
    && bench="docs/PERFORMANCE.md (GPU section), $build/gpu_bench.log" || bench="FAILED (see $build/gpu_bench.log)"
fi
echo
echo "| check | result |"
echo "|---|---|"
echo "| cuda tests | $(grep -E 'tests passed' "$build/cuda_tests.log" || echo "exit $tests_rc") |"
echo "| compute-sanitizer memcheck | $memcheck |"
grep -E '^epoch' "$build/mnist_gpu.log" | sed 's/^/| mnist_cnn --device cuda | /; s/$/ |/'
echo "| GPU side by side with PyTorch | $bench |"
echo "| mnist_cnn exit / peak RSS | $mnist_rc / $(grep 'Maximum resident' "$build/mnist_gpu.log" | awk '{print $NF}') KB |"
[ $tests_rc -eq 0 ] && [ $mnist_rc -eq 0 ] && [ "$memcheck" != "ERRORS (see $build/memcheck.log)" ]
