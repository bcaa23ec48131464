"""qwac.quantize_with_accuracy_control with a Python validation function (NNCF's API): both metric modes (a float,
and a float with per-sample values), the CompiledModel it runs (indexable as OpenVINO's), the report, and
AccuracyNotReached carrying the best model and the report."""

import numpy as np
import onnx
import pytest

import qwac

QUIET = dict(show_progress=False, execution=qwac.ExecutionOptions(batch_size=1))


@pytest.fixture(scope="module")
def data(demo):
    model, images, labels = demo
    items = [(images[i], int(labels[i])) for i in range(150)]
    return model, qwac.Dataset(items, lambda item: item[0])


def true_class_logit(per_sample):
    """The mean logit of the true class: any quantization moves it, so max_drop=0 forces reverts."""
    calls = []

    def validate(compiled_model, items):
        output = compiled_model.outputs[0]
        values = []
        for image, label in items:
            result = compiled_model(image)
            logits = result[output]
            assert np.array_equal(logits, result[0]) and np.array_equal(logits, result[output.name])
            values.append(float(logits[0, label]))
        calls.append(len(values))
        mean = float(np.mean(values))
        return (mean, values) if per_sample else mean
    return validate, calls


@pytest.mark.parametrize("per_sample", [True, False])
def test_both_metric_modes_drive_the_search(data, per_sample):
    model, dataset = data
    validate, calls = true_class_logit(per_sample)
    report = {}
    params = qwac.AdvancedAccuracyRestorerParameters(ranking_subset_size=40)
    proto = qwac.quantize_with_accuracy_control(
        model, dataset, dataset, validate, max_drop=0.0, subset_size=100, report=report,
        advanced_accuracy_restorer_parameters=params, metric_name="true_class_logit", **QUIET)
    onnx.checker.check_model(proto)
    assert report["algorithm"] == "AccuracyAwareQuantization"
    assert report["reached"] is True
    assert report["reverted_ops"], report["summary"]
    m = report["metrics"]["true_class_logit"]
    assert m["drop"] <= m["bound"] + 1e-12
    assert 150 in calls  # full validations
    if per_sample:
        # The ranking subset goes through the function too: the adaptive ranking scores groups on growing prefixes
        # of the 40-sample subset (successive halving), so its calls hold at most 40 samples each.
        subset_calls = [n for n in calls if n != 150]
        assert subset_calls and all(0 < n <= 40 for n in subset_calls), calls
    # The returned model is the final one: measuring it again gives the reported value.
    final = np.mean([float(qwac.run(proto, img)[0][0, lab]) for img, lab in dataset.get_data()])
    assert final == pytest.approx(m["final"], rel=1e-6)


def test_relative_drop_and_report_params(data):
    model, dataset = data
    validate, _ = true_class_logit(True)
    report = {}
    qwac.quantize_with_accuracy_control(model, dataset, dataset, validate, max_drop=0.5,
                                        drop_type=qwac.DropType.RELATIVE, subset_size=50, report=report, **QUIET)
    assert report["params"]["drop_type"] == "relative"
    assert report["params"]["max_drop"] == 0.5
    assert report["reverted_ops"] == []  # a 50 % relative bound holds at once
    assert report["full_validations"] == 2


def test_unreachable_bound_raises_with_the_best_model_and_the_report(data):
    model, dataset = data
    validate, _ = true_class_logit(True)
    params = qwac.AdvancedAccuracyRestorerParameters(max_evaluations=2, ranking_subset_size=40)
    with pytest.raises(qwac.AccuracyNotReached) as info:
        qwac.quantize_with_accuracy_control(model, dataset, dataset, validate, max_drop=0.0, subset_size=50,
                                            advanced_accuracy_restorer_parameters=params, **QUIET)
    e = info.value
    assert e.exit_code == 8
    assert "is not reached" in str(e) and "\n" not in str(e)
    assert e.report["reached"] is False
    onnx.checker.check_model(e.model)


def test_every_parameter_is_documented():
    doc = qwac.quantize_with_accuracy_control.__doc__
    import inspect
    for name in inspect.signature(qwac.quantize_with_accuracy_control).parameters:
        assert name in doc, name
    for name in inspect.signature(qwac.quantize).parameters:
        assert name in qwac.quantize.__doc__, name
