#!/usr/bin/env bash
# Transformers (issue 17): DeiT-Tiny shape (224x224, 197 tokens, random weights) at batch 1, the trained
# vit-fashion-mnist (50 tokens) at batch 64, and the BERT-style encoder of export_bench_models.py (128 tokens, int64
# input_ids / attention_mask) at batch 1 and 8. Columns: qwac FP32, ONNX Runtime FP32, qwac INT8 and ONNX Runtime on
# qwac's QDQ file (`qwac quantize` with model_type transformer, export profile onnxruntime), with their ratios;
# 2 threads, medians, one run of each.
#
# Usage: bash bench/transformer.sh      (needs a build: bash scripts/setup.sh)
#   BENCH_MODELS=DIR: where the generated bert-mini-bench lives (default: a cache folder,
#     ${XDG_CACHE_HOME:-~/.cache}/qwac/bench-models, filled by ../shared/assets/make/export_bench_models.py with
#     Debian's python3-torch when missing, ~20 s);
#   MODEL_TYPE=transformer|none (default transformer): the quantization's model_type;
#   ITERS=N timed runs (default 50), WARMUP=N (default 5), THREADS=N (default 2), ONLY=regex: rows to run.
# Calibration: vit-fashion-mnist on the first 300 Fashion-MNIST test images (samples < 8000, its training side);
# DeiT-Tiny on 100 shuffled images of imagenet-sample-1000 (crop 224, torchvision normalization); the BERT-style
# encoder on 100 random samples (token ids within its vocabulary, masks of ones). The random-weight networks' accuracy
# means nothing; their activation ranges are realistic enough for timing.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/latency_lib.sh
MODEL_TYPE=${MODEL_TYPE:-transformer}
ensure_bench_models bert-mini-bench

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ASSETS=$(realpath $SHARED/assets)
model_type_key=""
[ "$MODEL_TYPE" = none ] || model_type_key="\"model_type\": \"$MODEL_TYPE\","

# A DefaultQuantization config; $1 = output, $2 = model, $3 = "fmnist" | "imagenet" | "random".
write_config() {
  local out=$1 model=$2 kind=$3 dataset params
  case $kind in
    fmnist)
      dataset="{\"type\": \"idx\", \"name\": \"fashion-mnist-test\",
        \"images\": \"$ASSETS/data/fashion-mnist-test/t10k-images-idx3-ubyte.gz\",
        \"labels\": \"$ASSETS/data/fashion-mnist-test/t10k-labels-idx1-ubyte.gz\", \"preprocessing\": {\"scale\": \"1/255\"}}"
      params='"stat_subset_size": 300' ;;
    imagenet)
      dataset="{\"type\": \"image_folder\", \"name\": \"calibration\", \"images\": \"$ASSETS/data/imagenet-sample-1000/images\",
        \"labels\": \"$ASSETS/data/imagenet-sample-1000/labels.csv\", \"num_classes\": 1000,
        \"preprocessing\": {\"color\": \"rgb\", \"scale\": \"1/255\", \"crop\": 224, \"mean\": [0.485, 0.456, 0.406],
        \"std\": [0.229, 0.224, 0.225], \"layout\": \"NCHW\"}}"
      params='"stat_subset_size": 100, "shuffle_data": true' ;;
    random)
      dataset='{"type": "random", "name": "random-tokens", "count": 100, "seed": 1}'
      params='"stat_subset_size": 100' ;;
  esac
  cat > "$out" <<EOF
{"model": {"model_name": "bench", "model": "$model"},
 "engine": {"batch_size": 1, "dataset": $dataset},
 "compression": {"target_device": "ANY", $model_type_key "algorithms": [{"name": "DefaultQuantization", "params": {$params}}]}}
EOF
}

four_way_header
while read -r name model kind batches; do
  [[ "$name" =~ $ONLY ]] || continue
  model=$(eval echo "$model")
  qdq=$TMP/$name.int8.onnx
  calib_model=$model
  if [ "$kind" = random ]; then
    # The random dataset needs concrete shapes: calibrate on the batch-1 form (the QDQ file keeps it; convert
    # re-batches it below like the others).
    calib_model=$TMP/$name.b1.onnx
    "$QWAC" convert "$model" --batch 1 --output "$calib_model" > /dev/null
  fi
  write_config "$TMP/$name.json" "$calib_model" "$kind"
  "$QWAC" quantize --config "$TMP/$name.json" --model "$calib_model" --output "$qdq" --threads "$THREADS" --quiet \
    > /dev/null
  for batch in $batches; do four_way_row "$name" "$batch" "$model" "$qdq"; done
done <<'LIST'
deit-tiny $ASSETS/models/deit-tiny-bench/model.onnx imagenet 1
vit-fashion-mnist $ASSETS/models/vit-fashion-mnist/model.onnx fmnist 64
bert-mini $BENCH_MODELS/bert-mini-bench/model.onnx random 1 8
LIST
echo
echo "model_type: $MODEL_TYPE. Ratios > 1 = the first named is faster: qwac FP32 vs ORT FP32 = ORT FP32 ms / qwac" \
  "FP32 ms; qwac INT8 vs qwac FP32 = qwac FP32 ms / qwac INT8 ms; ORT QDQ vs ORT FP32 = ORT FP32 ms / ORT QDQ ms;" \
  "qwac INT8 vs ORT QDQ = ORT QDQ ms / qwac INT8 ms. Median of $ITERS runs after $WARMUP warm-up runs, $THREADS" \
  "threads, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
