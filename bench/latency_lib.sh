# Sourced by the latency benchmarks (int8.sh, modern.sh, transformer.sh) right after their `cd` to the repository:
# their common settings and checks, and the one way they read a latency from `qwac bench` and from ONNX Runtime's
# bench.js. Settings (environment): QWAC, THREADS (2), ITERS (50), WARMUP (5), ONLY (a regex of rows), STAT (median,
# the default, or min), ORT_MODULES, BENCH_MODELS (where the generated networks live).
QWAC=${QWAC:-build/qwac}
THREADS=${THREADS:-2}
ITERS=${ITERS:-50}
WARMUP=${WARMUP:-5}
ONLY=${ONLY:-.}
STAT=${STAT:-median}
[ "$STAT" = median ] || [ "$STAT" = min ] || { echo "bench: STAT must be median or min" >&2; exit 1; }
SHARED=../shared
ORT_MODULES=${ORT_MODULES:-tools/ort/node_modules}
ORT_BENCH=$SHARED/tools/ort-eval/bench.js
BENCH_MODELS=${BENCH_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/qwac/bench-models}
PYTHON=/usr/bin/python3
[ -x "$QWAC" ] || { echo "bench: $QWAC not found; run bash scripts/setup.sh first" >&2; exit 1; }
[ -d $SHARED/assets ] || { echo "bench: $SHARED/assets not found" >&2; exit 1; }
have_ort=1
if [ ! -d "$ORT_MODULES/onnxruntime-node" ] || [ ! -f "$ORT_BENCH" ] || ! command -v node >/dev/null; then
  echo "bench: ONNX Runtime not available ($ORT_MODULES/onnxruntime-node, $ORT_BENCH); ORT columns left empty" >&2
  have_ort=0
fi

# Writes the generated benchmark networks into $BENCH_MODELS (../shared/assets/make/export_bench_models.py with
# Debian's python3-torch/torchvision, ~20 s) unless every one named ($@, folder names) is already there.
ensure_bench_models() {
  local net
  for net in "$@"; do
    if [ ! -f "$BENCH_MODELS/$net/model.onnx" ]; then
      echo "bench: generating the benchmark networks into $BENCH_MODELS (export_bench_models.py)" >&2
      mkdir -p "$BENCH_MODELS"
      "$PYTHON" $SHARED/assets/make/export_bench_models.py --out "$BENCH_MODELS" >&2
      return
    fi
  done
}

# Latency in ms ($STAT) from `qwac bench` output.
qwac_ms() {
  "$QWAC" bench "$@" --threads "$THREADS" --iterations "$ITERS" --warmup "$WARMUP" |
    sed -n "s/^latency: .*$STAT \([0-9.]*\) ms.*/\1/p"
}

# Latency in ms ($STAT) of ONNX Runtime on a file whose batch is already the one wanted; "error" if it fails, empty
# when ONNX Runtime is not installed.
ort_ms() {
  [ "$have_ort" = 1 ] || { echo ""; return; }
  local json
  json=$(NODE_PATH="$ORT_MODULES" node "$ORT_BENCH" "$1" --threads "$THREADS" --iters "$ITERS" --warmup "$WARMUP" \
           --json 2>/dev/null) || { echo "error"; return; }
  sed -n "s/.*\"${STAT}_ms\":\([0-9.]*\).*/\1/p" <<<"$json"
}

# The four-way table of modern.sh and transformer.sh: qwac and ONNX Runtime, each on the FP32 model and on qwac's
# QDQ file, re-batched into $TMP. four_way_row NAME BATCH FP32_MODEL QDQ_MODEL prints one row.
four_way_header() {
  printf '| model | batch | qwac FP32 ms | ORT FP32 ms | qwac INT8 ms | ORT on qwac QDQ ms | qwac FP32 vs ORT FP32 | qwac INT8 vs qwac FP32 | ORT QDQ vs ORT FP32 | qwac INT8 vs ORT QDQ |\n'
  printf '|---|---|---|---|---|---|---|---|---|---|\n'
}
four_way_row() {
  local name=$1 batch=$2 model=$3 qdq=$4 f of i oq
  "$QWAC" convert "$model" --batch "$batch" --output "$TMP/fp32-b$batch.onnx" > /dev/null
  "$QWAC" convert "$qdq" --batch "$batch" --output "$TMP/qdq-b$batch.onnx" > /dev/null
  f=$(qwac_ms "$TMP/fp32-b$batch.onnx")
  of=$(ort_ms "$TMP/fp32-b$batch.onnx")
  i=$(qwac_ms "$TMP/qdq-b$batch.onnx")
  oq=$(ort_ms "$TMP/qdq-b$batch.onnx")
  awk -v m="$name" -v b="$batch" -v f="$f" -v of="$of" -v i="$i" -v oq="$oq" 'BEGIN {
    num = "^[0-9.]+$"
    r1 = (f ~ num && of ~ num) ? sprintf("%.2fx", of / f) : "n/a"
    r2 = (f ~ num && i ~ num) ? sprintf("%.2fx", f / i) : "n/a"
    r3 = (of ~ num && oq ~ num) ? sprintf("%.2fx", of / oq) : "n/a"
    r4 = (i ~ num && oq ~ num) ? sprintf("%.2fx", oq / i) : "n/a"
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", m, b, f, of, i, oq, r1, r2, r3, r4 }'
}
