"""The Train page's live view waits for a run about to end, so "finished" shows as it ends, and
for a run just started, so its first losses show with the click's page run.

The run here is the server's record of a run (`service.Run`) fed the reports a worker sends,
from another thread as the service's pump thread does; no worker and no TensorFlow."""

from __future__ import annotations

import threading
import time

import numpy as np

from service import Run, protocol
from service.runs import apply_report
from trainer.config import RunConfig
from trainer.history import BATCH_COLUMNS, History
from ui.live import FIRST_WAIT, wait_for_end, wait_for_first_batch

EVERY_S = 0.4  # the page's redraw interval


def running_run(steps_done: int, total_steps: int, steps_per_s: float) -> Run:
    """A run that has trained `steps_done` of `total_steps` batches at `steps_per_s`."""
    config = RunConfig(dataset="xor", epochs=1, batch_size=8, num_samples=8 * total_steps)
    run = Run(
        id="r",
        owner="me",
        number=1,
        config=config,
        data_title="xor",
        steps_per_epoch=total_steps,
        num_train=8 * total_steps,
        num_val=0,
        history=History(capacity=total_steps, steps_per_epoch=total_steps),
        status="running",
    )
    steps = np.arange(steps_done)
    columns = {
        "step": steps,
        "epoch": np.zeros(steps_done, np.int64),
        "batch": steps,
        "loss": np.linspace(1.0, 0.5, steps_done),
        "samples_seen": 8 * (steps + 1),
        "elapsed_s": (steps + 1) / steps_per_s,
    }
    with run.lock:
        apply_report(run, protocol.Batches("r", {name: columns[name] for name in BATCH_COLUMNS}))
    return run


def end_later(run: Run, after_s: float) -> threading.Thread:
    """The worker's Ended, applied `after_s` from now by another thread (under the run's lock)."""

    def report() -> None:
        time.sleep(after_s)
        with run.lock:
            apply_report(run, protocol.Ended("r", "completed", run.steps_done - 1, 0, 1.0))

    thread = threading.Thread(target=report)
    thread.start()
    return thread


def test_a_redraw_before_the_end_waits_for_it_and_returns_as_it_comes():
    run = running_run(steps_done=800, total_steps=1000, steps_per_s=1000.0)  # ETA 0.2 s
    started = time.perf_counter()  # before the thread: its 0.1 s may start before we wait
    thread = end_later(run, 0.1)
    assert wait_for_end(run, EVERY_S)  # it may wait up to EVERY_S (0.2 s + the margin)
    waited = time.perf_counter() - started
    ended = run.finished
    thread.join()
    assert ended
    assert 0.1 <= waited < 0.3, waited  # back with the end, not at the time limit


def test_a_redraw_waits_at_most_one_interval_for_an_end_that_does_not_come():
    run = running_run(steps_done=990, total_steps=1000, steps_per_s=1000.0)  # ETA 0.01 s
    started = time.perf_counter()
    assert wait_for_end(run, EVERY_S)
    waited = time.perf_counter() - started
    assert not run.finished
    assert 0.2 <= waited < EVERY_S + 0.1, waited  # the estimate plus its margin, then draw


def test_a_run_far_from_its_end_or_not_running_is_drawn_at_once():
    far = running_run(steps_done=100, total_steps=1000, steps_per_s=1000.0)  # ETA 0.9 s
    assert not wait_for_end(far, EVERY_S)
    paused = running_run(steps_done=999, total_steps=1000, steps_per_s=1000.0)
    paused.status = "paused"  # a paused run's ETA is no end to wait for
    started = time.perf_counter()
    assert not wait_for_end(paused, EVERY_S)
    assert time.perf_counter() - started < 0.05


def batches_later(run: Run, after_s: float) -> threading.Thread:
    """The worker's first Batches (one batch), applied `after_s` from now by another thread."""

    def report() -> None:
        time.sleep(after_s)
        one = {"step": [0], "epoch": [0], "batch": [0], "loss": [0.7], "samples_seen": [8]}
        columns = {name: np.asarray(one.get(name, [0.01])) for name in BATCH_COLUMNS}
        with run.lock:
            apply_report(run, protocol.Batches("r", columns))

    thread = threading.Thread(target=report)
    thread.start()
    return thread


def test_a_run_just_started_is_drawn_with_its_first_batches_as_they_come():
    run = running_run(steps_done=0, total_steps=1000, steps_per_s=1000.0)
    started = time.perf_counter()  # before the thread, as above
    thread = batches_later(run, 0.1)
    assert wait_for_first_batch(run, EVERY_S)
    waited = time.perf_counter() - started
    thread.join()
    assert run.steps_done == 1
    assert 0.1 <= waited < 0.25, waited  # back with the batches, not at the time limit


def test_a_first_batch_is_waited_for_at_most_part_of_an_interval_and_only_once_started():
    run = running_run(steps_done=0, total_steps=1000, steps_per_s=1000.0)
    started = time.perf_counter()
    assert wait_for_first_batch(run, EVERY_S)
    waited = time.perf_counter() - started
    assert FIRST_WAIT * EVERY_S - 0.01 <= waited < EVERY_S, waited

    queued = running_run(steps_done=0, total_steps=1000, steps_per_s=1000.0)
    queued.status = "queued"  # no worker has it: nothing will come soon
    training = running_run(steps_done=5, total_steps=1000, steps_per_s=1000.0)
    started = time.perf_counter()
    assert not wait_for_first_batch(queued, EVERY_S)
    assert not wait_for_first_batch(training, EVERY_S)
    assert time.perf_counter() - started < 0.05


def test_prepare_builds_what_a_first_run_draws_before_anyone_asks():
    """The server calls `prepare` as it starts: a first Train page on the default view (the
    loss chart, the epoch metric, a Playground set's boundary) then finds their specs built,
    instead of building them while other visitors' pages wait on the server."""
    import trainer
    from ui import charts, insight_charts, live, page_data

    cached = (charts._live_loss_json, charts._live_metric_json, insight_charts._live_boundary_json)
    for function in cached:
        function.cache_clear()
    live.prepare()
    built = [function.cache_info().misses for function in cached]
    assert all(built)
    xor = trainer.load_dataset("xor")
    charts.live_loss_spec()
    charts.live_metric_spec("accuracy")
    insight_charts.live_boundary_spec(
        xor.task,
        xor.class_names,
        height=live.BOUNDARY_SIDE,
        target_domain=page_data.target_domain(xor),
    )
    assert [function.cache_info().misses for function in cached] == built


def test_eta_says_done_only_for_a_run_that_trained_to_its_end():
    from ui.live import eta_text

    run = running_run(steps_done=500, total_steps=1000, steps_per_s=1000.0)
    assert eta_text(run) == "0:01"  # 0.5 s left
    for reason, shown in (("stopped", "-"), ("interrupted", "-"), ("completed", "done")):
        ended = running_run(steps_done=500, total_steps=1000, steps_per_s=1000.0)
        with ended.lock:
            apply_report(ended, protocol.Ended("r", reason, 499, 0, 0.5))
        assert eta_text(ended) == shown, reason
