"""Python objects -> the small protocols qwac's C++ layer calls back (python/src/adapters.h).

Nothing here decides anything about quantization: these classes turn a user's data items, metrics and validation
functions into samples, per-batch updates and per-sample values, and back.
"""

import inspect
from collections.abc import Mapping

import numpy as np

from . import _qwac

# NumPy dtype of each ONNX element type name qwac reports (Model.describe()).
_NUMPY_DTYPES = {
    "float": np.float32, "double": np.float64, "float16": np.float16, "uint8": np.uint8, "int8": np.int8,
    "uint16": np.uint16, "int16": np.int16, "int32": np.int32, "int64": np.int64, "uint32": np.uint32,
    "uint64": np.uint64, "bool": np.bool_,
}


def to_numpy(x):
    """A NumPy array from an array, a torch tensor or anything numpy.asarray accepts."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor, without importing torch
        x = x.detach().cpu().numpy()
    return np.asarray(x)


class InputSpec:
    """A model input: name, ONNX element type name and declared shape (None = unknown dims / rank)."""

    def __init__(self, name, dtype, shape):
        self.name, self.dtype, self.shape = name, dtype, shape

    @staticmethod
    def of_model(model):
        return [InputSpec(i["name"], i["dtype"], i["shape"]) for i in model.describe()["inputs"]]


def _fit(array, spec, what):
    """`array` as model input `spec`: the declared element type when only the precision differs (float64 data for a
    float32 input, int32 ids for int64), and a leading batch axis when the sample has none."""
    array = to_numpy(array)
    want = _NUMPY_DTYPES.get(spec.dtype)
    if want is not None and array.dtype != want and array.dtype.kind == np.dtype(want).kind:
        array = array.astype(want)
    if spec.shape is not None and array.ndim == len(spec.shape) - 1:
        array = array[np.newaxis, ...]
    if not isinstance(array, np.ndarray) or array.dtype == object:
        raise _qwac.DataError(f"{what}: input '{spec.name}' is not a numeric array (got {type(array).__name__})")
    return np.ascontiguousarray(array)


def as_inputs(data, specs, what):
    """A transformed data item -> {input name: array}. An item is one array (the model's only input), a dict by input
    name, or a tuple/list with one array per input in the model's order."""
    if isinstance(data, Mapping):
        by_name = {s.name: s for s in specs}
        unknown = [k for k in data if k not in by_name]
        if unknown:
            raise _qwac.DataError(f"{what}: the model has no input named {unknown[0]!r} "
                                  f"(its inputs: {', '.join(by_name)})")
        return {k: _fit(v, by_name[k], what) for k, v in data.items()}
    if isinstance(data, (tuple, list)) and len(specs) > 1:
        if len(data) != len(specs):
            raise _qwac.DataError(f"{what}: {len(data)} arrays for a model with {len(specs)} inputs "
                                  f"({', '.join(s.name for s in specs)}); give one per input or a dict by name")
        return {s.name: _fit(v, s, what) for s, v in zip(specs, data)}
    if len(specs) != 1:
        raise _qwac.DataError(f"{what}: one array for a model with {len(specs)} inputs "
                              f"({', '.join(s.name for s in specs)}); give a dict by input name")
    return {specs[0].name: _fit(data, specs[0], what)}


def _label_of(annotation):
    """The integer class of an annotation that is one (int, NumPy or 0-d/1-element tensor), else None."""
    if isinstance(annotation, (bool, np.bool_)):
        return None
    if isinstance(annotation, (int, np.integer)):
        return int(annotation)
    try:
        a = to_numpy(annotation)
    except Exception:  # noqa: BLE001 - any object is a valid POT annotation; only integers become labels
        return None
    if a.size == 1 and a.dtype.kind in "iu":
        return int(a.reshape(-1)[0])
    return None


class SampleProvider:
    """Samples of a data source for one call: `items(i)` gives item i as (data, annotation, metadata); `data` is made
    model inputs here. Annotations and metadata are kept by index for the Python metrics of the same call."""

    def __init__(self, size, items, specs, name):
        self._size, self._items, self._specs, self._name = size, items, specs, name
        self.annotations, self.metadata = {}, {}

    def __len__(self):
        return self._size

    def describe(self):
        return f"{self._name} ({self._size} samples)"

    def sample(self, index):
        data, annotation, metadata = self._items(index)
        inputs = as_inputs(data, self._specs, f"{self._name} sample {index}")
        for name, array in inputs.items():
            if array.ndim > 0 and array.shape[0] != 1:
                raise _qwac.DataError(
                    f"{self._name} item {index}: input '{name}' holds a batch of {array.shape[0]} "
                    f"(shape {list(array.shape)}); an item is one sample: qwac makes the batches itself "
                    f"(ExecutionOptions.batch_size), so give a DataLoader with batch_size=1 or items without the "
                    f"batch axis")
        self.annotations[index], self.metadata[index] = annotation, metadata
        text = annotation if isinstance(annotation, str) else None
        meta = {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, Mapping) else None
        return inputs, _label_of(annotation), text, meta


def _read(metric, attribute):
    """POT metrics give value / avg_value as properties or as methods."""
    v = getattr(metric, attribute)
    return v() if callable(v) else v


class PotMetricGroup:
    """One POT Metric (which may report several named values) updated once per batch, whatever the number of names:
    the first name's adapter drives it. Per-sample values are read from `value` after each update, the way POT's
    accuracy-aware algorithm gets them: an array with one entry per sample of the batch, or a scalar for a batch of
    one; anything else means the metric has no per-sample values."""

    def __init__(self, metric, provider):
        self.metric, self.provider = metric, provider
        attributes = metric.get_attributes() if hasattr(metric, "get_attributes") else {}
        names = list(attributes) or list(_read(metric, "avg_value") or {})
        if not names:
            raise _qwac.InvalidArgument(f"metric {type(metric).__name__}: get_attributes() names no metric")
        self.names = names
        self.attributes = attributes
        self.per_sample = {n: [] for n in names}
        self.has_per_sample = {n: True for n in names}
        params = list(inspect.signature(metric.update).parameters.values())
        self.with_metadata = len([p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]) >= 3

    def update(self, outputs, indices):
        annotations = [self.provider.annotations.get(i) for i in indices]
        if self.with_metadata:
            self.metric.update(outputs, annotations, [self.provider.metadata.get(i) for i in indices])
        else:
            self.metric.update(outputs, annotations)
        values = _read(self.metric, "value") or {}
        for name in self.names:
            if not self.has_per_sample[name]:
                continue
            v = np.ravel(np.asarray(values.get(name, np.nan), dtype=np.float64))
            if v.size == len(indices):
                self.per_sample[name].extend(float(x) for x in v)
            else:
                self.has_per_sample[name] = False

    def reset(self):
        self.metric.reset()
        self.per_sample = {n: [] for n in self.names}
        self.has_per_sample = {n: True for n in self.names}

    def adapters(self):
        return [PotMetricAdapter(self, name, driver=(k == 0)) for k, name in enumerate(self.names)]


class PotMetricAdapter:
    """The metric adapter protocol for one named value of a POT Metric."""

    def __init__(self, group, name, driver):
        self._group, self._driver, self.name = group, driver, name
        attrs = group.attributes.get(name, {})
        direction = attrs.get("direction")
        if direction is None:
            hb = getattr(group.metric, "higher_better", True)
            direction = "higher-better" if (hb() if callable(hb) else hb) else "higher-worse"
        if direction not in ("higher-better", "higher-worse"):
            raise _qwac.InvalidArgument(f"metric '{name}': direction {direction!r} is not 'higher-better' or "
                                        f"'higher-worse'")
        self.higher_better = direction == "higher-better"
        self.type = str(attrs.get("type", name))

    def update(self, outputs, indices, metadata):  # noqa: ARG002 - metadata comes from the provider
        if self._driver:
            self._group.update(outputs, indices)

    def value(self):
        return float(np.mean(np.asarray((_read(self._group.metric, "value") or {})[self.name], dtype=np.float64)))

    def avg_value(self):
        return float(np.mean(np.asarray((_read(self._group.metric, "avg_value") or {})[self.name], dtype=np.float64)))

    def reset(self):
        if self._driver:
            self._group.reset()

    def per_sample_values(self):
        return self._group.per_sample[self.name] if self._group.has_per_sample[self.name] else None
