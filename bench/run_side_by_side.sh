#!/usr/bin/env bash
# dezero-cpp next to LibTorch, on this machine, in one command:
#   bench/run_side_by_side.sh [BUILD_DIR] [--smoke]
# 1. the timing table (bench/side_by_side), once in the default environment and once in the one
#    that suits LibTorch best here (OMP_WAIT_POLICY=PASSIVE and glibc malloc tuning); per row the
#    run where LibTorch was faster is reported, with both sides from that same run;
# 2. the peak RSS of one MNIST epoch (LeNet-style CNN, batch 64) of each, in both environments;
# 3. writes both tables into docs/PERFORMANCE.md (between its side-by-side and rss markers).
# --smoke: a few iterations and 20 batches, tables to BUILD_DIR/side_by_side/ only (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
smoke="${2:-}"
exe="$build/bench/side_by_side"
[ -x "$exe" ] || { echo "$exe is missing: install libtorch-dev (scripts/install_deps.sh --bench) and rebuild"; exit 1; }
out="$build/side_by_side"
mkdir -p "$out"
tuned=(OMP_WAIT_POLICY=PASSIVE MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=68719476736)
tuned_name="OMP_WAIT_POLICY=PASSIVE + malloc tuning"

echo "== timings, default environment"
"$exe" $smoke --csv "$out/default.csv"
echo "== timings, $tuned_name"
env "${tuned[@]}" "$exe" $smoke --csv "$out/tuned.csv"

batches=0
[ "$smoke" = "--smoke" ] && batches=20
echo "== peak RSS of one MNIST epoch (batch 64)"
{
  echo "| side | environment | batches | peak RSS (MiB) | before the first batch | growth in the loop |"
  echo "|---|---|---|---|---|---|"
  for side in dezero libtorch; do
    IFS=, read -r s n mib floor < <("$exe" --rss-epoch "$side" --batches "$batches")
    echo "| $s | default | $n | $mib | $floor | $((mib - floor)) |"
    IFS=, read -r s n mib floor < <(env "${tuned[@]}" "$exe" --rss-epoch "$side" --batches "$batches")
    echo "| $s | $tuned_name | $n | $mib | $floor | $((mib - floor)) |"
  done
} > "$out/rss.md"
cat "$out/rss.md"

doc=docs/PERFORMANCE.md
if [ "$smoke" = "--smoke" ]; then
  cp "$doc" "$out/PERFORMANCE.md"
  doc="$out/PERFORMANCE.md"
fi
"$exe" --report "$doc" "default=$out/default.csv" "$tuned_name=$out/tuned.csv" --rss "$out/rss.md"
echo "tables written to $doc"
