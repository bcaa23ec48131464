"""qwac: quantize ONNX models to 8 bits with accuracy control, from Python.

Two front ends over the same C++ library (the one the `qwac` command line runs):

* NNCF-shaped: ``qwac.Dataset``, ``qwac.quantize``, ``qwac.quantize_with_accuracy_control`` (a validation function
  written in Python computes the metric), returning ``onnx.ModelProto`` QDQ models that ONNX Runtime runs;
* POT-shaped: ``qwac.pot`` (``Metric``, ``DataLoader``, ``IEEngine``, ``create_pipeline``...), with the algorithms'
  params exactly as a JSON config takes them.

The engine runs with the GIL released; Python callbacks (datasets, transform functions, metrics, validation
functions) are called with the GIL held, from whatever thread qwac reads samples on. An exception raised in a
callback stops the run and propagates with its traceback (no output file is written); Ctrl-C stops a long run.
qwac's errors are raised as ``qwac.Error`` subclasses carrying the library's one-line message and the CLI's exit
code (``exc.exit_code``).
"""

import enum
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _qwac
from ._adapters import InputSpec, SampleProvider, as_inputs, to_numpy
from ._qwac import (AccuracyNotReached, DataError, Error, InternalError, InvalidArgument, InvalidConfig,
                    InvalidModel, IoError, UnsupportedOp)

__version__ = _qwac.__version__

__all__ = [
    "Dataset", "quantize", "quantize_with_accuracy_control", "evaluate", "CompiledModel", "IgnoredScope",
    "QuantizationPreset", "TargetDevice", "ModelType", "DropType", "RestoreMode", "SearchStrategy",
    "QuantizerParameters", "RangeEstimator", "AdvancedQuantizationParameters", "AdvancedSmoothQuantParameters",
    "AdvancedAccuracyRestorerParameters",
    "MetricBaseline", "PrecisionRung", "ExecutionOptions", "Error", "InternalError", "InvalidArgument", "IoError",
    "InvalidModel", "UnsupportedOp", "InvalidConfig", "DataError", "AccuracyNotReached", "pot",
    "save_model", "check_output_paths", "set_memory_limit", "memory_limit",
]


# --------------------------------------------------------------------------------------------------------------
# Enumerations: their values are the config spellings (docs/config.md).

class QuantizationPreset(str, enum.Enum):
    PERFORMANCE = "performance"  # symmetric weights and activations
    MIXED = "mixed"              # asymmetric activations
    ACCURACY = "accuracy"        # 16-bit (GNA only)


class TargetDevice(str, enum.Enum):
    ANY = "ANY"
    CPU = "CPU"
    GPU = "GPU"
    NPU = "NPU"
    GNA = "GNA"


class ModelType(str, enum.Enum):
    TRANSFORMER = "transformer"  # not supported yet: InvalidConfig


class DropType(str, enum.Enum):
    ABSOLUTE = "absolute"
    RELATIVE = "relative"  # a share of the FP32 value (0.01 = 1 %)


class RestoreMode(str, enum.Enum):
    ACTIVATIONS_AND_WEIGHTS = "weights_and_activations"
    ONLY_ACTIVATIONS = "activations"  # reverted ops keep int8 weights


class SearchStrategy(str, enum.Enum):
    BISECTION = "bisection"  # the shortest ranked prefix that holds the bound, predicted then confirmed
    GREEDY = "greedy"        # POT/NNCF: one group per full validation


def _value(x):
    return x.value if isinstance(x, enum.Enum) else x


# --------------------------------------------------------------------------------------------------------------
# Parameters

@dataclass
class IgnoredScope:
    """Ops that stay in float: exact node names, regular expressions over node names (matching the whole name) and
    op types. An entry that matches nothing is an InvalidConfig naming the nearest names."""
    names: List[str] = field(default_factory=list)
    patterns: List[str] = field(default_factory=list)
    types: List[str] = field(default_factory=list)

    def _config(self):
        return {"names": list(self.names), "patterns": list(self.patterns), "types": list(self.types)}


@dataclass
class RangeEstimator:
    """How a quantizer's range is chosen (POT's range_estimator): ``preset`` is "default", "quantile", "mse" or
    "kl"; ``min`` / ``max`` are dicts such as ``{"type": "quantile", "aggregator": "mean", "outlier_prob": 1e-4}``.
    Unset parts keep the preset's choice."""
    preset: Optional[str] = None
    min: Optional[Dict[str, Any]] = None
    max: Optional[Dict[str, Any]] = None

    def _config(self):
        return {k: v for k, v in (("preset", self.preset), ("min", self.min), ("max", self.max)) if v is not None}


@dataclass
class QuantizerParameters:
    """Weights or activations quantizer settings; None keeps the target device's preset."""
    bits: Optional[int] = None               # 8 (16 where the device allows it)
    mode: Optional[str] = None               # "symmetric" | "asymmetric"
    granularity: Optional[str] = None        # "perchannel" | "pertensor"
    range_estimator: Optional[RangeEstimator] = None

    def _config(self):
        c = {k: v for k, v in (("bits", self.bits), ("mode", self.mode), ("granularity", self.granularity))
             if v is not None}
        if self.range_estimator is not None:
            c["range_estimator"] = self.range_estimator._config()
        return c


@dataclass
class AdvancedSmoothQuantParameters:
    """SmoothQuant's alpha per layer kind (NNCF's container); None = the model type's default, negative = off.
    qwac smooths MatMul inputs only, where 1/s folds into the LayerNorm before them."""
    matmul: Optional[float] = None
    convolution: float = -1

    def _config(self):
        if self.convolution >= 0:
            raise ValueError("AdvancedSmoothQuantParameters.convolution: qwac smooths MatMul inputs only; keep it -1")
        return {} if self.matmul is None else {"smooth_quant_alpha": self.matmul}


@dataclass
class AdvancedQuantizationParameters:
    """DefaultQuantization parameters beyond nncf.quantize's keywords."""
    weights: Optional[QuantizerParameters] = None
    activations: Optional[QuantizerParameters] = None
    bias_correction: Optional[str] = None          # "fast" | "full" | "none" (overrides fast_bias_correction)
    bias_correction_subset_size: int = 0           # full bias correction samples; 0 = 20 % of subset_size
    shuffle_data: bool = False                     # a seeded sample of the calibration set instead of its start
    seed: int = 0
    compress_weights: bool = True                  # int8 weight initializers + DequantizeLinear
    quantize_bias: bool = True                     # int32 bias where input and weight are quantized
    # The runtime the QDQ file is shaped for: "onnxruntime" (DQ -> op -> Q around every int8 op) or "qwac"
    # (no quantizer inside a fused pattern); None = the target device's default.
    export_profile: Optional[str] = None
    smooth_quant_alphas: Optional[AdvancedSmoothQuantParameters] = None

    def _config(self):
        c = {"bias_correction_subset_size": self.bias_correction_subset_size, "shuffle_data": self.shuffle_data,
             "seed": self.seed, "compress_weights": self.compress_weights, "quantize_bias": self.quantize_bias}
        if self.smooth_quant_alphas is not None:
            c.update(self.smooth_quant_alphas._config())
        if self.export_profile is not None:
            c["export_profile"] = self.export_profile
        if self.weights is not None:
            c["weights"] = self.weights._config()
        if self.activations is not None:
            c["activations"] = self.activations._config()
        return c


@dataclass
class MetricBaseline:
    """A metric's FP32 value when known (POT's metrics: [{"name", "baseline_value"}])."""
    name: str
    baseline_value: Optional[float] = None


@dataclass
class PrecisionRung:
    """A rung tried before float, e.g. PrecisionRung("INT16", weights_bits=16) (GNA's ladder)."""
    name: str
    weights_bits: int = 0
    activations_bits: int = 0


@dataclass
class AdvancedAccuracyRestorerParameters:
    """The accuracy search's parameters (AccuracyAwareQuantization's, in NNCF's container)."""
    max_num_iterations: Optional[int] = None      # POT's max_iter_num: most groups reverted (greedy)
    tune_hyperparams: bool = False                # preset, range estimator and bias correction tuned first
    ranking_subset_size: Optional[int] = None     # default 300, clamped to the validation set
    restore_mode: RestoreMode = RestoreMode.ACTIVATIONS_AND_WEIGHTS
    search: SearchStrategy = SearchStrategy.BISECTION
    use_prev_if_drop_increase: bool = True
    convert_to_mixed_preset: bool = False
    metric_subset_ratio: float = 0.5
    metrics: Optional[List[MetricBaseline]] = None
    precision_ladder: Optional[List[PrecisionRung]] = None  # None = the target device's ladder
    annotation_free: bool = False                 # FP32 predictions as labels (POT metrics only)
    max_time: float = 0                           # seconds; 0 = unlimited (the best model so far is kept)
    max_evaluations: int = 0                      # full validations; 0 = unlimited
    checkpoint_path: Optional[str] = None         # record every validation here; with resume, continue a run
    resume: bool = False

    def _config(self):
        c = {"tune_hyperparams": self.tune_hyperparams, "restore_mode": _value(self.restore_mode),
             "search": _value(self.search), "use_prev_if_drop_increase": self.use_prev_if_drop_increase,
             "convert_to_mixed_preset": self.convert_to_mixed_preset,
             "metric_subset_ratio": self.metric_subset_ratio, "annotation_free": self.annotation_free,
             "max_time": self.max_time, "max_evaluations": self.max_evaluations}
        if self.max_num_iterations is not None:
            c["max_iter_num"] = self.max_num_iterations
        if self.ranking_subset_size is not None:
            c["ranking_subset_size"] = self.ranking_subset_size
        if self.metrics is not None:
            c["metrics"] = [{"name": m.name, **({} if m.baseline_value is None else
                                                {"baseline_value": m.baseline_value})} for m in self.metrics]
        if self.precision_ladder is not None:
            c["precision_ladder"] = [{"name": r.name, "weights_bits": r.weights_bits,
                                      "activations_bits": r.activations_bits} for r in self.precision_ladder]
        return c


@dataclass
class ExecutionOptions:
    """How qwac runs the models (the C++ ExecutionOptions). Results do not depend on batch size, threads or streams."""
    batch_size: int = 16          # falls back to 1 when the model cannot run batched
    threads: int = 0              # 0 = all cores
    streams: int = 0              # engines running batches concurrently; 0 = one per thread
    loader_threads: int = 0       # threads calling the dataset; 0 = all cores
    use_dnnl: bool = True         # False = the reference kernels (slow; for checking)
    int8: bool = True             # QDQ candidates on int8 kernels; False = the exact float simulation

    def _dict(self, show_progress):
        return {"batch_size": self.batch_size, "threads": self.threads, "streams": self.streams,
                "loader_threads": self.loader_threads, "use_dnnl": self.use_dnnl, "int8": self.int8,
                "show_progress": bool(show_progress)}


# --------------------------------------------------------------------------------------------------------------
# Files and memory: the guards the CLI runs before work (its output-path check and --memory-limit)

_inputs: Dict[str, str] = {}  # path -> what: the model files this process read through qwac
_inputs_lock = threading.Lock()


def _note_input(what, path):
    with _inputs_lock:
        _inputs.setdefault(os.fspath(path), what)


def _named(paths, default_what):
    """{what: path}, [(what, path)] or [path] -> [(what, path)]."""
    if paths is None:
        return []
    if isinstance(paths, (str, os.PathLike)):
        return [(default_what, os.fspath(paths))]
    if isinstance(paths, Mapping):
        return [(str(what), os.fspath(path)) for what, path in paths.items()]
    return [(default_what, os.fspath(p)) if isinstance(p, (str, os.PathLike)) else (str(p[0]), os.fspath(p[1]))
            for p in paths]


def check_output_paths(outputs, inputs=None) -> None:
    """The CLI's output-path guard, to run before a long job writes its results.

    outputs: the files the job will write: ``{"--output": path, ...}``, ``[(what, path)]`` or ``[path]``.
    inputs: the files it reads, in the same forms (the model files this process loaded through qwac are always
        included).

    Raises ``qwac.IoError`` when an output's folder does not exist or is not writable, or the output is an existing
    folder, and ``qwac.InvalidArgument`` when an output is the same file as an input or as another output (after
    resolving relative paths, "..", symbolic and hard links). Also removes the temp files an earlier killed write of
    these outputs left behind.
    """
    with _inputs_lock:
        known = [(what, path) for path, what in _inputs.items()]
    _qwac.check_output_paths(_named(inputs, "input") + known, _named(outputs, "output"))


def save_model(model, path, *, inputs=None) -> None:
    """Writes ``model`` (an ``onnx.ModelProto``, or a ``qwac.pot`` model) to ``path`` atomically: a temp file beside
    it, renamed over it, so a failure never leaves a partial file. Refuses (``qwac.InvalidArgument``) to overwrite a
    model file this process read through qwac, or one of ``inputs``; ``qwac.IoError`` for a missing folder."""
    path = os.fspath(path)
    check_output_paths([("save_model path", path)], inputs)
    if isinstance(model, _qwac.Model):
        data = model.to_bytes()
    elif hasattr(model, "SerializeToString"):
        data = model.SerializeToString()
    elif isinstance(getattr(model, "model", None), _qwac.Model):  # qwac.pot.CompressedModel
        data = model.model.to_bytes()
    else:
        raise InvalidArgument(f"save_model: expected an onnx.ModelProto, got {type(model).__name__}")
    _qwac.write_file_atomically(path, data)


def set_memory_limit(limit: Union[str, int, None]) -> None:
    """The memory budget, as the CLI's ``--memory-limit``: the most bytes one input may make qwac allocate at once
    (one tensor, one decoded image, one array); bigger ones are refused with one line naming the object. ``"4G"``,
    ``"512M"``, a number of bytes, or None for the default (the smallest of the physical memory, ``ulimit -v`` and
    the cgroup limit, or the environment variable QWAC_MEMORY_LIMIT). Process-wide."""
    if limit is None or (isinstance(limit, int) and not isinstance(limit, bool) and limit == 0):
        _qwac.set_memory_budget(0)
        return
    if isinstance(limit, str):
        size = _qwac.parse_byte_size(limit)
        if size is None:
            raise InvalidArgument(f"memory limit '{limit}': expected a size such as 4G or 512M")
    elif isinstance(limit, (int, np.integer)) and not isinstance(limit, bool) and limit > 0:
        size = int(limit)
    else:
        raise InvalidArgument(f"memory limit {limit!r}: expected a size such as '4G', a positive number of bytes, "
                              f"or None")
    _qwac.set_memory_budget(size)


def memory_limit() -> int:
    """The memory budget in bytes (see set_memory_limit)."""
    return _qwac.memory_budget()


# --------------------------------------------------------------------------------------------------------------
# Models

def _model(model) -> "_qwac.Model":
    """A path, an onnx.ModelProto or a qwac model -> the library's model."""
    if isinstance(model, _qwac.Model):
        return model
    if isinstance(model, (str, os.PathLike)):
        _note_input("the model", model)
        return _qwac.Model.load(os.fspath(model))
    if hasattr(model, "SerializeToString"):
        return _qwac.Model.from_bytes(model.SerializeToString())
    raise InvalidArgument(f"model: expected a path or an onnx.ModelProto, got {type(model).__name__}")


def _proto(model: "_qwac.Model"):
    import onnx  # the result type; imported here so that `import qwac` works without python3-onnx
    return onnx.load_from_string(model.to_bytes())


# --------------------------------------------------------------------------------------------------------------
# Datasets

class Dataset:
    """A data source and a transformation (NNCF's nncf.Dataset).

    ``data_source`` is any iterable: a sequence (a list, a torch ``Dataset``, a NumPy array: items are read on demand
    by index), a ``torch.utils.data.DataLoader`` or any other iterable, a generator factory (a callable returning an
    iterator), or a generator. Sources without ``__getitem__`` are read once, in order, only as far as qwac needs
    (calibration reads the first ``subset_size`` items), and the items read are kept in memory: qwac reads samples
    by index, several at a time, and more than once.

    ``transform_fn(item)`` turns an item into model inputs: a NumPy array (or torch tensor) for a one-input model, a
    dict by input name, or a tuple with one array per input. An item is one sample: arrays have a batch axis of 1 or
    none (it is added), and qwac makes the batches itself (``ExecutionOptions.batch_size``), so a DataLoader is
    given with ``batch_size=1`` (a bigger batch is a ``qwac.DataError`` saying so). float64 data is converted to a
    float32 input.
    """

    def __init__(self, data_source: Iterable, transform_fn: Optional[Callable[[Any], Any]] = None):
        self._source = data_source
        self._transform_fn = transform_fn
        self._items: list = []          # items read so far from a source without __getitem__
        self._iterator = None
        self._exhausted = False
        self._lock = threading.Lock()   # qwac's loader threads read items concurrently
        if not (self._indexable() or callable(data_source) or hasattr(data_source, "__iter__")):
            raise InvalidArgument(f"Dataset: data_source must be iterable (a list, a DataLoader, a generator "
                                  f"factory...), got {type(data_source).__name__}")

    def _indexable(self):
        s = self._source
        return hasattr(s, "__getitem__") and hasattr(s, "__len__") and not isinstance(s, (dict, str, bytes))

    def _read_until(self, index):
        """Items of an iterable source are read in order, once, as far as needed (all of them for len() when the
        source has no __len__), and kept."""
        with self._lock:
            if self._iterator is None and not self._exhausted:
                s = self._source
                self._iterator = iter(s() if callable(s) and not hasattr(s, "__iter__") else s)
            while not self._exhausted and (index is None or len(self._items) <= index):
                try:
                    self._items.append(next(self._iterator))
                except StopIteration:
                    self._exhausted, self._iterator = True, None
            return self._items

    def __len__(self):
        s = self._source
        if self._indexable() or (hasattr(s, "__len__") and hasattr(s, "__iter__")):
            return len(s)  # a sequence, or a DataLoader (its number of batches)
        return len(self._read_until(None))

    def _item(self, index):
        if self._indexable():
            return self._source[index]
        items = self._read_until(index)
        if index >= len(items):
            raise IndexError(f"Dataset: item {index} requested, the data source gave {len(items)}")
        return items[index]

    def _transform(self, item):
        return self._transform_fn(item) if self._transform_fn is not None else item

    def get_data(self, indices: Optional[Iterable[int]] = None):
        """The raw items (all, or those at ``indices``), in order (NNCF's Dataset.get_data)."""
        for i in (range(len(self)) if indices is None else indices):
            yield self._item(i)

    def get_inference_data(self, indices: Optional[Iterable[int]] = None):
        """The transformed items (NNCF's Dataset.get_inference_data)."""
        for item in self.get_data(indices):
            yield self._transform(item)

    def _provider(self, specs, name):
        def items(i):
            return self._transform(self._item(i)), None, None
        return SampleProvider(len(self), items, specs, name)


class _Items(Sequence):
    """The raw items of a Dataset at given indices: what a validation function iterates."""

    def __init__(self, dataset: Dataset, indices: List[int]):
        self._dataset, self._indices = dataset, list(indices)

    def __len__(self):
        return len(self._indices)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return _Items(self._dataset, self._indices[k])
        return self._dataset._item(self._indices[k])

    def __iter__(self):
        return (self._dataset._item(i) for i in self._indices)

    @property
    def indices(self):
        """Indices of these items in the validation dataset."""
        return list(self._indices)


# --------------------------------------------------------------------------------------------------------------
# The model a validation function runs (OpenVINO's CompiledModel shape)

class Output:
    """A model output: ``compiled_model.outputs[i]``, usable as a key of the inference result."""

    def __init__(self, index: int, name: str):
        self.index, self.name = index, name

    def get_any_name(self):
        return self.name

    def __repr__(self):
        return f"<Output {self.index}: {self.name}>"


class InferResult(Mapping):
    """Outputs of one inference, indexable by Output, by output name and by position."""

    def __init__(self, outputs: List[Output], arrays: List[np.ndarray]):
        self._outputs, self._arrays = outputs, arrays

    def __getitem__(self, key):
        if isinstance(key, Output):
            return self._arrays[key.index]
        if isinstance(key, (int, np.integer)):
            return self._arrays[int(key)]
        for o in self._outputs:
            if o.name == key:
                return self._arrays[o.index]
        raise KeyError(f"no output {key!r}; outputs: {', '.join(o.name for o in self._outputs)}")

    def __iter__(self):
        return iter(self._outputs)

    def __len__(self):
        return len(self._arrays)

    def to_tuple(self):
        return tuple(self._arrays)


class CompiledModel:
    """qwac's engine running the model a validation function measures (FP32 or a quantized candidate).

    ``compiled_model(inputs)`` runs one batch: ``inputs`` is an array or torch tensor (one-input models), a dict by
    input name or a list in input order, with any batch size. The result is indexable by ``compiled_model.outputs[i]``,
    by output name and by position. Valid only during the validation_fn call it is given to."""

    def __init__(self, native: "_qwac.CompiledModel"):
        self._native = native
        self.inputs = [Output(i, n) for i, n in enumerate(native.input_names)]
        self.outputs = [Output(i, n) for i, n in enumerate(native.output_names)]
        self._specs = [InputSpec(n, d, list(s)) for n, d, s in native.input_specs]

    def __call__(self, inputs) -> InferResult:
        return InferResult(self.outputs, self._native.infer(as_inputs(inputs, self._specs, "compiled_model")))

    infer_new_request = __call__

    def output(self, index: int = 0) -> Output:
        return self.outputs[index]


def _validation_adapter(validation_fn, dataset):
    def call(native, indices):
        result = validation_fn(CompiledModel(native), _Items(dataset, indices))
        if isinstance(result, tuple):
            if len(result) != 2:
                raise InvalidArgument(f"validation_fn returned a tuple of {len(result)}; return the metric, or "
                                      f"(metric, per-sample values)")
            value, per_sample = result
            per_sample = None if per_sample is None else [float(v) for v in np.ravel(to_numpy(per_sample))]
        else:
            value, per_sample = result, None
        try:
            value = float(np.asarray(to_numpy(value)).reshape(()))
        except (TypeError, ValueError):
            raise InvalidArgument(f"validation_fn returned {type(value).__name__}; it must return a number, or "
                                  f"(number, per-sample values)") from None
        return value, per_sample
    return call


# --------------------------------------------------------------------------------------------------------------
# Entry points

def _execution(execution, show_progress):
    return (execution or ExecutionOptions())._dict(show_progress)


def _default_params(preset, target_device, subset_size, fast_bias_correction, ignored_scope, advanced):
    params = {"target_device": _value(target_device), "stat_subset_size": subset_size,
              "fast_bias_correction": bool(fast_bias_correction)}
    if preset is not None:
        params["preset"] = _value(preset)
    if ignored_scope is not None:
        if not isinstance(ignored_scope, IgnoredScope):
            raise InvalidArgument(f"ignored_scope: expected qwac.IgnoredScope, got {type(ignored_scope).__name__}")
        params["ignored_scope"] = ignored_scope._config()
    if advanced is not None:
        adv = advanced._config()
        if advanced.bias_correction is not None:
            del params["fast_bias_correction"]
            adv["bias_correction"] = advanced.bias_correction
        params.update(adv)
    return params


def _compression(name, params, model_type):
    section = {"algorithms": [{"name": name, "params": params}]}
    if model_type is not None:
        section["model_type"] = _value(model_type)
    return json.dumps(section)


def _fill(report, text):
    parsed = json.loads(text)
    if report is not None:
        report.clear()
        report.update(parsed)
    return parsed


def quantize(model, calibration_dataset: Dataset, *, preset: Optional[QuantizationPreset] = None,
             target_device: TargetDevice = TargetDevice.ANY, subset_size: int = 300, fast_bias_correction: bool = True,
             model_type: Optional[ModelType] = None, ignored_scope: Optional[IgnoredScope] = None,
             advanced_parameters: Optional[AdvancedQuantizationParameters] = None, report: Optional[dict] = None,
             show_progress: bool = True, execution: Optional[ExecutionOptions] = None):
    """Default 8-bit post-training quantization (nncf.quantize; POT's DefaultQuantization).

    model: a path to an ONNX file or an ``onnx.ModelProto``.
    calibration_dataset: a ``qwac.Dataset``; its first ``subset_size`` items are calibrated on.
    preset: ``QuantizationPreset.PERFORMANCE`` (default: symmetric) or ``MIXED`` (asymmetric activations).
    target_device: the hardware config (``TargetDevice.ANY``, CPU, GPU, NPU, GNA).
    subset_size: calibration samples (POT's stat_subset_size).
    fast_bias_correction: True = fast bias correction, False = full (layer by layer).
    model_type: ``ModelType.TRANSFORMER`` applies the transformer rules (LayerNorm/GELU glue, attention mask and
        Softmax x V in float, mixed preset by default); None = none.
    ignored_scope: ops kept in float (``qwac.IgnoredScope(names, patterns, types)``).
    advanced_parameters: ``AdvancedQuantizationParameters`` (quantizer bits/mode/granularity/range estimators...).
    report: a dict to receive the report (every quantizer, group, op left in float and why, timings).
    show_progress: progress and log lines on stderr, as the CLI shows them.
    execution: ``ExecutionOptions`` (batch size, threads, int8 kernels...).

    Returns the QDQ model as an ``onnx.ModelProto`` (``onnx.save`` writes it; ONNX Runtime runs it). Raises
    ``qwac.InvalidConfig`` for bad parameters, ``qwac.DataError`` for samples that do not fit the model, and whatever
    the transform function raises.
    """
    m = _model(model)
    provider = calibration_dataset._provider(InputSpec.of_model(m), "calibration dataset")
    compression = _compression("DefaultQuantization", _default_params(
        preset, target_device, subset_size, fast_bias_correction, ignored_scope, advanced_parameters), model_type)
    result, text = _qwac.quantize(m, provider, compression, _execution(execution, show_progress))
    _fill(report, text)
    return _proto(result)


def quantize_with_accuracy_control(
        model, calibration_dataset: Dataset, validation_dataset: Dataset,
        validation_fn: Callable[[CompiledModel, Iterable], Union[float, Tuple[float, Sequence[float]]]], *,
        max_drop: float = 0.01, drop_type: DropType = DropType.ABSOLUTE,
        preset: Optional[QuantizationPreset] = None, target_device: TargetDevice = TargetDevice.ANY,
        subset_size: int = 300, fast_bias_correction: bool = True, model_type: Optional[ModelType] = None,
        ignored_scope: Optional[IgnoredScope] = None,
        advanced_quantization_parameters: Optional[AdvancedQuantizationParameters] = None,
        advanced_accuracy_restorer_parameters: Optional[AdvancedAccuracyRestorerParameters] = None,
        metric_name: str = "validation_fn", higher_better: bool = True, report: Optional[dict] = None,
        show_progress: bool = True, execution: Optional[ExecutionOptions] = None):
    """8-bit quantization that keeps ``validation_fn``'s metric within ``max_drop`` of the FP32 model
    (nncf.quantize_with_accuracy_control; POT's AccuracyAwareQuantization).

    Default quantization first; if the metric drops by more than ``max_drop``, groups of quantizers are ranked by how
    much reverting each one recovers on the validation samples where INT8 is worst, and the fewest are reverted to
    float until the bound holds on the whole validation set.

    model: a path to an ONNX file or an ``onnx.ModelProto``.
    calibration_dataset: ``qwac.Dataset`` calibrated on (its first ``subset_size`` items).
    validation_dataset: ``qwac.Dataset`` the metric is computed on (may be the same object).
    validation_fn: ``validation_fn(compiled_model, items) -> metric`` or ``(metric, per_sample_values)``. It runs
        ``compiled_model(inputs)`` on the raw ``items`` of the validation dataset it is given (all of them, or the
        ranking subset) and computes the metric with its own code (NumPy, torchmetrics...). Per-sample values (one
        per item, in order) let the search rank samples and estimate candidates: the full-set metric is estimated as
        the mean of per-sample values, exact for accuracy-like metrics and biased for ratio metrics (F1, mAP); every
        decision is still confirmed with full validations. Without them, samples are ranked by the output error.
    max_drop: the largest allowed drop (POT's maximal_drop), in the metric's units or, relative, a share.
    drop_type: ``DropType.ABSOLUTE`` or ``DropType.RELATIVE``.
    preset, target_device, subset_size, fast_bias_correction, model_type, ignored_scope: as in ``qwac.quantize``.
    advanced_quantization_parameters: ``AdvancedQuantizationParameters``.
    advanced_accuracy_restorer_parameters: ``AdvancedAccuracyRestorerParameters`` (ranking subset, search
        strategy, restore mode, hyperparameter tuning, precision ladder, budgets, checkpoint...).
    metric_name: the metric's name in the report; higher_better: its direction.
    report: a dict to receive the report (metrics, every validation, reverted ops, timings).
    show_progress: progress and log lines on stderr, as the CLI shows them.
    execution: ``ExecutionOptions``.

    Returns the best QDQ model as an ``onnx.ModelProto``. Raises ``qwac.AccuracyNotReached`` (with ``.model``, the
    best model found, and ``.report``) when the bound cannot be reached, ``qwac.InvalidConfig`` for bad parameters,
    and whatever ``validation_fn`` or a transform function raises (with its traceback).
    """
    restorer = advanced_accuracy_restorer_parameters or AdvancedAccuracyRestorerParameters()
    if restorer.checkpoint_path:  # before any work, as the CLI checks its outputs
        check_output_paths([("checkpoint_path", restorer.checkpoint_path)],
                           [("model", model)] if isinstance(model, (str, os.PathLike)) else None)
    m = _model(model)
    specs = InputSpec.of_model(m)
    params = _default_params(preset, target_device, subset_size, fast_bias_correction, ignored_scope,
                             advanced_quantization_parameters)
    params.update(restorer._config())
    params["max_drop"] = max_drop
    params["drop_type"] = _value(drop_type)
    calibration = calibration_dataset._provider(specs, "calibration dataset")
    validation = calibration if validation_dataset is calibration_dataset else \
        validation_dataset._provider(specs, "validation dataset")
    result, text, reached, message = _qwac.quantize_with_accuracy_control(
        m, calibration, validation, _validation_adapter(validation_fn, validation_dataset), metric_name,
        bool(higher_better), [], _compression("AccuracyAwareQuantization", params, model_type),
        restorer.checkpoint_path or "", bool(restorer.resume), _execution(execution, show_progress))
    parsed = _fill(report, text)
    proto = _proto(result)
    if not reached:
        raise _not_reached(message, proto, parsed)
    return proto


def _not_reached(message, model, report):
    e = AccuracyNotReached(message)
    e.model, e.report = model, report
    return e


def evaluate(model, dataset: Dataset, metrics: list, *, show_progress: bool = True,
             execution: Optional[ExecutionOptions] = None) -> Dict[str, float]:
    """The metrics (``qwac.pot.Metric`` objects) of ``model`` on ``dataset`` items ``(data, annotation)``, by name."""
    from . import pot
    return pot._evaluate(_model(model), dataset, metrics, execution, show_progress)


def run(model, inputs, *, execution: Optional[ExecutionOptions] = None) -> List[np.ndarray]:
    """Runs ``model`` once on qwac's engine: ``inputs`` as ``CompiledModel`` takes them; outputs in graph order."""
    m = _model(model)
    return _qwac.run(m, as_inputs(inputs, InputSpec.of_model(m), "run"), _execution(execution, False))


from . import pot  # noqa: E402  (the POT-shaped API uses the definitions above)
