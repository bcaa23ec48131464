#!/usr/bin/env bash
# The whole product in one command on the small example that ships in the repository (examples/data: the
# mnist-cntk model and the first 1000 MNIST test images, see examples/data/README.md): installs and builds if
# needed, then quantizes with accuracy control (maximal_drop 0.001) and prints the summary. Outputs go to
# demo-output/ (model.int8.onnx and report.json).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/qwac ] || bash scripts/setup.sh
mkdir -p demo-output
build/qwac quantize --config examples/demo.json --output demo-output/model.int8.onnx --report demo-output/report.json
echo "wrote demo-output/model.int8.onnx and demo-output/report.json"
