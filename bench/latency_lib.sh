# Sourced by the latency benchmarks (int8.sh, modern.sh, transformer.sh, after their `cd` to the repository): the one
# way they read a latency from `qwac bench` and from ONNX Runtime's bench.js. Uses QWAC, THREADS, ITERS, WARMUP,
# have_ort, ORT_MODULES, ORT_BENCH; STAT picks the statistic (median, the default, or min).
STAT=${STAT:-median}

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
