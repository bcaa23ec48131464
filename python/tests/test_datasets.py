"""qwac.Dataset over the data sources NNCF users bring: lists, generator factories, generators, torch DataLoaders,
with and without transform_fn. The same samples must give the same quantized model, byte for byte."""

import numpy as np
import onnx
import pytest
import torch

import qwac

QUIET = dict(show_progress=False, execution=qwac.ExecutionOptions(batch_size=1))


def quantize_bytes(model, dataset, **kwargs):
    report = {}
    proto = qwac.quantize(model, dataset, subset_size=64, report=report, **{**QUIET, **kwargs})
    return proto.SerializeToString(), report


@pytest.fixture(scope="module")
def reference(demo):
    model, images, labels = demo
    items = [(images[i], int(labels[i])) for i in range(64)]
    data, report = quantize_bytes(model, qwac.Dataset(items, lambda item: item[0]))
    return items, data, report


def test_list_source_gives_a_qdq_model_and_a_report(demo, reference):
    model, images, _ = demo
    items, data, report = reference
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto)
    ops = {n.op_type for n in proto.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert report["schema_version"] == 1
    assert report["algorithm"] == "DefaultQuantization"
    assert report["calibration"]["samples"] == 64
    assert report["quantized_ops"]
    # The quantized model runs on qwac's engine and agrees with the FP32 one on these samples.
    fp32 = [np.argmax(qwac.run(model, images[i])[0]) for i in range(20)]
    int8 = [np.argmax(qwac.run(proto, images[i])[0]) for i in range(20)]
    assert sum(a == b for a, b in zip(fp32, int8)) >= 19


def test_generator_factory_generator_and_modelproto_give_the_same_model(demo, reference):
    model, _, _ = demo
    items, data, _ = reference
    transform = lambda item: item[0]  # noqa: E731
    assert quantize_bytes(model, qwac.Dataset(lambda: iter(items), transform))[0] == data
    assert quantize_bytes(model, qwac.Dataset((x for x in items), transform))[0] == data
    assert quantize_bytes(onnx.load(model), qwac.Dataset(items, transform))[0] == data


def test_torch_dataloader_and_items_without_batch_axis(demo, reference):
    model, images, labels = demo
    items, data, _ = reference
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(images[:64]), torch.from_numpy(labels[:64])), batch_size=1)
    assert quantize_bytes(model, qwac.Dataset(loader, lambda item: item[0]))[0] == data
    # [1, 28, 28] per item: the batch axis is added; float64 data is converted to the float32 input.
    no_batch = [images[i].astype(np.float64) for i in range(64)]
    assert quantize_bytes(model, qwac.Dataset(no_batch))[0] == data
    # A dict by input name.
    assert quantize_bytes(model, qwac.Dataset(items, lambda item: {"Input3": item[0]}))[0] == data


def test_dataloader_on_a_batchable_model_and_batched_items(tiny_cnn, demo):
    _, images, labels = demo
    tensors = torch.utils.data.TensorDataset(torch.from_numpy(images[:64] / 255.0).float(),
                                             torch.from_numpy(labels[:64]))
    report = {}
    proto = qwac.quantize(tiny_cnn, qwac.Dataset(torch.utils.data.DataLoader(tensors), lambda item: item[0]),
                          subset_size=64, report=report, show_progress=False)
    assert report["calibration"]["samples"] == 64
    assert report["calibration"]["batch_size"] == 16  # qwac batches the samples itself
    assert any(n.op_type == "QuantizeLinear" for n in proto.graph.node)
    assert qwac.run(proto, np.zeros((3, 1, 28, 28), np.float32))[0].shape == (3, 10)
    batched = torch.utils.data.DataLoader(tensors, batch_size=16)
    with pytest.raises(qwac.DataError, match="batch_size=1"):
        qwac.quantize(tiny_cnn, qwac.Dataset(batched, lambda item: item[0]), subset_size=4, show_progress=False)


def test_dataset_get_data_and_get_inference_data(demo):
    _, images, labels = demo
    items = [(images[i], int(labels[i])) for i in range(5)]
    ds = qwac.Dataset(items, lambda item: item[0] / 255.0)
    assert len(ds) == 5
    assert [label for _, label in ds.get_data([1, 3])] == [int(labels[1]), int(labels[3])]
    first = next(ds.get_inference_data([0]))
    assert np.allclose(first, images[0] / 255.0)
