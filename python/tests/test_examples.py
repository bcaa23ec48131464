"""The two seed examples (examples/python) on mobilenetv3s-cifar10, run as a user runs them, and the models they
write run by ONNX Runtime (shared/tools/ort-eval/eval.js) with the accuracy drop the run reports. Run by ctest as
`python_examples` (separately from python_tests, so the two can run in parallel)."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from conftest import SOURCE_DIR, shared

EXAMPLES = SOURCE_DIR / "examples" / "python"
NORMALIZE = ["--scale", "0.00392156862745098", "--mean", "0.4914,0.4822,0.4465", "--std", "0.247,0.2435,0.2616"]


def ort_top1(model, data, limit=None):
    """Top-1 accuracy of `model` by ONNX Runtime on the CIFAR-10 evaluation split (first `limit` images)."""
    node_modules = pathlib.Path(os.environ.get("QWAC_ORT_NODE_MODULES", SOURCE_DIR / "tools" / "ort" / "node_modules"))
    if not (node_modules / "onnxruntime-node").exists():
        pytest.skip(f"{node_modules}/onnxruntime-node is absent (scripts/setup.sh installs it)")
    eval_js = shared("tools/ort-eval/eval.js")
    cmd = ["node", str(eval_js), "--model", str(model), "--task", "images", "--images", str(data / "images"),
           "--labels", str(data / "split-eval-2000.csv"), *NORMALIZE, "--threads", "2", "--json"]
    if limit:
        cmd += ["--limit", str(limit)]
    out = subprocess.run(cmd, env={**os.environ, "NODE_PATH": str(node_modules)}, capture_output=True, text=True,
                         check=True, timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_example(script, *args):
    """Runs an example with Debian's interpreter and the build's package, as the README says; returns stdout."""
    # One engine thread: the NNCF example runs one image per compiled_model call, and two OpenMP threads meeting at
    # a barrier in every kernel of every call crawl when the machine is oversubscribed (ctest -j2 beside other jobs).
    out = subprocess.run([sys.executable, str(EXAMPLES / script), *args, "--threads", "1", "--quiet"],
                         env=dict(os.environ), capture_output=True, text=True, timeout=1500)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


# The examples run on the first LIMIT images of the evaluation split (the whole split takes minutes per full
# validation on a loaded 2-core machine; bench/python_callbacks.sh runs the whole split).
LIMIT = 500
# qwac's int8 kernels and ORT's QDQ kernels round alike but not identically, so a few predictions may flip.
FLIPS = 4


def check_against_ort(fp32_model, int8_model, data, metric, max_drop, limit):
    """ORT runs the written model; its accuracy is the one qwac reported for it (up to FLIPS images), and the drop
    ORT measures holds the bound up to that same tolerance."""
    fp32 = ort_top1(fp32_model, data, limit)
    int8 = ort_top1(int8_model, data, limit)
    assert fp32["samples"] == int8["samples"] == limit
    assert fp32["top1"] == pytest.approx(metric["fp32"], abs=1e-9)  # qwac's FP32 engine agrees with ORT exactly
    assert int8["top1"] == pytest.approx(metric["final"], abs=FLIPS / limit + 1e-9), (int8, metric)
    assert fp32["top1"] - int8["top1"] <= max_drop + FLIPS / limit + 1e-9, (fp32, int8, metric)
    return fp32, int8


def test_nncf_example_quantizes_with_accuracy_control(tmp_path):
    model = shared("assets/models/mobilenetv3s-cifar10/model.onnx")
    data = shared("assets/data/cifar10-test-jpeg")
    output, report_path = tmp_path / "mobilenetv3s.int8.onnx", tmp_path / "report.json"
    stdout = run_example("nncf_accuracy_control.py", "--model", str(model), "--data", str(data), "--output",
                         str(output), "--report", str(report_path), "--max-drop", "0.01", "--validation-limit",
                         str(LIMIT))
    assert "wrote" in stdout
    report = json.loads(report_path.read_text())
    assert report["algorithm"] == "AccuracyAwareQuantization" and report["reached"] is True
    metric = report["metrics"]["accuracy@top1"]
    assert metric["drop"] <= 0.01 + 1e-12
    check_against_ort(model, output, data, metric, 0.01, LIMIT)


def test_pot_example_runs_the_pipeline(tmp_path):
    model = shared("assets/models/mobilenetv3s-cifar10/model.onnx")
    data = shared("assets/data/cifar10-test-jpeg")
    save_path = tmp_path / "optimized_model"
    stdout = run_example("pot_accuracy_aware.py", "--model", str(model), "--data", str(data), "--save-path",
                         str(save_path), "--maximal-drop", "0.02", "--limit", str(LIMIT))
    report = json.loads((save_path / "report.json").read_text())
    assert report["algorithm"] == "AccuracyAwareQuantization" and report["reached"] is True
    metric = report["metrics"]["accuracy@top1"]
    assert metric["drop"] <= 0.02 + 1e-12
    # pipeline.evaluate(compressed_model) measured the written model with the user's Metric: the reported value.
    assert f"evaluate: {metric['final']:.4f}" in stdout
    check_against_ort(model, save_path / "optimized_model.onnx", data, metric, 0.02, LIMIT)


def test_examples_refuse_to_overwrite_their_input(tmp_path):
    """The examples run the CLI's output-path guard first: an output naming the model fails at once, exit 1 with
    qwac.InvalidArgument, and the model is untouched."""
    model = tmp_path / "model.onnx"
    source = shared("assets/models/mobilenetv3s-cifar10/model.onnx")
    model.write_bytes(source.read_bytes())
    out = subprocess.run([sys.executable, str(EXAMPLES / "nncf_accuracy_control.py"), "--model", str(model),
                          "--output", str(tmp_path / "." / "model.onnx"), "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert "InvalidArgument" in out.stderr and "model.onnx" in out.stderr
    assert model.read_bytes() == source.read_bytes()
