#!/bin/sh
# Reproduces the README's opset matrix: builds the corpus test, generates the corpus (torch exports at opsets 9-17,
# skipped when up to date), runs it (qwac FP32 / canonical / int8 runs and ONNX Runtime on the same files) and
# prints the table it wrote.
#   tests/corpus/matrix.sh [BUILD_DIR]      (default: build)
set -e
build=${1:-build}
cmake --build "$build" --target qwac_corpus_tests qwac_cli
ctest --test-dir "$build" -L corpus --output-on-failure
cat "$build/tests/corpus/matrix.md"
