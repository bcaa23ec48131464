#!/usr/bin/env bash
# The libFuzzer campaign of README "Reliability": each target runs for SECONDS at nice 19 (the machine is shared),
# from seed corpora built here (no binary seeds are committed):
#   model_import_fuzzer: the fuzz suite's generated models plus the ONNX backend test models (Debian's
#                        libonnx-testdata: one small model per op, so every op's attributes get mutated);
#   config_fuzzer:       the example configs, with a dictionary of every config key from docs/config.md.
# Crashes, leaks, timeouts and sanitizer reports are written to OUT/artifacts/ (none expected); the summary lines
# (executions, coverage, findings) are printed at the end.
# Usage: bash tests/fuzz/libfuzzer/run_campaign.sh BUILD_DIR [SECONDS per target] [OUT]
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD=${1:?usage: run_campaign.sh BUILD_DIR [SECONDS] [OUT]}
SECONDS_PER_TARGET=${2:-900}
OUT=${3:-$BUILD/fuzz-campaign}
mkdir -p "$OUT/artifacts" "$OUT/corpus/model" "$OUT/corpus/config" "$OUT/seeds/model" "$OUT/seeds/config"

# Seeds.
/usr/bin/python3 - "$OUT/seeds/model" <<'PY'
import os, sys
sys.path.insert(0, "tests/fuzz")
import fuzz_cli as f
out = sys.argv[1]
models = {"conv": f.conv_model(), "mlp": f.mlp_model(), "qdq": f.qdq_model(), "conv_opset6": f.conv_model(opset=6),
          "conv_opset11": f.conv_model(opset=11)}
models["conv_opset6"].ir_version = 3
for name, m in models.items():
    with open(os.path.join(out, name + ".onnx"), "wb") as fh:
        fh.write(m.SerializeToString())
PY
if [ -d /usr/share/libonnx-testdata/data/node ]; then
  for m in /usr/share/libonnx-testdata/data/node/*/model.onnx; do
    cp "$m" "$OUT/seeds/model/$(basename "$(dirname "$m")").onnx"
  done
fi
cp examples/*.json "$OUT/seeds/config/"
grep -o '`[a-z_]\+`' docs/config.md | tr -d '`' | sort -u | sed 's/.*/"\0"/' > "$OUT/config.dict"

run() {
  local target=$1 corpus=$2 seeds=$3; shift 3
  # -rss_limit_mb: far above the 256 MiB memory budget the targets set, so only a real leak or bomb trips it.
  nice -n 19 "$BUILD/tests/fuzz/$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$target-" "$@" "$corpus" "$seeds" \
    >"$OUT/$target.log" 2>&1 || true
}
summary() {
  local target=$1 corpus=$2
  echo "== $target: $SECONDS_PER_TARGET s"
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)|#[0-9]+ *DONE" "$OUT/$target.log" || true
  echo "corpus: $(ls "$corpus" | wc -l) new inputs; findings: $(ls "$OUT/artifacts" | grep -c "^$target-" || true)"
}
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The two targets run side by side (one core each).
run model_import_fuzzer "$OUT/corpus/model" "$OUT/seeds/model" -max_len=65536 &
run config_fuzzer "$OUT/corpus/config" "$OUT/seeds/config" -max_len=16384 -dict="$OUT/config.dict" &
wait
summary model_import_fuzzer "$OUT/corpus/model"
summary config_fuzzer "$OUT/corpus/config"
