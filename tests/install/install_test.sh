#!/usr/bin/env bash
# The installed package stands alone: install the build tree into a fresh prefix, build examples/cpp against it
# with find_package(qwac) (and once more with pkg-config), and run the program on the bundled MNIST demo data.
# Usage (ctest runs it): install_test.sh BUILD_DIR SOURCE_DIR WORK_DIR CXX_COMPILER [LAUNCHER]
set -euo pipefail
build=$1 src=$2 work=$3 cxx=$4 launcher=${5:-}
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
# Nothing from src/ may be installed: the headers are include/qwac only.
if find "$work/prefix/include" -type f ! -path "*/include/qwac/*" | grep -q .; then
  echo "FAIL: files outside include/qwac installed:"; find "$work/prefix/include" -type f ! -path "*/include/qwac/*"
  exit 1
fi
args=(-S "$src/examples/cpp" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_COMPILER="$cxx"
      -DCMAKE_BUILD_TYPE=Release)
command -v ninja >/dev/null && args+=(-G Ninja)
[ -n "$launcher" ] && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher")
cmake "${args[@]}" >"$work/configure.log"
cmake --build "$work/build" >"$work/build.log"
data="$src/examples/data"
"$work/build/quantize_with_own_metric" "$data/mnist-cntk/model.onnx" "$data/mnist-test-1000/t10k-images-idx3-ubyte.gz" \
  "$data/mnist-test-1000/t10k-labels-idx1-ubyte.gz" "$work/model.int8.onnx" "$work/report.json" 2>"$work/run.err" |
  tee "$work/run.out"
test -s "$work/model.int8.onnx"
grep -q '"schema_version": 1' "$work/report.json"
grep -q 'digit_accuracy: fp32 0.9870' "$work/run.out"
# pkg-config finds the same package (relocatable .pc)
pc_dir=$(dirname "$(find "$work/prefix" -name qwac.pc | head -1)")
flags=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs qwac)
# shellcheck disable=SC2086
"$cxx" -O1 -o "$work/with_pkg_config" "$src/examples/cpp/quantize_with_own_metric.cc" $flags
"$work/with_pkg_config" >/dev/null 2>&1 || [ $? -eq 2 ]  # usage message: it links and runs
echo "installed package: find_package and pkg-config builds run"
