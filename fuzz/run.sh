#!/usr/bin/env bash
# Runs the libFuzzer targets of a build configured with -DDEZERO_BUILD_FUZZ=ON:
#   fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET [TARGET...]
# Each target starts from its seed corpus (fuzz/corpus/<target>) and grows a working corpus in
# BUILD_DIR/fuzz-corpus/<target>. A finding (crash, sanitizer report, escaped exception, an
# allocation over 1 GiB, a 10 s hang) stops the run and leaves the input in BUILD_DIR/fuzz-findings.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}"
seconds="${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [TARGET...]}"
shift 2
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(idx npy safetensors conv_ops)
mkdir -p "$build/fuzz-findings"
for t in "${targets[@]}"; do
  mkdir -p "$build/fuzz-corpus/$t"
  echo "== fuzz_$t for ${seconds}s"
  log="$build/fuzz-findings/$t.log"
  rc=0
  "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$build/fuzz-findings/$t-" \
    "$build/fuzz-corpus/$t" "$here/corpus/$t" >"$log" 2>&1 || rc=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done)" "$log" || true
  if [ $rc -ne 0 ]; then
    tail -n 60 "$log"
    echo "fuzz_$t found a problem (exit $rc): the input is in $build/fuzz-findings"
    exit 1
  fi
done
