#!/usr/bin/env bash
# Render test of the HTML report (issue 20): an accuracy-aware run of mnist-cntk on 2,000 MNIST test images (shared
# assets) with `qwac quantize --html`, the same page rendered again from its JSON by `qwac report` (must be
# byte-identical: both are renderers of one typed Report), then headless Chromium: a screenshot that must be a
# non-blank PNG, no console message, and the DOM the browser built holding every section and its charts.
# Skips (exit 77) with a message when Chromium or ../shared is absent.
#   usage: render_test.sh QWAC_CLI SOURCE_DIR SHARED_DIR WORK_DIR
set -euo pipefail
cli=$1 src=$2 shared=$3 work=$4
chromium=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$chromium" ]]; then
  echo "SKIP: chromium not found (Debian: apt-get install chromium); the HTML render test needs a headless browser"
  exit 77
fi
if [[ ! -f "$shared/assets/models/mnist-cntk/model.onnx" ]]; then
  echo "SKIP: $shared/assets is absent (the shared models and data)"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"
# The example config with absolute paths, 2,000 samples, and the label-free NMSE to the FP32 outputs as the controlled
# metric with a bound tight enough to make the search revert groups (MNIST accuracy barely moves with 8 bits).
/usr/bin/python3 - "$src/examples/mnist-cntk-mnist-test-aaq.json" "$shared" "$work/config.json" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
a = sys.argv[2] + "/assets"
cfg["model"]["model"] = a + "/models/mnist-cntk/model.onnx"
d = cfg["engine"]["dataset"]
d["images"] = a + "/data/mnist-test/t10k-images-idx3-ubyte.gz"
d["labels"] = a + "/data/mnist-test/t10k-labels-idx1-ubyte.gz"
d["range"] = [0, 2000]
cfg["engine"]["metrics"].append({"type": "nmse"})
params = cfg["compression"]["algorithms"][0]["params"]
params["maximal_drop"] = 0.00008
params["metrics"] = [{"name": "nmse"}]
json.dump(cfg, open(sys.argv[3], "w"), indent=2)
PY
rc=0
"$cli" quantize --config "$work/config.json" --output "$work/model.onnx" --report "$work/report.json" \
  --html "$work/report.html" --quiet || rc=$?
if [[ $rc -ne 0 && $rc -ne 8 ]]; then echo "FAIL: qwac quantize exited $rc"; exit 1; fi
"$cli" report "$work/report.json" --output "$work/from-json.html" >/dev/null
cmp "$work/report.html" "$work/from-json.html" || { echo "FAIL: --html and qwac report differ"; exit 1; }
# The documented errors: a missing report is an I/O error (3), an output over the input a bad argument (2).
set +e
"$cli" report "$work/missing.json" 2>"$work/err.txt"; e1=$?
"$cli" report "$work/report.json" --output "$work/report.json" 2>>"$work/err.txt"; e2=$?
set -e
if [[ $e1 -ne 3 || $e2 -ne 2 ]]; then echo "FAIL: exit codes $e1 (want 3) and $e2 (want 2)"; cat "$work/err.txt"; exit 1; fi
if [[ $(wc -l <"$work/err.txt") -ne 2 ]]; then echo "FAIL: errors are not one line each"; cat "$work/err.txt"; exit 1; fi

flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --user-data-dir="$work/profile"
       --enable-logging=stderr --v=0)
timeout 180 "$chromium" "${flags[@]}" --screenshot="$work/report.png" --window-size=1280,2400 \
  "file://$work/report.html" 2>"$work/chromium-screenshot.log" >/dev/null
timeout 180 "$chromium" "${flags[@]}" --dump-dom "file://$work/report.html" 2>"$work/chromium-dom.log" \
  >"$work/dom.html"
if grep -h "CONSOLE" "$work"/chromium-*.log; then echo "FAIL: console messages (above)"; exit 1; fi
/usr/bin/python3 - "$work/report.png" "$work/dom.html" <<'PY'
import struct, sys, zlib
png = open(sys.argv[1], "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w, h = 8, b"", 0, 0
while pos < len(png):
    n, kind = struct.unpack(">I4s", png[pos:pos + 8])
    body = png[pos + 8:pos + 8 + n]
    if kind == b"IHDR": w, h = struct.unpack(">II", body[:8])
    if kind == b"IDAT": idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
distinct = len(set(raw))
assert w >= 1000 and h >= 1000, f"screenshot {w}x{h}"
assert distinct > 40, f"blank screenshot ({distinct} distinct byte values)"
dom = open(sys.argv[2], encoding="utf-8").read()
for needle in ['id="headline"', 'id="search"', 'id="sensitivity"', 'id="network"', 'id="config"',
               'class="chart"', 'class="chart bars"', 'class="chart strip"', 'class="cell p-int8"']:
    assert needle in dom, f"the browser's DOM lacks {needle}"
print(f"PASS: {w}x{h} PNG, {len(png)} bytes, {distinct} distinct byte values; DOM has every section")
PY
