"""Shared fixtures: the bundled demo (mnist-cntk + the first 1000 MNIST test images in examples/data), a small
batchable CNN exported by torch here, and the paths ctest passes (QWAC_SOURCE_DIR, QWAC_SHARED_DIR, QWAC_CLI)."""

import gzip
import os
import pathlib

import numpy as np
import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("QWAC_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
SHARED_DIR = pathlib.Path(os.environ.get("QWAC_SHARED_DIR", SOURCE_DIR.parent / "shared"))
DEMO = SOURCE_DIR / "examples" / "data"
DEMO_MODEL = DEMO / "mnist-cntk" / "model.onnx"


def read_idx(path):
    """An MNIST idx file (gzip'd or not) as a NumPy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


@pytest.fixture(scope="session")
def demo():
    """(model path, images float32 [1000, 1, 28, 28] raw 0..255, labels int64 [1000]): what examples/demo.json
    feeds the model (its preprocessing is empty)."""
    images = read_idx(DEMO / "mnist-test-1000" / "t10k-images-idx3-ubyte.gz").astype(np.float32)[:, np.newaxis]
    labels = read_idx(DEMO / "mnist-test-1000" / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return str(DEMO_MODEL), images, labels


@pytest.fixture(scope="session")
def tiny_cnn(tmp_path_factory):
    """A small CNN with a dynamic batch (seeded random weights, exported by torch): for batched data sources."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(16, 10)).eval()
    path = tmp_path_factory.mktemp("tiny") / "tiny_cnn.onnx"
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), str(path), input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    return str(path)


def shared(relative):
    path = SHARED_DIR / relative
    if not path.exists():
        pytest.skip(f"{SHARED_DIR} is absent ({relative}): shared models and data not available")
    return path
