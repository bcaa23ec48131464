#!/usr/bin/env bash
# Installs qwac's build dependencies from Debian 12 packages and builds it (Release) into ./build.
# Usage (as root on a fresh Debian 12 machine): bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ccache ca-certificates
  libdnnl-dev                 # oneDNN 2.6: FP32 and INT8 kernels
  ocl-icd-opencl-dev opencl-headers  # oneDNN's CMake config looks for OpenCL (libdnnl-dev only recommends them)
  libonnx-dev libonnx-testdata  # ONNX model classes, checker, shape inference; backend conformance data
  libprotobuf-dev protobuf-compiler
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libjpeg62-turbo-dev libpng-dev zlib1g-dev
  libjpeg-turbo-progs         # djpeg: the reference JPEG decoder of the tests and of ../shared/tools/ort-eval
  libomp-dev
  python3 python3-numpy python3-onnx python3-pytest pybind11-dev python3-dev  # the Python module and its tests
  python3-torch python3-torchvision  # test corpus and benchmark models exported by torch (scripts in tests/, bench/)
  chromium                    # headless render test of the HTML report
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

# ONNX Runtime (npm package onnxruntime-node, CPU) for the interop tests: they run our QDQ exports through it and
# skip with a message when it is missing, so a failure here only warns. Debian 12 ships Node.js 18 (nodejs/npm);
# onnxruntime-node's N-API binding loads on it, and the load check below says so if it does not.
ORT_DIR=tools/ort
ort_warn() { echo "[setup] WARNING: $1; the ONNX Runtime interop tests will be skipped" >&2; }
ort_complete() {
  [ -f "$ORT_DIR/node_modules/onnxruntime-node/package.json" ] &&
    [ -f "$ORT_DIR/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node" ] &&
    [ -f "$ORT_DIR/node_modules/jpeg-js/package.json" ] && [ -f "$ORT_DIR/node_modules/pngjs/package.json" ]
}
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "[setup] installing Debian's nodejs npm (for the ONNX Runtime interop tests)"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm; } ||
    ort_warn "could not install nodejs/npm with apt-get"
fi
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  if ort_complete; then
    echo "[setup] $ORT_DIR/node_modules is complete"
  elif ! (cd "$ORT_DIR" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund); then
    ort_warn "'npm install' in $ORT_DIR failed"
  fi
  if ort_complete && ! (cd "$ORT_DIR" && node -e "require('onnxruntime-node')") >/dev/null 2>&1; then
    ort_warn "onnxruntime-node does not load with node $(node --version)"
  fi
else
  ort_warn "node/npm are not available"
fi

BUILD_DIR=${QWAC_BUILD_DIR:-build}
LAUNCHER=()
command -v ccache >/dev/null 2>&1 && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)  # rebuilds of other checkouts reuse objects
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${LAUNCHER[@]}"
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "[setup] built: $BUILD_DIR/qwac"

# The Python module (qwac._qwac + the qwac package) is built above into $BUILD_DIR/python. Debian's interpreter
# finds it through a .pth file in its site-packages folder (/usr/local/lib/python3.X/dist-packages), so
# `/usr/bin/python3 -c "import qwac"` works from any folder. (`cmake --install` installs it elsewhere instead.)
if [ -f "$BUILD_DIR/python/qwac/__init__.py" ] && [ -x /usr/bin/python3 ]; then
  site=$(/usr/bin/python3 -c "import site; print(site.getsitepackages()[0])")
  mkdir -p "$site"
  echo "$(cd "$BUILD_DIR/python" && pwd)" > "$site/qwac.pth"
  if /usr/bin/python3 -c "import qwac" 2>/dev/null; then
    echo "[setup] import qwac works for /usr/bin/python3 ($site/qwac.pth -> $BUILD_DIR/python)"
  else
    echo "[setup] WARNING: /usr/bin/python3 cannot import qwac from $BUILD_DIR/python" >&2
  fi
fi
