#!/usr/bin/env bash
# Modern networks (issue 16): MobileNetV3-Small (the trained mobilenetv3s-cifar10, at 224x224 batch 1 and at its
# CIFAR 32x32 size batch 64), MobileNetV3-Large and EfficientNet-B0 (torchvision, seeded random weights) at batch 1
# and 16. Columns: qwac FP32, ONNX Runtime FP32, qwac INT8 and ONNX Runtime on qwac's QDQ file (default
# `qwac quantize`, export profile onnxruntime), with their ratios; 2 threads, medians, one run of each.
#
# Usage: bash bench/modern.sh            (needs a build: bash scripts/setup.sh)
#   BENCH_MODELS=DIR: where the generated EfficientNet-B0 / MobileNetV3-Large live (default: a cache folder,
#     ${XDG_CACHE_HOME:-~/.cache}/qwac/bench-models, filled by ../shared/assets/make/export_bench_models.py with
#     Debian's python3-torch/torchvision when a model is missing, ~20 s);
#   ITERS=N timed runs (default 50), WARMUP=N (default 5), THREADS=N (default 2), ONLY=regex: rows to run.
# Calibration: mobilenetv3s-cifar10 with its example config (300 shuffled images of split-train-8000; the 224x224
# variant sees the same images resized to 224); the random-weight networks on 100 images of imagenet-sample-1000
# (crop 224, torchvision normalization): their accuracy means nothing, their activation ranges are realistic enough.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/latency_lib.sh
ensure_bench_models efficientnet-b0-bench mobilenetv3l-bench

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ASSETS=$(realpath $SHARED/assets)

# A DefaultQuantization config for MODEL on a data set; $1 = output, $2 = model, $3 = "cifar224" | "imagenet".
write_config() {
  local out=$1 model=$2 kind=$3 data labels classes prep params
  if [ "$kind" = cifar224 ]; then
    data=$ASSETS/data/cifar10-test-jpeg/images labels=$ASSETS/data/cifar10-test-jpeg/split-train-8000.csv classes=10
    prep='"resize": [224, 224], "mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.2435, 0.2616]'
    params='"stat_subset_size": 300, "shuffle_data": true'
  else
    data=$ASSETS/data/imagenet-sample-1000/images labels=$ASSETS/data/imagenet-sample-1000/labels.csv classes=1000
    prep='"crop": 224, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]'
    params='"stat_subset_size": 100, "shuffle_data": true'
  fi
  cat > "$out" <<EOF
{"model": {"model_name": "bench", "model": "$model"},
 "engine": {"batch_size": 8, "dataset": {"type": "image_folder", "name": "calibration", "images": "$data",
   "labels": "$labels", "num_classes": $classes, "preprocessing": {"color": "rgb", "scale": "1/255", $prep, "layout": "NCHW"}},
   "metrics": [{"type": "accuracy", "options": {"k": 1}}]},
 "compression": {"target_device": "ANY", "algorithms": [{"name": "DefaultQuantization", "params": {$params}}]}}
EOF
}

four_way_header
while read -r name model config batches; do
  [[ "$name" =~ $ONLY ]] || continue
  model=$(eval echo "$model")
  qdq=$TMP/$name.int8.onnx
  if [ "$config" = example ]; then
    cfg=examples/mobilenetv3s-cifar10-cifar10-train-8000.json
  else
    cfg=$TMP/$name.json
    write_config "$cfg" "$model" "$config"
  fi
  "$QWAC" quantize --config "$cfg" --model "$model" --output "$qdq" --threads "$THREADS" --quiet > /dev/null
  for batch in $batches; do four_way_row "$name" "$batch" "$model" "$qdq"; done
done <<'LIST'
mobilenetv3s-224 $ASSETS/models/mobilenetv3s-cifar10/model-224.onnx cifar224 1
mobilenetv3s-cifar10 $ASSETS/models/mobilenetv3s-cifar10/model.onnx example 64
mobilenetv3-large $BENCH_MODELS/mobilenetv3l-bench/model.onnx imagenet 1 16
efficientnet-b0 $BENCH_MODELS/efficientnet-b0-bench/model.onnx imagenet 1 16
LIST
echo
echo "Ratios > 1 = the first named is faster: qwac FP32 vs ORT FP32 = ORT FP32 ms / qwac FP32 ms; qwac INT8 vs" \
  "qwac FP32 = qwac FP32 ms / qwac INT8 ms; ORT QDQ vs ORT FP32 = ORT FP32 ms / ORT QDQ ms; qwac INT8 vs ORT QDQ =" \
  "ORT QDQ ms / qwac INT8 ms. Median of $ITERS runs after $WARMUP warm-up runs, $THREADS threads, $(nproc) cores," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)."
