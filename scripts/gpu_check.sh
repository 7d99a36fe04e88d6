#!/usr/bin/env bash
# Everything a GPU machine should run, in one go (docs/GPU.md):
#   scripts/gpu_check.sh            (EPOCHS=3 for the accuracy run of the CUDA issue)
# 1. builds with -DDEZERO_USE_CUDA=ON (with .bundle/ from scripts/make_gpu_bundle.sh when the
#    machine has none of our Debian packages), or uses the binaries that
#    `scripts/make_gpu_bundle.sh --binaries` put in .bundle/bin when PREBUILT=1; 2. runs the
#    cuda-labelled tests (the dezero_cuda_tests binary); 3. runs them again under
#    compute-sanitizer memcheck when it is installed; 4. trains mnist_cnn on --device cuda;
#    5. times dezero against PyTorch on the GPU (bench/gpu_side_by_side.py, table spliced into
#    docs/PERFORMANCE.md); 6. prints a short table.
# Environment: BUILD_DIR (default build-gpu), EPOCHS (1), PREBUILT (0), LOGS (logs directory,
# default the build directory), STEP_TIMEOUT (seconds per step, default 1800), SKIP (steps to
# leave out, any of: tests memcheck mnist bench).
set -uo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build-gpu}"
epochs="${EPOCHS:-1}"
limit="${STEP_TIMEOUT:-1800}"
skip=" ${SKIP:-} "
export PATH="/usr/local/cuda/bin:$PATH"
args=()
if [ -d .bundle/usr ]; then
  args+=("-DCMAKE_PREFIX_PATH=$PWD/.bundle/usr")
  export LD_LIBRARY_PATH="$PWD/.bundle/usr/lib/x86_64-linux-gnu:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
fi
if [ "${PREBUILT:-0}" = 1 ]; then
  build=.bundle/bin
  export LD_LIBRARY_PATH="$PWD/.bundle/bin/lib:${LD_LIBRARY_PATH:-}"
  [ -x "$build/tests/dezero_cuda_tests" ] || { echo "gpu_check: PREBUILT=1 but $build has no binaries (scripts/make_gpu_bundle.sh --binaries)"; exit 2; }
else
  set -e
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDEZERO_USE_CUDA=ON -DDEZERO_BUILD_BENCH=ON "${args[@]}"
  cmake --build "$build" -j"$(nproc)"
  set +e
fi
logs="${LOGS:-$build}"
mkdir -p "$logs"
step() { [[ "$skip" != *" $1 "* ]]; }
nvidia-smi -L
# A CPU-only program on this GPU machine loads no CUDA library (the backend is loaded on first use).
"$build/tests/cpu_program" 0 > "$logs/cpu_program.log" 2>&1
packaging="exit $? ($(tail -n 1 "$logs/cpu_program.log"))"
tests="skipped"
if step tests; then
  timeout "$limit" "$build/tests/dezero_cuda_tests" > "$logs/cuda_tests.log" 2>&1
  tests_rc=$?
  tests="$(grep -E '^\[ +(PASSED|SKIPPED|FAILED) +\] [0-9]+ tests?[,.]' "$logs/cuda_tests.log" | sed 's/, listed below://' | tr '\n' ' ')exit $tests_rc"
fi
memcheck="skipped"
if step memcheck; then
  memcheck="not installed"
  if command -v compute-sanitizer >/dev/null; then
    timeout "$limit" compute-sanitizer --tool memcheck --error-exitcode 1 "$build/tests/dezero_cuda_tests" > "$logs/memcheck.log" 2>&1
    case $? in
      0) memcheck="clean ($(grep -E 'ERROR SUMMARY' "$logs/memcheck.log"))" ;;
      124) memcheck="TIMED OUT after ${limit}s (see $logs/memcheck.log)" ;;
      *) memcheck="ERRORS (see $logs/memcheck.log)" ;;
    esac
  fi
fi
mnist="skipped"
if step mnist; then
  timer=(); [ -x /usr/bin/time ] && timer=(/usr/bin/time -v)
  "${timer[@]}" timeout "$limit" "$build/examples/mnist_cnn" --device cuda --epochs "$epochs" --data data/mnist \
    --out "$logs/mnist_gpu" > "$logs/mnist_gpu.log" 2>&1
  mnist="exit $?, peak RSS $(grep 'Maximum resident' "$logs/mnist_gpu.log" | awk '{print $NF}' || true) KB"
fi
bench="skipped"
if step bench; then
  bench="skipped (python3 without torch)"
  if python3 -c 'import torch' 2>/dev/null; then
    timeout "$limit" python3 bench/gpu_side_by_side.py --build "$build" --report docs/PERFORMANCE.md > "$logs/gpu_bench.log" 2>&1 \
      && bench="docs/PERFORMANCE.md (GPU section), $logs/gpu_bench.log" || bench="FAILED (see $logs/gpu_bench.log)"
  fi
fi
echo
echo "| check | result |"
echo "|---|---|"
echo "| CPU program, CUDA-enabled build | $packaging |"
echo "| cuda tests | $tests |"
echo "| compute-sanitizer memcheck | $memcheck |"
grep -oE 'epoch [0-9]+: .*' "$logs/mnist_gpu.log" 2>/dev/null | sed 's/^/| mnist_cnn --device cuda | /; s/$/ |/'
echo "| mnist_cnn | $mnist |"
echo "| GPU side by side with PyTorch | $bench |"
! grep -qE 'exit [1-9]|ERRORS|TIMED OUT|FAILED' <<< "$packaging $tests $memcheck $mnist $bench"
