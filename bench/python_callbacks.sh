#!/usr/bin/env bash
# Cost of Python callbacks: one full validation of mobilenetv3s-cifar10 on the CIFAR-10 evaluation split (2000
# JPEGs) by the CLI (C++ decoding, built-in metric) and from Python (PIL decoding in a POT DataLoader + the seeds'
# Metric; and NNCF's validation_fn calling compiled_model(images) once per image), then the whole accuracy-aware
# run both ways (examples/python/mobilenetv3s-cifar10-eval-2000-aaq.json vs examples/python/pot_accuracy_aware.py).
# Usage: bash bench/python_callbacks.sh [BUILD_DIR]   (needs ../shared; 2 threads; prints a table)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
QWAC=$BUILD/qwac
CFG=examples/python/mobilenetv3s-cifar10-eval-2000-aaq.json
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export PYTHONPATH=$PWD/$BUILD/python
THREADS=2

t_cli_eval=$( { /usr/bin/time -f %e "$QWAC" evaluate --config "$CFG" --threads $THREADS --quiet >/dev/null; } 2>&1 | tail -1)

read -r t_pot_eval t_nncf_eval < <(/usr/bin/python3 - "$THREADS" <<'PY'
import sys, time
sys.path.insert(0, "examples/python")
import numpy as np, qwac
from pot_accuracy_aware import Accuracy, CifarLoader, SHARED
from qwac.pot import IEEngine, create_pipeline, load_model
threads = int(sys.argv[1])
model_path = f"{SHARED}/models/mobilenetv3s-cifar10/model.onnx"
loader = CifarLoader(f"{SHARED}/data/cifar10-test-jpeg", "split-eval-2000.csv")
engine = IEEngine({"device": "CPU", "threads": threads, "show_progress": False}, loader, Accuracy())
pipeline = create_pipeline([{"name": "DefaultQuantization", "params": {}}], engine)
t0 = time.monotonic(); pipeline.evaluate(load_model({"model": model_path})); t_pot = time.monotonic() - t0
# NNCF: the user's loop, one compiled_model call per image, inside a validation function.
items = [loader[i] for i in range(len(loader))]
ds = qwac.Dataset(items, lambda item: item[0])
elapsed = []
def validate(model, data):
    t0 = time.monotonic()
    hits = [float(np.argmax(model(x)[0]) == y) for x, y in data]
    elapsed.append(time.monotonic() - t0)
    return float(np.mean(hits)), hits
try:
    qwac.quantize_with_accuracy_control(model_path, ds, ds, validate, max_drop=1.0, show_progress=False,
                                        execution=qwac.ExecutionOptions(threads=threads))
except qwac.AccuracyNotReached:
    pass
print(f"{t_pot:.2f} {elapsed[0]:.2f}")
PY
)

t_cli_aaq=$( { /usr/bin/time -f %e "$QWAC" quantize --config "$CFG" --threads $THREADS --output "$TMP/cli.onnx" \
                 --report "$TMP/cli.json" --quiet >/dev/null; } 2>&1 | tail -1)
t_pot_aaq=$( { /usr/bin/time -f %e /usr/bin/python3 examples/python/pot_accuracy_aware.py --save-path "$TMP/pot" \
                 --quiet >/dev/null; } 2>&1 | tail -1)
full_cli=$(/usr/bin/python3 -c "import json; print(json.load(open('$TMP/cli.json'))['full_validations'])")
full_pot=$(/usr/bin/python3 -c "import json; print(json.load(open('$TMP/pot/report.json'))['full_validations'])")

echo "| run | CLI s | Python s | Python / CLI |"
echo "|---|---|---|---|"
awk -v c="$t_cli_eval" -v p="$t_pot_eval" 'BEGIN{printf "| full validation, POT DataLoader (PIL) + Metric | %.2f | %.2f | %.2fx |\n", c, p, p/c}'
awk -v c="$t_cli_eval" -v p="$t_nncf_eval" 'BEGIN{printf "| full validation, NNCF validation_fn (1 image per call) | %.2f | %.2f | %.2fx |\n", c, p, p/c}'
awk -v c="$t_cli_aaq" -v p="$t_pot_aaq" -v fc="$full_cli" -v fp="$full_pot" \
  'BEGIN{printf "| accuracy-aware run (%s / %s full validations) | %.2f | %.2f | %.2fx |\n", fc, fp, c, p, p/c}'
