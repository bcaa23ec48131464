"""The GIL is released while qwac computes and re-acquired for every callback, whatever thread qwac calls it from;
progress is shown as the CLI shows it, and silenced by show_progress=False."""

import threading
import time

import pytest

import qwac


@pytest.fixture(scope="module")
def items(demo):
    _, images, labels = demo
    return [(images[i], int(labels[i])) for i in range(200)]


def test_callbacks_run_on_qwac_threads_and_python_threads_keep_running(demo, items):
    model, _, _ = demo
    main = threading.get_ident()
    callers = set()

    def transform(item):
        callers.add(threading.get_ident())
        return item[0]

    ticks = []
    stop = threading.Event()

    def ticker():  # runs only while qwac does not hold the GIL
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        qwac.quantize(model, qwac.Dataset(items, transform), subset_size=200, show_progress=False,
                      execution=qwac.ExecutionOptions(batch_size=1, loader_threads=2))
    finally:
        stop.set()
        t.join()
    assert callers - {main}, "samples are read on qwac's loader threads too"
    assert len(ticks) > 20, "a Python thread kept running while qwac computed"


def test_progress_as_the_cli_shows_it_and_silenced(demo, items, capfd):
    model, _, _ = demo
    ds = qwac.Dataset(items, lambda item: item[0])
    qwac.quantize(model, ds, subset_size=100, show_progress=True, execution=qwac.ExecutionOptions(batch_size=1))
    err = capfd.readouterr().err
    assert "statistics" in err and "100/100" in err, err
    qwac.quantize(model, ds, subset_size=100, show_progress=False, execution=qwac.ExecutionOptions(batch_size=1))
    assert capfd.readouterr().err == ""
