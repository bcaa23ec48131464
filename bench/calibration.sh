#!/usr/bin/env bash
# Calibration speed and memory (issue 4): for each config, the statistics phase of `qwac quantize` on 300 samples
# against 300 FP32 inferences (`qwac evaluate --limit 300`, decoding included in both), and the peak resident
# memory of a whole `qwac quantize` run at stat_subset_size 300 and 1000.
# Usage: bash bench/calibration.sh [example-config-name ...]      (needs a build: bash scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
QWAC=${QWAC:-build/qwac}
THREADS=${THREADS:-2}
[ -x "$QWAC" ] || { echo "bench: $QWAC not found; run bash scripts/setup.sh first" >&2; exit 1; }
[ -d ../shared/assets ] || { echo "bench: ../shared/assets not found" >&2; exit 1; }
CONFIGS=("$@")
[ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=(squeezenet1.1-imagenet-val-1300 resnet20-cifar10-cifar10-test-jpeg mnist-cntk-mnist-test)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; rm -f examples/.bench-*.json' EXIT
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p" "$2" | head -1; }

printf '| config | 300 FP32 inferences s | statistics on 300 s | ratio | peak RSS 300 MB | peak RSS 1000 MB | growth |\n'
printf '|---|---|---|---|---|---|---|\n'
for name in "${CONFIGS[@]}"; do
  cfg=examples/$name.json
  "$QWAC" evaluate --config "$cfg" --limit 300 --threads "$THREADS" --json --quiet > "$TMP/eval.json"
  fp32=$(field seconds "$TMP/eval.json")
  declare -A rss=()
  for n in 300 1000; do
    # A copy beside the original so its relative paths still resolve.
    sed "s/\"stat_subset_size\": *[0-9]*/\"stat_subset_size\": $n/" "$cfg" > "examples/.bench-$name-$n.json"
    "$QWAC" quantize --config "examples/.bench-$name-$n.json" --output "$TMP/q.onnx" --report "$TMP/r$n.json" \
      --threads "$THREADS" --quiet > /dev/null
    rss[$n]=$(field peak_rss_mb "$TMP/r$n.json")
  done
  stats=$(field statistics "$TMP/r300.json")
  awk -v n="$name" -v f="$fp32" -v s="$stats" -v a="${rss[300]}" -v b="${rss[1000]}" 'BEGIN {
    printf "| %s | %.2f | %.2f | %.2fx | %.0f | %.0f | %+.1f %% |\n", n, f, s, s / f, a, b, 100 * (b - a) / a }'
done
