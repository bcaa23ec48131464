#!/usr/bin/env bash
# FP32 engine latency: qwac vs ONNX Runtime 1.30 (onnxruntime-node) on the shared models, 2 threads.
# Usage: bash bench/fp32_engine.sh            (needs a build: bash scripts/setup.sh)
# ONNX Runtime is installed on first use into bench/.ort with npm (ONNXRUNTIME_NODE_INSTALL=skip).
set -euo pipefail
cd "$(dirname "$0")/.."
QWAC=${QWAC:-build/qwac}
MODELS=../shared/assets/models
ITERS=${ITERS:-200}
[ -x "$QWAC" ] || { echo "bench: $QWAC not found; run bash scripts/setup.sh first" >&2; exit 1; }
[ -d "$MODELS" ] || { echo "bench: $MODELS not found (../shared is absent)" >&2; exit 1; }

ORT_DIR=bench/.ort
if command -v npm >/dev/null && [ ! -d "$ORT_DIR/node_modules/onnxruntime-node" ]; then
  mkdir -p "$ORT_DIR"
  (cd "$ORT_DIR" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent onnxruntime-node@1.30.0) \
    || echo "bench: could not install onnxruntime-node; ORT column left empty" >&2
fi

printf '| model | batch | qwac median ms | qwac min ms | ORT 1.30 median ms |\n|---|---|---|---|---|\n'
while read -r model batch; do
  path=$MODELS/$model/model.onnx
  q=$("$QWAC" bench "$path" --batch "$batch" --threads 2 --iterations "$ITERS" --warmup 20)
  qmed=$(sed -n 's/.*median \([0-9.]*\) ms.*/\1/p' <<<"$q")
  qmin=$(sed -n 's/.*min \([0-9.]*\) ms.*/\1/p' <<<"$q")
  omed=""
  if [ -d "$ORT_DIR/node_modules/onnxruntime-node" ]; then
    ojson=$(NODE_PATH=$ORT_DIR/node_modules node ../shared/tools/ort-eval/bench.js "$path" --batch "$batch" \
             --threads 2 --iters "$ITERS" --warmup 20 --json) || ojson=""
    omed=$(sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p' <<<"$ojson")
    obatch=$(sed -n 's/.*"batch":\([0-9]*\).*/\1/p' <<<"$ojson")
    # ORT cannot run a fixed-batch model at another batch: say which batch it actually ran.
    [ -n "$obatch" ] && [ "$obatch" != "$batch" ] && omed="$omed (batch $obatch: ORT cannot re-batch this model)"
    [ -n "$omed" ] || omed="error"
  fi
  printf '| %s | %s | %s | %s | %s |\n' "$model" "$batch" "$qmed" "$qmin" "$omed"
done <<'LIST'
squeezenet1.1-imagenet 1
resnet20-cifar10 1
mnist-pytorch-cnn 1
mnist-pytorch-cnn 64
fashion-mnist-cnn 64
squeezenet1.1-imagenet 16
LIST
