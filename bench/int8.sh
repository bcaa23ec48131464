#!/usr/bin/env bash
# INT8 execution (issue 6): `qwac bench` of the FP32 model, of its QDQ model in float simulation and with --int8,
# against ONNX Runtime 1.30 (onnxruntime-node, CPU EP) on the FP32 file and on the same QDQ file, 2 threads.
# Each model is quantized with its example config (`qwac quantize`), then both files are rewritten to the batch with
# `qwac convert` (ORT cannot run a fixed-batch model at another batch).
# Usage: bash bench/int8.sh            (needs a build: bash scripts/setup.sh)
#   ITERS=N: timed runs (default 50); STAT=min: report the fastest run instead of the median (steadier on a busy
#   machine, where a median mostly measures the other processes).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/latency_lib.sh

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

printf '| model | batch | FP32 ms | QDQ sim ms | INT8 ms | INT8 vs FP32 | ORT FP32 ms | ORT QDQ ms | INT8 vs ORT QDQ |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
while read -r model config batches; do
  cfg=examples/$config.json
  fp32=$(cd examples && realpath "$(sed -n 's/^ *"model": *"\([^"]*\.onnx\)".*/\1/p' "$config.json" | head -1)")
  qdq=$TMP/$config.onnx
  "$QWAC" quantize --config "$cfg" --output "$qdq" --threads "$THREADS" --quiet > /dev/null
  for batch in $batches; do
    "$QWAC" convert "$fp32" --batch "$batch" --output "$TMP/fp32-b$batch.onnx" > /dev/null
    "$QWAC" convert "$qdq" --batch "$batch" --output "$TMP/qdq-b$batch.onnx" > /dev/null
    f=$(qwac_ms "$TMP/fp32-b$batch.onnx")
    s=$(qwac_ms "$TMP/qdq-b$batch.onnx" --simulate)
    i=$(qwac_ms "$TMP/qdq-b$batch.onnx")
    of=$(ort_ms "$TMP/fp32-b$batch.onnx")
    oq=$(ort_ms "$TMP/qdq-b$batch.onnx")
    awk -v m="$model" -v b="$batch" -v f="$f" -v s="$s" -v i="$i" -v of="$of" -v oq="$oq" 'BEGIN {
      speedup = (i > 0) ? sprintf("%.2fx", f / i) : "n/a"
      ratio = (oq ~ /^[0-9.]+$/ && i > 0) ? sprintf("%.2fx", oq / i) : "n/a"
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", m, b, f, s, i, speedup, of, oq, ratio }'
  done
done <<'LIST'
squeezenet1.1 squeezenet1.1-imagenet-val-1300 1 16
resnet20-cifar10 resnet20-cifar10-cifar10-test-jpeg 1 64
fashion-mnist-cnn fashion-mnist-cnn-fashion-mnist-test 64
LIST
echo
echo "INT8 vs FP32 = FP32 ms / INT8 ms; INT8 vs ORT QDQ = ORT QDQ ms / qwac INT8 ms (> 1: qwac faster)." \
  "Latency: $STAT of $ITERS runs after $WARMUP warm-up runs, $THREADS threads, $(nproc) cores, load average" \
  "$(cut -d' ' -f1-3 /proc/loadavg)."
