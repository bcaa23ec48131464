"""Errors as a Python user expects them: qwac's errors as qwac.Error subclasses with the library's one-line message
and the CLI's exit code; exceptions raised in callbacks propagate with their traceback and leave no output file;
bad arguments are named; Ctrl-C stops a run."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import traceback

import numpy as np
import pytest

import qwac
from qwac.pot import IEEngine, create_pipeline, load_model

QUIET = dict(show_progress=False, execution=qwac.ExecutionOptions(batch_size=1))


@pytest.fixture(scope="module")
def items(demo):
    _, images, labels = demo
    return [(images[i], int(labels[i])) for i in range(60)]


def frames(excinfo):
    return [f.name for f in traceback.extract_tb(excinfo.tb)]


def test_exception_in_transform_fn_propagates_with_its_traceback(demo, items, tmp_path, monkeypatch):
    model, _, _ = demo
    monkeypatch.chdir(tmp_path)

    def bad_transform(item):
        if item[1] == items[7][1]:
            raise ValueError("cannot read this item")
        return item[0]

    with pytest.raises(ValueError, match="cannot read this item") as info:
        qwac.quantize(model, qwac.Dataset(items, bad_transform), subset_size=60, **QUIET)
    assert "bad_transform" in frames(info)
    assert os.listdir(tmp_path) == []


def test_exception_in_validation_fn_and_metric_update(demo, items, tmp_path, monkeypatch):
    model, _, _ = demo
    monkeypatch.chdir(tmp_path)
    ds = qwac.Dataset(items, lambda item: item[0])

    def failing_validation(compiled_model, data):
        raise RuntimeError("my metric failed")

    with pytest.raises(RuntimeError, match="my metric failed") as info:
        qwac.quantize_with_accuracy_control(model, ds, ds, failing_validation, subset_size=20, **QUIET)
    assert not isinstance(info.value, qwac.Error)
    assert "failing_validation" in frames(info)

    from test_pot_api import Accuracy, MnistLoader
    _, images, labels = demo

    class Broken(Accuracy):
        def update(self, output, target):
            raise KeyError("no such annotation")

    engine = IEEngine({"batch_size": 1, "show_progress": False}, MnistLoader(images[:30], labels[:30]), Broken())
    pipeline = create_pipeline([{"name": "AccuracyAwareQuantization", "params": {"stat_subset_size": 10}}], engine)
    with pytest.raises(KeyError, match="no such annotation") as info:
        pipeline.run(load_model({"model": model}))
    assert "update" in frames(info)
    assert os.listdir(tmp_path) == []


def test_keyboard_interrupt_raised_in_a_callback_stops_the_run(demo, items):
    model, _, _ = demo
    calls = []

    def interrupted(item):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return item[0]

    with pytest.raises(KeyboardInterrupt):
        qwac.quantize(model, qwac.Dataset(items, interrupted), subset_size=60, **QUIET)
    assert len(calls) < 60


def test_ctrl_c_stops_a_long_run(demo, tmp_path):
    """SIGINT to a process running a long accuracy-controlled quantization: it stops within seconds with
    KeyboardInterrupt, and writes nothing."""
    model, _, _ = demo
    script = tmp_path / "long_run.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time, numpy as np, qwac
        images = np.random.default_rng(0).uniform(0, 255, (3000, 1, 28, 28)).astype(np.float32)
        ds = qwac.Dataset(list(images))
        def validate(model, items):
            # A slow metric (2 ms a sample, ~6 s a validation): the run must still be going when Ctrl-C comes,
            # however fast the engine gets.
            values = []
            for x in items:
                time.sleep(0.002)
                values.append(model(x)[0][0, 0])
            return float(np.mean(values))
        print("started", flush=True)
        qwac.quantize_with_accuracy_control({str(model)!r}, ds, ds, validate, max_drop=0.0,
                                            execution=qwac.ExecutionOptions(batch_size=1))
        print("finished", flush=True)
    """))
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(qwac.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    time.sleep(3)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 20, "Ctrl-C took too long to stop the run"
    assert "finished" not in out
    assert "KeyboardInterrupt" in err
    assert sorted(os.listdir(tmp_path)) == ["long_run.py"]


@pytest.mark.parametrize("kwargs, error, needle", [
    (dict(preset="fastest"), qwac.InvalidConfig, "preset"),
    (dict(subset_size=0), qwac.InvalidConfig, "stat_subset_size"),
    (dict(target_device="TPU"), qwac.InvalidConfig, "TPU"),
    (dict(ignored_scope=qwac.IgnoredScope(names=["Convolution2"])), qwac.InvalidConfig, "Convolution28"),
    (dict(model_type="bert"), qwac.InvalidConfig, "model_type"),
    (dict(advanced_parameters=qwac.AdvancedQuantizationParameters(export_profile="tensorrt")), qwac.InvalidConfig,
     "tensorrt"),
    (dict(advanced_parameters=qwac.AdvancedQuantizationParameters(
        smooth_quant_alphas=qwac.AdvancedSmoothQuantParameters(matmul=1.5))), qwac.InvalidConfig, "smooth_quant_alpha"),
    (dict(ignored_scope=["Convolution28"]), qwac.InvalidArgument, "IgnoredScope"),
    (dict(advanced_parameters=qwac.AdvancedQuantizationParameters(
        activations=qwac.QuantizerParameters(range_estimator=qwac.RangeEstimator(max={"type": "maxx"})))),
     qwac.InvalidConfig, "maxx"),
    (dict(execution=qwac.ExecutionOptions(batch_size=0)), qwac.InvalidArgument, "batch_size"),
])
def test_bad_arguments_are_named(demo, items, kwargs, error, needle):
    model, _, _ = demo
    args = {**QUIET, **kwargs}
    with pytest.raises(error) as info:
        qwac.quantize(model, qwac.Dataset(items, lambda item: item[0]), **args)
    message = str(info.value)
    assert needle in message and "\n" not in message
    assert info.value.exit_code == {qwac.InvalidConfig: 6, qwac.InvalidArgument: 2}[error]


def test_bad_models_data_and_results(demo, items, tmp_path):
    model, images, _ = demo
    with pytest.raises(qwac.IoError) as info:
        qwac.quantize(str(tmp_path / "missing.onnx"), qwac.Dataset(items), **QUIET)
    assert info.value.exit_code == 3 and "missing.onnx" in str(info.value)
    with pytest.raises(qwac.InvalidArgument, match="onnx.ModelProto"):
        qwac.quantize(42, qwac.Dataset(items), **QUIET)
    bad_file = tmp_path / "bad.onnx"
    bad_file.write_bytes(b"not a model")
    with pytest.raises(qwac.InvalidModel):
        qwac.quantize(str(bad_file), qwac.Dataset(items), **QUIET)
    with pytest.raises(qwac.DataError, match="Input3"):
        qwac.quantize(model, qwac.Dataset([np.zeros((1, 1, 14, 14), np.float32)] * 4), subset_size=4, **QUIET)
    with pytest.raises(qwac.DataError, match="numeric"):
        qwac.quantize(model, qwac.Dataset([np.array(["a"], dtype=object)] * 4), subset_size=4, **QUIET)
    ds = qwac.Dataset(items, lambda item: item[0])
    with pytest.raises(qwac.InvalidArgument, match="must return a number"):
        qwac.quantize_with_accuracy_control(model, ds, ds, lambda m, d: "high", subset_size=10, **QUIET)
    with pytest.raises(qwac.InvalidArgument, match="per-sample values for 60 samples"):
        qwac.quantize_with_accuracy_control(model, ds, ds, lambda m, d: (0.5, [1.0, 2.0]), subset_size=10, **QUIET)
    with pytest.raises(qwac.InvalidConfig, match="engine config: unknown key 'devices'"):
        IEEngine({"devices": "CPU"}, None)
    with pytest.raises(qwac.InvalidConfig, match="unknown algorithm 'Pruning'"):
        create_pipeline([{"name": "Pruning", "params": {}}], IEEngine({}, None))


def test_messages_are_the_clis_one_line(demo, tmp_path):
    """The same bad parameter through a config file (CLI) and through the POT pipeline: the same line."""
    cli = os.environ.get("QWAC_CLI")
    if not cli:
        pytest.skip("QWAC_CLI is not set (ctest sets it)")
    model, _, _ = demo
    params = {"preset": "performance", "stat_subset_size": 10, "maximal_drop": -1}
    source = os.environ.get("QWAC_SOURCE_DIR")
    config = {"model": {"model": model},
              "engine": {"dataset": {"type": "idx",
                                     "images": f"{source}/examples/data/mnist-test-1000/t10k-images-idx3-ubyte.gz",
                                     "labels": f"{source}/examples/data/mnist-test-1000/t10k-labels-idx1-ubyte.gz"},
                         "metrics": [{"type": "accuracy"}]},
              "compression": {"algorithms": [{"name": "AccuracyAwareQuantization", "params": params}]}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    r = subprocess.run([cli, "quantize", "--config", str(path), "--output", str(tmp_path / "o.onnx"), "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 6, r.stderr
    with pytest.raises(qwac.InvalidConfig) as info:
        create_pipeline([{"name": "AccuracyAwareQuantization", "params": params}], IEEngine({}, None))
    assert r.stderr.strip() == f"qwac: InvalidConfig: {info.value}"
