"""The POT-shaped API (openvino.tools.pot), on qwac's C++ library.

    from qwac.pot import IEEngine, load_model, save_model, compress_model_weights, create_pipeline

    model = load_model(model_config={"model_name": "model", "model": "model.onnx"})
    engine = IEEngine(config={"device": "CPU"}, data_loader=data_loader, metric=metric)
    pipeline = create_pipeline([{"name": "AccuracyAwareQuantization",
                                 "params": {"target_device": "ANY", "stat_subset_size": 300, "maximal_drop": 0.02}}],
                               engine)
    compressed_model = pipeline.run(model=model)
    compress_model_weights(compressed_model)
    paths = save_model(model=compressed_model, save_path="optimized_model", model_name="optimized_model")
    metric_results = pipeline.evaluate(compressed_model)

The algorithms' params are exactly a JSON config's (docs/config.md) and go through the same parser, so a typo is
the same ``qwac.InvalidConfig`` naming the key. The data loader serves both calibration (its first
stat_subset_size samples) and validation, as POT's engine does.
"""

import json
import os
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional

from . import _qwac
from ._adapters import InputSpec, PotMetricGroup, SampleProvider

__all__ = ["Metric", "DataLoader", "IEEngine", "load_model", "save_model", "compress_model_weights",
           "create_pipeline", "Pipeline", "CompressedModel"]


class Metric(ABC):
    """A metric computed by your code (POT's Metric). Implement:

    * ``update(output, annotations)``: ``output`` is the list of the model's outputs for a batch (NumPy arrays with
      the batch first), ``annotations`` the annotations of its samples as the DataLoader returned them; a third
      parameter, if declared, receives their metadata.
    * ``value`` / ``avg_value`` (properties or methods): ``{name: value}`` for the last batch / everything since
      ``reset()``. A ``value`` with one entry per sample of the batch gives qwac per-sample values, which let the
      accuracy search rank samples and estimate candidates (estimates are means of per-sample values: exact for
      accuracy, biased for ratio metrics such as a global F1; full validations confirm every decision).
    * ``reset()``, ``get_attributes()`` -> ``{name: {"direction": "higher-better" | "higher-worse", "type": ...}}``.
    """

    def __init__(self):
        pass

    @property
    def higher_better(self):
        """Used when get_attributes() gives no direction."""
        return True

    @abstractmethod
    def update(self, output, target):
        ...

    @abstractmethod
    def reset(self):
        ...

    @abstractmethod
    def get_attributes(self):
        ...


class DataLoader(ABC):
    """Your data (POT's DataLoader): ``__len__`` and ``__getitem__(index) -> (data, annotation)`` or ``(data,
    annotation, metadata)``. ``data`` is an array for a one-input model or a dict by input name, with or without the
    batch axis; ``annotation`` is whatever your Metric expects (an integer class also feeds qwac's own checks)."""

    def __init__(self, config=None):
        self.config = config

    @abstractmethod
    def __len__(self):
        ...

    @abstractmethod
    def __getitem__(self, index):
        ...


# The engine config keys: POT's, and qwac's execution options.
_STREAM_KEYS = ("stat_requests_number", "eval_requests_number")
_EXECUTION_KEYS = ("batch_size", "threads", "streams", "loader_threads", "use_dnnl", "int8", "show_progress")


class IEEngine:
    """Runs models on qwac's CPU engine with your data loader and metric (POT's IEEngine).

    config: ``{"device": "CPU"}``; POT's ``stat_requests_number`` / ``eval_requests_number`` set the engine streams;
    qwac's ``batch_size``, ``threads``, ``streams``, ``loader_threads``, ``use_dnnl``, ``int8`` and
    ``show_progress`` (default True: progress on stderr as the CLI shows it) are accepted too."""

    def __init__(self, config: Dict[str, Any], data_loader: DataLoader, metric: Optional[Metric] = None):
        config = dict(config or {})
        unknown = [k for k in config if k not in ("device",) + _STREAM_KEYS + _EXECUTION_KEYS]
        if unknown:
            raise _qwac.InvalidConfig(f"engine config: unknown key '{unknown[0]}' (expected device, "
                                      f"{', '.join(_STREAM_KEYS + _EXECUTION_KEYS)})")
        device = str(config.get("device", "CPU"))
        if device.upper() != "CPU":
            raise _qwac.InvalidConfig(f"engine config.device: '{device}' is not available; qwac runs on the CPU")
        self.config = config
        self.data_loader = data_loader
        self.metric = metric
        self._execution = {k: config[k] for k in _EXECUTION_KEYS if k in config}
        self._execution.setdefault("show_progress", True)
        for k in _STREAM_KEYS:
            if k in config:
                self._execution["streams"] = int(config[k])

    def _provider(self, specs):
        loader = self.data_loader

        def items(i):
            item = loader[i]
            if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
                raise _qwac.DataError(f"DataLoader item {i}: expected (data, annotation) or (data, annotation, "
                                      f"metadata), got {type(item).__name__}")
            return item[0], item[1], item[2] if len(item) == 3 else None
        return SampleProvider(len(loader), items, specs, f"DataLoader {type(loader).__name__}")

    def _metrics(self, provider):
        return [] if self.metric is None else PotMetricGroup(self.metric, provider).adapters()


class CompressedModel:
    """A model in the POT pipeline (POT's CompressedModel): ``name``, and the ONNX model qwac holds."""

    def __init__(self, model: "_qwac.Model", name: str):
        self.model = model
        self.name = name

    def to_onnx(self):
        """The model as an ``onnx.ModelProto``."""
        import onnx
        return onnx.load_from_string(self.model.to_bytes())


def load_model(model_config: Dict[str, Any]) -> CompressedModel:
    """``{"model_name": ..., "model": "path/model.onnx"}`` (POT's "weights" is not used by ONNX models)."""
    config = dict(model_config)
    unknown = [k for k in config if k not in ("model_name", "model", "weights")]
    if unknown:
        raise _qwac.InvalidConfig(f"model config: unknown key '{unknown[0]}' (expected model_name, model)")
    if "model" not in config:
        raise _qwac.InvalidConfig("model config.model: required key is missing (the .onnx file)")
    path = os.fspath(config["model"])
    name = config.get("model_name") or os.path.splitext(os.path.basename(path))[0]
    from . import _note_input
    _note_input("model config.model", path)
    return CompressedModel(_qwac.Model.load(path), str(name))


def save_model(model: CompressedModel, save_path: str, model_name: Optional[str] = None,
               for_stat_collection: bool = False) -> List[Dict[str, Any]]:
    """Writes ``save_path/<model_name>.onnx`` atomically; returns ``[{"name", "model", "weights"}]`` as POT does.
    Refuses (``qwac.InvalidArgument``) to overwrite a model file this process loaded (``load_model``)."""
    del for_stat_collection  # POT's option for its own statistics; nothing to do for ONNX
    from . import check_output_paths
    os.makedirs(save_path, exist_ok=True)
    name = model_name or model.name
    path = os.path.join(save_path, name + ".onnx")
    check_output_paths([("save_model path", path)])
    model.model.save(path)
    return [{"name": name, "model": path, "weights": None}]


def compress_model_weights(model: CompressedModel) -> None:
    """Nothing to do: qwac's QDQ models already store int8 weights (the ``compress_weights`` param, on by default)."""
    del model


class Pipeline:
    """The algorithms and the engine (POT's pipeline). After ``run``, ``report`` holds qwac's report (a dict)."""

    def __init__(self, algorithms: List[Dict[str, Any]], engine: IEEngine):
        if not isinstance(algorithms, (list, tuple)):
            raise _qwac.InvalidConfig("algorithms: expected a list of {\"name\", \"params\"} objects")
        self._compression = json.dumps({"algorithms": list(algorithms)})
        self.algorithm = _qwac.parse_compression(self._compression)  # strict, as a config file's section
        self.engine = engine
        self.report: Optional[dict] = None

    def run(self, model: CompressedModel) -> CompressedModel:
        """Quantizes ``model``; raises ``qwac.AccuracyNotReached`` (with ``.model`` and ``.report``) when an
        AccuracyAwareQuantization cannot hold its bound."""
        specs = InputSpec.of_model(model.model)
        provider = self.engine._provider(specs)
        execution = dict(self.engine._execution)
        if self.algorithm == "DefaultQuantization":
            result, text = _qwac.quantize(model.model, provider, self._compression, execution)
            self.report = json.loads(text)
            return CompressedModel(result, model.name)
        if self.engine.metric is None:
            raise _qwac.InvalidConfig("AccuracyAwareQuantization needs a metric: IEEngine(config, data_loader, "
                                      "metric)")
        result, text, reached, message = _qwac.quantize_with_accuracy_control(
            model.model, provider, provider, None, "", True, self.engine._metrics(provider), self._compression, "",
            False, execution)
        self.report = json.loads(text)
        compressed = CompressedModel(result, model.name)
        if not reached:
            e = _qwac.AccuracyNotReached(message)
            e.model, e.report = compressed, self.report
            raise e
        return compressed

    def evaluate(self, model: CompressedModel) -> Dict[str, float]:
        """The engine's metric on its data loader: ``{name: value}``."""
        if self.engine.metric is None:
            raise _qwac.InvalidConfig("evaluate needs a metric: IEEngine(config, data_loader, metric)")
        provider = self.engine._provider(InputSpec.of_model(model.model))
        r = _qwac.evaluate(model.model, provider, self.engine._metrics(provider), dict(self.engine._execution))
        return r["metrics"]


def create_pipeline(algo_config: List[Dict[str, Any]], engine: IEEngine) -> Pipeline:
    """A pipeline of one algorithm: ``[{"name": "DefaultQuantization" | "AccuracyAwareQuantization", "params":
    {...}}]`` with the params of a config's compression section (``target_device`` may be among them)."""
    return Pipeline(algo_config, engine)


def _evaluate(model, dataset, metrics, execution, show_progress):
    """qwac.evaluate: POT metrics over a qwac.Dataset whose items are (data, annotation[, metadata])."""
    specs = InputSpec.of_model(model)

    def items(i):
        item = dataset._transform(dataset._item(i))
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise _qwac.DataError(f"dataset item {i}: expected (data, annotation) or (data, annotation, metadata) "
                                  f"after transform_fn")
        return item[0], item[1], item[2] if len(item) == 3 else None
    provider = SampleProvider(len(dataset), items, specs, "dataset")
    adapters = [a for m in metrics for a in PotMetricGroup(m, provider).adapters()]
    from . import ExecutionOptions
    r = _qwac.evaluate(model, provider, adapters, (execution or ExecutionOptions())._dict(show_progress))
    return r["metrics"]
