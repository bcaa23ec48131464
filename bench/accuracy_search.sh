#!/usr/bin/env bash
# Accuracy-aware quantization cost (issue 19): for each model, AccuracyAwareQuantization with its example config
# (the default `bisection` search, then `search: greedy` on the same config), timed against one FP32 validation
# (`qwac evaluate` of the same validation set, measured before and after the searches, mean of the two) in the
# same run, 2 threads. Reports the reverted ops of both searches, the full validations, the drop qwac reports and
# the drop ONNX Runtime 1.30 (../shared/tools/ort-eval/eval.js) measures on the written file against the FP32
# file, and the peak RSS (GNU time) of the search against the issue's bound: 2x that of the FP32 evaluate plus the
# model's size times the engine's two streams.
# Usage: bash bench/accuracy_search.sh [example-config-name ...]
#   (default: the mobilenetv3s-cifar10 and vit-fashion-mnist aaq-0.002 examples; needs a build and ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
QWAC=${QWAC:-build/qwac}
THREADS=${THREADS:-2}
ORT_MODULES=${ORT_MODULES:-tools/ort/node_modules}
ORT_EVAL=/work/shared/tools/ort-eval/eval.js
[ -f "$ORT_EVAL" ] || ORT_EVAL=../shared/tools/ort-eval/eval.js
[ -x "$QWAC" ] || { echo "bench: $QWAC not found; run bash scripts/setup.sh first" >&2; exit 1; }
[ -d ../shared/assets ] || { echo "bench: ../shared/assets not found" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench: jq is needed" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: GNU time (/usr/bin/time) is needed" >&2; exit 1; }
have_ort=1
if [ ! -d "$ORT_MODULES/onnxruntime-node" ] || [ ! -f "$ORT_EVAL" ] || ! command -v node >/dev/null; then
  echo "bench: ONNX Runtime not available; ORT columns left empty" >&2
  have_ort=0
fi
CONFIGS=("$@")
[ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=(mobilenetv3s-cifar10-cifar10-split-eval-2000-aaq-0.002
                                      vit-fashion-mnist-fashion-mnist-split-eval-2000-aaq-0.002)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
EX=$(realpath examples)

# A copy of an example config with absolute paths (it is written outside examples/) and `search` set.
with_search() {  # config search out
  jq --arg ex "$EX" --arg s "$2" '
    def abs: if type == "string" and startswith("../") then $ex + "/" + . else . end;
    .model.model |= abs
    | .engine.dataset.images |= abs | .engine.dataset.labels |= abs
    | (if .engine.calibration_dataset then .engine.calibration_dataset.images |= abs
         | .engine.calibration_dataset.labels |= abs else . end)
    | .compression.algorithms[0].params.search = $s' "examples/$1.json" > "$3"
}
# Runs a command under GNU time: prints "seconds max_rss_kb".
timed() {  # log command...
  local log=$1; shift
  /usr/bin/time -f '%e %M' -o "$TMP/time" "$@" > "$log" 2>&1 || { echo "bench: failed: $* (see below)" >&2; tail -5 "$log" >&2; }
  tail -1 "$TMP/time"
}
# eval.js flags for a config's validation set: the config's scale (absent = 1, "1/255" as a fraction), mean and std
# (a number or one per channel), color, crop and resize, as qwac applies them.
ort_flags() {  # config
  local c=examples/$1.json
  local type images labels scale mean std color crop resize
  type=$(jq -r '.engine.dataset.type' "$c")
  images=$EX/$(jq -r '.engine.dataset.images' "$c")
  labels=$EX/$(jq -r '.engine.dataset.labels' "$c")
  scale=$(jq -r '.engine.dataset.preprocessing.scale // 1 | tostring' "$c")
  case $scale in */*) scale=$(awk -v f="$scale" 'BEGIN{split(f, a, "/"); printf "%.17g", a[1] / a[2]}') ;; esac
  mean=$(jq -r '.engine.dataset.preprocessing.mean // empty | if type == "array" then map(tostring) | join(",") else tostring end' "$c")
  std=$(jq -r '.engine.dataset.preprocessing.std // empty | if type == "array" then map(tostring) | join(",") else tostring end' "$c")
  color=$(jq -r '.engine.dataset.preprocessing.color // empty' "$c")
  crop=$(jq -r '.engine.dataset.preprocessing.crop // empty | if type == "array" then .[0] else . end | tostring' "$c")
  resize=$(jq -r '.engine.dataset.preprocessing.resize // empty | if type == "array" then .[0] else . end | tostring' "$c")
  if [ "$type" = idx ]; then printf -- '--task idx'; else printf -- '--task images'; fi
  printf -- ' --images %s --labels %s --scale %s --batch 100' "$images" "$labels" "$scale"
  [ -z "$mean" ] || printf -- ' --mean %s' "$mean"
  [ -z "$std" ] || printf -- ' --std %s' "$std"
  [ -z "$color" ] || printf -- ' --color %s' "$color"
  [ -z "$crop" ] || printf -- ' --crop %s' "$crop"
  [ -z "$resize" ] || printf -- ' --resize %s' "$resize"
}
ort_top1() {  # model config
  [ "$have_ort" = 1 ] || { echo ""; return; }
  # shellcheck disable=SC2046
  NODE_PATH="$ORT_MODULES" node "$ORT_EVAL" --model "$1" $(ort_flags "$2") --json 2>/dev/null |
    jq -r 'select(.top1 != null) | .top1' | tail -1
}

printf '| model | search | wall time | x one FP32 validation | full validations | reverted ops | drop qwac / ORT | peak RSS | RSS bound |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for config in "${CONFIGS[@]}"; do
  model=$EX/$(jq -r '.model.model' "examples/$config.json")
  model=$(realpath "$model")
  read -r e1 rss_eval < <(timed "$TMP/eval1.log" "$QWAC" evaluate --config "examples/$config.json" --threads "$THREADS" --quiet)
  rows=()
  for search in bisection greedy; do
    with_search "$config" "$search" "$TMP/$search.json"
    read -r secs rss < <(timed "$TMP/$search.log" "$QWAC" quantize --config "$TMP/$search.json" --threads "$THREADS" \
                           --output "$TMP/$search.onnx" --report "$TMP/$search.report.json")
    rows+=("$search $secs $rss")
  done
  read -r e2 rss_eval2 < <(timed "$TMP/eval2.log" "$QWAC" evaluate --config "examples/$config.json" --threads "$THREADS" --quiet)
  fp32_s=$(echo "$e1 $e2" | awk '{printf "%.2f", ($1 + $2) / 2}')
  [ "$rss_eval2" -gt "$rss_eval" ] && rss_eval=$rss_eval2
  size_kb=$(( $(stat -c %s "$model") / 1024 ))
  bound_kb=$(( 2 * rss_eval + 2 * size_kb ))
  ort_fp32=$(ort_top1 "$model" "$config")
  for row in "${rows[@]}"; do
    read -r search secs rss <<<"$row"
    r=$TMP/$search.report.json
    drop=$(jq -r '.metrics["accuracy@top1"] | (.fp32 - .final) | . * 10000 | round / 10000' "$r")
    ort_q=$(ort_top1 "$TMP/$search.onnx" "$config")
    ort_drop=$( [ -n "$ort_fp32" ] && [ -n "$ort_q" ] && awk -v a="$ort_fp32" -v b="$ort_q" 'BEGIN{printf "%.4f", a - b}')
    printf '| %s | %s | %.1f s (FP32 validation %s s: %s, %s) | %.1fx | %s | %s of %s | %s / %s | %d MB | %d MB |\n' \
      "${config%-aaq*}" "$search" "$secs" "$fp32_s" "$e1" "$e2" "$(echo "$secs $fp32_s" | awk '{print $1 / $2}')" \
      "$(jq -r '.full_validations' "$r")" "$(jq -r '.reverted_ops | length' "$r")" \
      "$(jq -r '.quantized_ops_total' "$r")" "$drop" "${ort_drop:-n/a}" \
      $(( rss / 1024 )) $(( bound_kb / 1024 ))
    cp "$r" "/tmp/accuracy_search.$config.$search.report.json" 2>/dev/null || true
  done
done
