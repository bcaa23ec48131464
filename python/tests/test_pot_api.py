"""qwac.pot: the POT workflow of the seeds (Metric subclass, DataLoader, IEEngine, create_pipeline(...).run,
save_model, compress_model_weights, pipeline.evaluate) on the bundled demo."""

import os

import numpy as np
import onnx
import pytest

import qwac
from qwac.pot import (DataLoader, IEEngine, Metric, compress_model_weights, create_pipeline, load_model,
                      save_model)


class Accuracy(Metric):
    """The seeds' top-k accuracy metric, as written there."""

    def __init__(self, top_k=1):
        super().__init__()
        self._top_k = top_k
        self._name = "accuracy@top{}".format(self._top_k)
        self._matches = []

    @property
    def value(self):
        return {self._name: self._matches[-1]}

    @property
    def avg_value(self):
        return {self._name: np.ravel(self._matches).mean()}

    def update(self, output, target):
        if len(output) > 1:
            raise Exception("The accuracy metric cannot be calculated for a model with multiple outputs")
        if isinstance(target, dict):
            target = list(target.values())
        predictions = np.argsort(output[0], axis=1)[:, -self._top_k:]
        match = [float(t in predictions[i]) for i, t in enumerate(target)]
        self._matches.append(match)

    def reset(self):
        self._matches = []

    def get_attributes(self):
        return {self._name: {"direction": "higher-better", "type": "accuracy"}}


class MnistLoader(DataLoader):
    def __init__(self, images, labels, with_metadata=False):
        super().__init__({})
        self.images, self.labels, self.with_metadata = images, labels, with_metadata

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        item = (self.images[index], int(self.labels[index]))  # [1, 28, 28]: no batch axis
        return item + ({"id": f"sample-{index}"},) if self.with_metadata else item


@pytest.fixture(scope="module")
def loader(demo):
    _, images, labels = demo
    return MnistLoader(images[:300], labels[:300])


ENGINE = {"device": "CPU", "batch_size": 1, "show_progress": False}


def test_seed_workflow_accuracy_aware(demo, loader, tmp_path):
    model_path, _, _ = demo
    model = load_model(model_config={"model_name": "model", "model": model_path})
    engine = IEEngine(config=ENGINE, data_loader=loader, metric=Accuracy())
    algorithms = [{"name": "AccuracyAwareQuantization",
                   "params": {"target_device": "ANY", "stat_subset_size": 300, "maximal_drop": 0.02}}]
    pipeline = create_pipeline(algorithms, engine)
    compressed_model = pipeline.run(model=model)
    compress_model_weights(compressed_model)
    paths = save_model(model=compressed_model, save_path=str(tmp_path / "optimized_model"),
                       model_name="optimized_model")
    assert paths[0]["name"] == "optimized_model"
    assert os.path.exists(paths[0]["model"])
    saved = onnx.load(paths[0]["model"])
    onnx.checker.check_model(saved)
    assert saved.SerializeToString() == compressed_model.model.to_bytes()
    results = pipeline.evaluate(compressed_model)
    report = pipeline.report
    assert report["reached"] is True
    final = report["metrics"]["accuracy@top1"]["final"]
    assert results["accuracy@top1"] == pytest.approx(final)
    fp32 = pipeline.evaluate(model)["accuracy@top1"]
    assert fp32 == pytest.approx(report["metrics"]["accuracy@top1"]["fp32"])
    assert fp32 - final <= 0.02


def test_default_quantization_and_metadata(demo):
    model_path, images, labels = demo
    seen = []

    class WithMetadata(Accuracy):
        def update(self, output, target, metadata):
            seen.extend(m["id"] for m in metadata)
            super().update(output, target)

    loader = MnistLoader(images[:40], labels[:40], with_metadata=True)
    engine = IEEngine(config=ENGINE, data_loader=loader, metric=WithMetadata())
    pipeline = create_pipeline([{"name": "DefaultQuantization", "params": {"stat_subset_size": 40}}], engine)
    compressed = pipeline.run(load_model({"model": model_path}))
    assert pipeline.report["algorithm"] == "DefaultQuantization"
    assert pipeline.report["calibration"]["samples"] == 40
    result = pipeline.evaluate(compressed)
    assert 0.9 <= result["accuracy@top1"] <= 1.0
    assert seen == [f"sample-{i}" for i in range(40)]


def test_pot_metric_per_sample_values_rank_the_search(demo):
    """A relative bound of 0 with the seeds' metric: per-sample values (from `value`) steer the search, and the
    returned model meets the bound on this data."""
    model_path, images, labels = demo
    loader = MnistLoader(images[:200], labels[:200])
    engine = IEEngine(config=ENGINE, data_loader=loader, metric=Accuracy())
    pipeline = create_pipeline([{"name": "AccuracyAwareQuantization",
                                 "params": {"stat_subset_size": 100, "maximal_drop": 0.0, "ranking_subset_size": 50}}],
                               engine)
    pipeline.run(load_model({"model": model_path}))
    m = pipeline.report["metrics"]["accuracy@top1"]
    assert m["drop"] <= 0.0


def test_qwac_evaluate_with_pot_metrics(demo):
    model_path, images, labels = demo
    items = [(images[i], int(labels[i])) for i in range(100)]
    result = qwac.evaluate(model_path, qwac.Dataset(items), [Accuracy(1), Accuracy(5)], show_progress=False,
                           execution=qwac.ExecutionOptions(batch_size=1))
    assert set(result) == {"accuracy@top1", "accuracy@top5"}
    assert result["accuracy@top5"] >= result["accuracy@top1"] >= 0.9
