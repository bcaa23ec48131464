#!/usr/bin/env bash
# Runs every qwac test suite (unit, ONNX conformance, end-to-end on ../shared/assets).
# Builds first (installing dependencies with scripts/setup.sh when they or the build are missing).
# Usage: bash scripts/test.sh [extra ctest args, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${QWAC_BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ] || ! dpkg -s libdnnl-dev libonnx-dev libonnx-testdata >/dev/null 2>&1; then
  bash scripts/setup.sh
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"
