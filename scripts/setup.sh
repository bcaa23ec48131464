#!/usr/bin/env bash
# Installs qwac's build dependencies from Debian 12 packages and builds it (Release) into ./build.
# Usage (as root on a fresh Debian 12 machine): bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libdnnl-dev                 # oneDNN 2.6: FP32 and INT8 kernels
  libonnx-dev libonnx-testdata  # ONNX model classes, checker, shape inference; backend conformance data
  libprotobuf-dev protobuf-compiler
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libjpeg62-turbo-dev libpng-dev zlib1g-dev
  libomp-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

BUILD_DIR=${QWAC_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "[setup] built: $BUILD_DIR/qwac"
