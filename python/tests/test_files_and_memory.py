"""The CLI's guards from Python: the output-path check (no output overwrites an input, through any spelling of the
path; no run fails at the end on a missing folder), atomic saves, and the memory budget (--memory-limit)."""

import os

import onnx
import pytest

import qwac
from qwac.pot import IEEngine, create_pipeline, load_model, save_model

QUIET = dict(show_progress=False, execution=qwac.ExecutionOptions(batch_size=1))


@pytest.fixture()
def model_copy(demo, tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(open(demo[0], "rb").read())
    return path


def test_check_output_paths_refuses_an_input_under_another_spelling(model_copy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.symlink(model_copy, tmp_path / "link.onnx")
    for spelling in ("model.onnx", "./model.onnx", f"{tmp_path}/sub/../model.onnx", "link.onnx"):
        os.makedirs(tmp_path / "sub", exist_ok=True)
        with pytest.raises(qwac.InvalidArgument, match="model.onnx") as info:
            qwac.check_output_paths({"--output": spelling}, inputs={"--model": str(model_copy)})
        assert info.value.exit_code == 2 and "\n" not in str(info.value)
    with pytest.raises(qwac.InvalidArgument):  # two outputs on one file
        qwac.check_output_paths([("--output", "a.onnx"), ("--report", "./a.onnx")])
    with pytest.raises(qwac.IoError, match="does not exist") as info:
        qwac.check_output_paths(["no-such-folder/out.onnx"])
    assert info.value.exit_code == 3
    qwac.check_output_paths({"--output": "out.onnx"}, inputs={"--model": str(model_copy)})  # fine


def test_save_model_never_overwrites_a_model_this_process_read(model_copy, demo, tmp_path):
    _, images, _ = demo
    before = model_copy.read_bytes()
    quantized = qwac.quantize(str(model_copy), qwac.Dataset(list(images[:20])), subset_size=20, **QUIET)
    with pytest.raises(qwac.InvalidArgument, match="model.onnx"):
        qwac.save_model(quantized, tmp_path / "." / "model.onnx")
    assert model_copy.read_bytes() == before
    out = tmp_path / "model.int8.onnx"
    qwac.save_model(quantized, out)
    assert onnx.load(str(out)).SerializeToString() == quantized.SerializeToString()
    assert sorted(os.listdir(tmp_path)) == ["model.int8.onnx", "model.onnx"]  # no temp file left


def test_pot_save_model_and_the_checkpoint_are_guarded(model_copy, demo, tmp_path):
    _, images, labels = demo
    model = load_model({"model_name": "model", "model": str(model_copy)})
    with pytest.raises(qwac.InvalidArgument, match="model.onnx"):
        save_model(model, save_path=str(tmp_path), model_name="model")  # would be model_copy itself
    ds = qwac.Dataset(list(images[:20]))
    params = qwac.AdvancedAccuracyRestorerParameters(checkpoint_path=str(model_copy))
    with pytest.raises(qwac.InvalidArgument, match="checkpoint_path"):
        qwac.quantize_with_accuracy_control(str(model_copy), ds, ds, lambda m, d: 1.0,
                                            advanced_accuracy_restorer_parameters=params, **QUIET)


def test_memory_limit_refuses_what_does_not_fit_and_restores(demo):
    model, images, _ = demo
    default = qwac.memory_limit()
    try:
        qwac.set_memory_limit("1k")
        assert qwac.memory_limit() == 1024
        with pytest.raises(qwac.Error, match="memory budget") as info:
            qwac.quantize(model, qwac.Dataset(list(images[:4])), subset_size=4, **QUIET)
        assert "\n" not in str(info.value)
    finally:
        qwac.set_memory_limit(None)
    assert qwac.memory_limit() == default
    for bad in ("lots", -5, 1.5, True):
        with pytest.raises(qwac.InvalidArgument):
            qwac.set_memory_limit(bad)
