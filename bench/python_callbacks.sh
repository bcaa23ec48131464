#!/usr/bin/env bash
# Cost of Python callbacks: one full validation of mobilenetv3s-cifar10 on the CIFAR-10 evaluation split (2000
# JPEGs) by the CLI (C++ decoding, built-in metric) and from Python: a POT DataLoader (PIL decoding) + the seeds'
# Metric through pipeline.evaluate, and NNCF's validation_fn calling compiled_model(image) once per image (its items
# decoded beforehand, so this row is the engine + callback cost alone). With --with-aaq, also the whole accuracy-aware
# run both ways (examples/python/mobilenetv3s-cifar10-eval-2000-aaq.json vs examples/python/pot_accuracy_aware.py).
# Each figure is printed as soon as it is measured (seconds, wall time, 2 engine threads).
# Usage: bash bench/python_callbacks.sh [BUILD_DIR] [--with-aaq]   (needs ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
WITH_AAQ=${2:-}
QWAC=$BUILD/qwac
CFG=examples/python/mobilenetv3s-cifar10-eval-2000-aaq.json
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export PYTHONPATH=$PWD/$BUILD/python
THREADS=2

t_cli_eval=$( { /usr/bin/time -f %e "$QWAC" evaluate --config "$CFG" --threads $THREADS --quiet >/dev/null; } 2>&1 | tail -1)
echo "full validation, CLI (C++ decoding, built-in accuracy): $t_cli_eval s"

/usr/bin/python3 - "$THREADS" "$t_cli_eval" <<'PY'
import sys, time
sys.path.insert(0, "examples/python")
import numpy as np, qwac
from pot_accuracy_aware import Accuracy, CifarLoader, SHARED
from qwac.pot import IEEngine, create_pipeline, load_model
threads, t_cli = int(sys.argv[1]), float(sys.argv[2])
model_path = f"{SHARED}/models/mobilenetv3s-cifar10/model.onnx"
loader = CifarLoader(f"{SHARED}/data/cifar10-test-jpeg", "split-eval-2000.csv")
engine = IEEngine({"device": "CPU", "threads": threads, "show_progress": False}, loader, Accuracy())
pipeline = create_pipeline([{"name": "DefaultQuantization", "params": {}}], engine)
t0 = time.monotonic(); pipeline.evaluate(load_model({"model": model_path})); t_pot = time.monotonic() - t0
print(f"full validation, POT DataLoader (PIL) + Metric: {t_pot:.2f} s ({t_pot / t_cli:.2f}x the CLI)", flush=True)
# NNCF: the user's loop, one compiled_model call per image, inside a validation function (items decoded above).
items = [loader[i] for i in range(len(loader))]
ds = qwac.Dataset(items, lambda item: item[0])
elapsed = []
def validate(model, data):
    t0 = time.monotonic()
    hits = [float(np.argmax(model(x)[0]) == y) for x, y in data]
    elapsed.append(time.monotonic() - t0)
    if len(elapsed) == 1:
        print(f"full validation, NNCF validation_fn (1 image per call, decoded beforehand): {elapsed[0]:.2f} s "
              f"({elapsed[0] / t_cli:.2f}x the CLI)", flush=True)
        raise KeyboardInterrupt  # the FP32 validation is the measurement; stop the run there
    return float(np.mean(hits)), hits
try:
    qwac.quantize_with_accuracy_control(model_path, ds, ds, validate, max_drop=1.0, show_progress=False,
                                        execution=qwac.ExecutionOptions(threads=threads))
except KeyboardInterrupt:
    pass
PY

if [ "$WITH_AAQ" = "--with-aaq" ]; then
  t_cli_aaq=$( { /usr/bin/time -f %e "$QWAC" quantize --config "$CFG" --threads $THREADS --output "$TMP/cli.onnx" \
                   --report "$TMP/cli.json" --quiet >/dev/null; } 2>&1 | tail -1)
  echo "accuracy-aware run, CLI: $t_cli_aaq s"
  t_pot_aaq=$( { /usr/bin/time -f %e /usr/bin/python3 examples/python/pot_accuracy_aware.py --save-path "$TMP/pot" \
                   --threads $THREADS --quiet >/dev/null; } 2>&1 | tail -1)
  full_cli=$(/usr/bin/python3 -c "import json; print(json.load(open('$TMP/cli.json'))['full_validations'])")
  full_pot=$(/usr/bin/python3 -c "import json; print(json.load(open('$TMP/pot/report.json'))['full_validations'])")
  echo "accuracy-aware run, POT example: $t_pot_aaq s ($full_pot full validations; CLI $full_cli)"
fi
