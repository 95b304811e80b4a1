"""The run service with real worker processes (no mocks): what a worker trains is what
`trainer.train` computes here, commands steer it, and a worker that dies or retires is replaced.

Two services for the whole module: `service` (two workers) for most tests and `small` (one
worker, replaced after two runs) for the queue and replacement tests. Both warm at once, so
TensorFlow's start-up is paid once. No fixed sleeps: every wait polls with a deadline.
"""

from __future__ import annotations

import glob
import io
import os
import signal
import tempfile
import time
import zipfile
from collections.abc import Callable

import keras
import numpy as np
import pytest

import trainer
from service import FAILED, Run, RunService, Settings
from service.service import usable_cores
from trainer.data import split_validation

TIMEOUT_S = 60.0
READY_S = 120.0


# -- helpers -------------------------------------------------------------------------------------
def wait_for(condition: Callable[[], object], what: str, timeout: float = TIMEOUT_S) -> None:
    """Poll `condition` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.01)


def wait_finished(run: Run, timeout: float = TIMEOUT_S) -> None:
    wait_for(lambda: run.finished, f"{run.name} ({run.config.dataset}) to finish", timeout)


def wait_idle(service: RunService) -> None:
    """Every worker warm and without a run (the previous test's Idle messages handled)."""

    def idle() -> bool:
        workers = service.pool.snapshot()
        return (
            service.workers_ready()
            and service.busy_workers() == 0
            and all(w.run_id is None for w in workers)
        )

    wait_for(idle, "every worker to be warm and idle", READY_S)


def pids(service: RunService) -> set[int]:
    return {w.pid for w in service.pool.snapshot()}


def worker_of(service: RunService, run: Run):
    return next((w for w in service.pool.snapshot() if w.run_id == run.id), None)


def steps_of(run: Run) -> np.ndarray:
    with run.lock:
        return np.array(run.history.column("step"))


def losses_of(run: Run) -> np.ndarray:
    with run.lock:
        return np.array(run.history.column("loss"))


def assert_contiguous(run: Run) -> None:
    """Every step 0..N-1 recorded once, in order: nothing lost or repeated."""
    steps = steps_of(run)
    np.testing.assert_array_equal(steps, np.arange(len(steps)))


def xor(**changes) -> tuple[trainer.RunConfig, trainer.Dataset, trainer.Dataset]:
    """(config, raw data, split data) for a small XOR run."""
    base = dict(dataset="xor", num_samples=400, epochs=2, batch_size=32, learning_rate=0.1)
    config = trainer.RunConfig(**{**base, **changes})
    raw = trainer.load_dataset(
        "xor", noise=config.noise, num_samples=config.num_samples, seed=config.seed
    )
    return config, raw, split_validation(raw, config.validation_split, config.seed)


def long_xor(**changes) -> tuple[trainer.RunConfig, trainer.Dataset]:
    """A run of 40,000 steps (minutes): long enough to be steered or killed mid-way."""
    config, _, data = xor(num_samples=2000, epochs=200, batch_size=8, log_every=100_000, **changes)
    return config, data


def local_losses(config: trainer.RunConfig, raw: trainer.Dataset):
    """Per-batch losses and the final model of the same run trained in this process."""
    events = list(trainer.train(config, raw))
    losses = np.array([e.loss for e in events if isinstance(e, trainer.BatchEnd)])
    return losses, events[-1].model


def load_keras(data: bytes, tmp_path) -> keras.Model:
    path = tmp_path / "model.keras"
    path.write_bytes(data)
    return keras.saving.load_model(path, compile=False)


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def services():
    big = RunService(Settings(max_concurrent=2))
    small = RunService(Settings(max_concurrent=1, worker_max_runs=2))
    try:
        assert big.wait_until_ready(READY_S), "the two workers did not warm up"
        assert small.wait_until_ready(READY_S), "the small service's worker did not warm up"
        yield big, small
    finally:
        big.close()
        small.close()


@pytest.fixture
def service(services) -> RunService:
    wait_idle(services[0])
    return services[0]


@pytest.fixture
def small(services) -> RunService:
    wait_idle(services[1])
    return services[1]


# -- a worker trains exactly what trainer.train trains -------------------------------------------
def test_a_worker_trains_exactly_what_trainer_train_computes(service, tmp_path):
    config, raw, data = xor(num_samples=2000, epochs=3)
    run = service.start(config, data, owner="alice", data_title="XOR")
    assert run.owner == "alice" and run.data_title == "XOR"
    reference, local_model = local_losses(config, raw)
    wait_finished(run)

    assert run.end.reason == "completed", run.end.message
    assert run.status == "finished"
    assert len(reference) == 3 * 50  # 1600 training points / 32 per batch, 3 epochs
    assert_contiguous(run)
    losses = losses_of(run)
    assert losses.shape == reference.shape
    assert np.max(np.abs(losses - reference)) < 1e-6
    assert run.end.step + 1 == len(run.history) == run.total_steps
    assert run.history.num_epochs == 3

    assert zipfile.is_zipfile(io.BytesIO(run.model_bytes))
    model = load_keras(run.model_bytes, tmp_path)
    grid = np.random.default_rng(0).uniform(-6, 6, size=(64, 2)).astype(np.float32)
    outputs = model.predict(grid, verbose=0)
    assert outputs.shape == (64, data.num_outputs)
    # Same losses, same weights: the worker's model predicts as the one trained here.
    np.testing.assert_allclose(outputs, local_model.predict(grid, verbose=0), atol=1e-5)


def test_a_worker_got_ready_ahead_trains_the_same_run(service):
    config, raw, data = xor(num_samples=2000, epochs=3, dropout=0.1)
    for worker in service.pool.snapshot():
        worker.ready_for = None  # what earlier tests got ready is theirs
    assert service.warm(config, data)
    readied = [w for w in service.pool.snapshot() if w.ready_for == config.to_dict()]
    assert len(readied) == 1
    # Asked again (another visitor on the same link): the other worker gets it ready too, and
    # then nothing more happens however often it is asked.
    assert service.warm(config, data) and service.warm(config, data)
    readied = [w for w in service.pool.snapshot() if w.ready_for == config.to_dict()]
    assert len(readied) == 2

    run = service.start(config, data, owner="alice")
    wait_finished(run)
    assert run.end.reason == "completed", run.end.message
    assert run.ready_ahead and worker_of(service, run) in (None, *readied)
    reference, _ = local_losses(config, raw)
    np.testing.assert_allclose(losses_of(run), reference, atol=1e-6)
    assert_contiguous(run)

    # Got ready for one config, asked for another: the worker drops what it had and trains it.
    wait_idle(service)
    other, raw_other, data_other = xor(num_samples=1000, epochs=2)
    assert service.warm(config, data) and service.warm(config.replace(seed=1), data)
    assert all(w.ready_for is not None for w in service.pool.snapshot())
    run = service.start(other, data_other, owner="alice")
    wait_finished(run)
    assert run.end.reason == "completed" and not run.ready_ahead
    np.testing.assert_allclose(losses_of(run), local_losses(other, raw_other)[0], atol=1e-6)


def test_a_warm_up_waits_for_a_core_that_no_run_trains_on(service):
    """On 2 cores, a page that asks for its next run to be got ready while another visitor's
    run trains takes none of that run's CPU: the warm-up is put off to the run's end. With a
    core to spare it goes at once."""
    for worker in service.pool.snapshot():
        worker.ready_for = None  # what earlier tests got ready is theirs
    config, _, data = xor(num_samples=1000, seed=7)

    def readied() -> bool:
        return any(w.ready_for == config.to_dict() for w in service.pool.snapshot())

    try:
        for cores, at_once in ((2, False), (4, True)):
            service.cores = cores
            long_config, long_data = long_xor()
            run = service.start(long_config, long_data, owner="warm-up test")
            wait_for(lambda run=run: len(run.history) > 0, "the long run's first batches")
            assert service.warm(config, data) is at_once
            assert readied() is at_once
            service.command(run.id, "stop", "warm-up test")
            wait_finished(run)
            wait_for(readied, f"a worker got ready for the config ({cores} cores)")
            wait_idle(service)
            for worker in service.pool.snapshot():
                worker.ready_for = None
    finally:
        service.cores = usable_cores()


def test_only_what_a_worker_may_train_is_got_ready(service):
    before = [(w.pid, w.ready_for) for w in service.pool.snapshot()]
    config, _, data = xor(hidden_units=(4096,) * 16)  # over the parameter budget
    assert not service.warm(config, data)
    config, _, data = xor(dataset="csv")
    assert not service.warm(config, data)
    assert [(w.pid, w.ready_for) for w in service.pool.snapshot()] == before


def test_stepping_trains_one_interval_at_a_time_then_resumes(service):
    # 320 training points / 32 = 10 steps an epoch, 20 in all; 7 does not divide them.
    config, raw, data = xor(log_every=7)
    run = service.start(config, data, owner="alice", mode="stepping")

    wait_for(lambda: run.status == "paused" and run.model_bytes is not None, "the first pause")
    assert len(run.history) == 7
    assert run.model_step == 6
    assert zipfile.is_zipfile(io.BytesIO(run.model_bytes))
    first_model = run.model_bytes

    service.command(run.id, "step", "alice")
    wait_for(lambda: run.status == "paused" and run.model_step == 13, "the second pause")
    assert len(run.history) == 14
    assert run.model_bytes != first_model
    assert not run.finished

    service.command(run.id, "resume", "alice")
    wait_finished(run)
    assert run.end.reason == "completed", run.end.message
    assert len(run.history) == 20
    assert_contiguous(run)
    # Pausing changes nothing the run computes.
    reference, _ = local_losses(config, raw)
    assert np.max(np.abs(losses_of(run) - reference)) < 1e-6


def weights_after(config: trainer.RunConfig, raw: trainer.Dataset, steps: int) -> list:
    """The model's weights after exactly `steps` optimizer steps, trained here one step per
    compiled call (the same losses, bit for bit, as bigger chunks)."""
    training = trainer.prepare(config.replace(steps_per_execution=1), raw)
    taken = 0
    for event in training.events:
        taken += isinstance(event, trainer.BatchEnd)
        if taken == steps:
            break
    weights = [w.copy() for w in training.model.get_weights()]
    training.events.close()
    return weights


def test_the_model_saved_at_a_pause_is_the_model_at_its_step(service, tmp_path):
    config, raw, data = xor(log_every=5)  # the pause falls inside the second chunk (steps 4-7)
    run = service.start(config, data, owner="alice", mode="stepping")
    wait_for(lambda: run.status == "paused" and run.model_bytes is not None, "the pause")
    assert run.model_step == 4 and len(run.history) == 5
    paused = load_keras(run.model_bytes, tmp_path).get_weights()
    service.command(run.id, "stop", "alice")
    expected = weights_after(config, raw, run.model_step + 1)
    wait_finished(run)
    assert max(np.max(np.abs(a - b)) for a, b in zip(paused, expected)) < 1e-6


def test_a_pause_mid_chunk_keeps_history_and_model_together(service, tmp_path):
    # 200 epochs, stopped below: 5 (250 steps) could end before the pause arrived (a CI failure).
    config, raw, data = xor(num_samples=2000, epochs=200)
    run = service.start(config, data, owner="alice")
    wait_for(lambda: len(run.history) >= 40, "40 steps")
    service.command(run.id, "pause", "alice")
    wait_for(lambda: run.model_bytes is not None and run.status == "paused", "the pause")
    step = run.model_step
    assert step == len(run.history) - 1  # the batches computed before the pause, all recorded
    paused = load_keras(run.model_bytes, tmp_path).get_weights()
    expected = weights_after(config, raw, step + 1)
    service.command(run.id, "stop", "alice")
    wait_finished(run)
    assert max(np.max(np.abs(a - b)) for a, b in zip(paused, expected)) < 1e-6


def test_stop_ends_a_long_run_within_two_seconds(service):
    config, data = long_xor()
    run = service.start(config, data, owner="alice")
    wait_for(lambda: len(run.history) >= 100, "the long run to train 100 steps")
    assert run.status == "running"

    started = time.perf_counter()
    service.command(run.id, "stop", "alice")
    wait_finished(run)
    seconds = time.perf_counter() - started
    print(f"stop -> finished: {seconds:.3f} s ({len(run.history)} of {run.total_steps} steps)")

    assert seconds < 2.0
    assert run.end.reason == "stopped"
    assert run.end.message == "Stopped by request."
    assert len(run.history) < run.total_steps
    assert_contiguous(run)
    assert run.end.step + 1 == len(run.history)
    assert run.model_bytes is not None and run.model_step == run.end.step


def test_a_signal_to_the_servers_process_group_leaves_its_workers_training(service):
    # Ctrl-C or systemd's stop signal every process of the group: the server ends its runs as
    # interrupted as it closes; a worker that died first had them read "failed".
    config, data = long_xor()
    run = service.start(config, data, owner="alice")
    wait_for(lambda: len(run.history) >= 100, "the long run to train 100 steps")
    worker = worker_of(service, run)
    for sent in (signal.SIGINT, signal.SIGTERM):
        os.kill(worker.pid, sent)
    trained = len(run.history)
    wait_for(lambda: len(run.history) > trained + 100, "100 more steps")
    assert worker.process.poll() is None and not run.finished
    service.command(run.id, "stop", "alice")
    wait_finished(run)
    assert run.end.reason == "stopped"


def test_a_run_paused_past_the_limit_is_stopped_by_its_worker():
    # In a worker process (`python -m service.worker`), not an import of the module: the
    # message's helper was defined below the module's `sys.exit(main())` and did not exist
    # there (a NameError that only the real process met).
    limited = RunService(Settings(max_concurrent=1, pause_limit_s=1))
    try:
        assert limited.wait_until_ready(READY_S), "the worker did not warm up"
        config, data = long_xor()
        run = limited.start(config, data, owner="alice")
        wait_for(lambda: len(run.history) >= 100, "100 steps")
        limited.command(run.id, "pause", "alice")
        wait_finished(run)
        assert run.end.reason == "stopped", run.end.message
        assert run.end.message == "Stopped after 1 second paused, to free its worker for others."
    finally:
        limited.close()


def test_two_runs_at_once_in_two_processes_train_identically(service):
    config, _, data = xor(num_samples=2000, epochs=2)
    first = service.start(config, data, owner="bob")
    second = service.start(config, data, owner="carol")
    # Both got a worker at once, each its own process.
    trained_by = {run.id: worker_of(service, run) for run in (first, second)}
    assert None not in trained_by.values()
    assert trained_by[first.id].pid != trained_by[second.id].pid
    wait_finished(first)
    wait_finished(second)

    assert (first.owner, first.number) == ("bob", 1)
    assert (second.owner, second.number) == ("carol", 1)
    for run in (first, second):
        assert run.end.reason == "completed", run.end.message
        assert_contiguous(run)
        assert len(run.history) == run.total_steps == 100
    assert np.max(np.abs(losses_of(first) - losses_of(second))) < 1e-6


def test_only_the_owner_steers_and_a_finished_run_ignores_commands(service):
    config, _, data = xor(log_every=5)
    run = service.start(config, data, owner="dave", mode="stepping")
    wait_for(lambda: run.status == "paused" and run.model_bytes is not None, "the pause")

    for action in ("stop", "resume", "step", "pause"):
        with pytest.raises(PermissionError, match="run 1"):
            service.command(run.id, action, "mallory")
    with pytest.raises(ValueError, match="action must be one of"):
        service.command(run.id, "explode", "dave")
    with pytest.raises(ValueError, match="No run"):
        service.command("no-such-run", "stop", "dave")
    assert run.status == "paused" and not run.finished
    assert len(run.history) == 5

    service.command(run.id, "stop", "dave")
    wait_finished(run)
    assert run.end.reason == "stopped"
    # The owner's stop is obeyed: a few batches the paused chunk had computed are still
    # recorded, nothing is lost or repeated, and the run ends where its history does.
    assert 5 <= len(run.history) < run.total_steps
    assert_contiguous(run)
    assert run.end.step + 1 == len(run.history)
    end, version = run.end, run.version

    for action in ("resume", "step", "pause", "stop"):
        assert service.command(run.id, action, "dave") is None
    with pytest.raises(PermissionError):
        service.command(run.id, "resume", "mallory")
    assert run.status == "finished"
    assert run.end is end and run.version == version
    wait_idle(service)  # its worker is free again


def test_a_2d_run_reports_its_decision_boundary(service):
    config, _, data = xor()
    run = service.start(config, data, owner="erin")
    wait_finished(run)
    assert run.end.reason == "completed", run.end.message
    assert run.boundary is not None
    assert run.boundary.shape == (32, 32)
    assert np.all(np.isfinite(run.boundary))
    assert run.boundary.min() >= 0.0 and run.boundary.max() <= 1.0
    assert run.boundary_step == run.end.step


def test_a_run_the_worker_rejects_fails_and_the_worker_carries_on(service):
    before, started = pids(service), service.pool.started
    config, _, data = xor(task="regression")  # XOR is a classification set
    run = service.start(config, data, owner="frank")
    wait_finished(run)
    assert run.end.reason == FAILED
    assert run.failed
    assert "RunConfig.task is 'regression'" in run.end.message
    assert "task='classification'" in run.end.message
    assert len(run.history) == 0 and run.end.step == -1

    # No worker died or was replaced, and both take a run at once and complete it.
    wait_idle(service)
    assert pids(service) == before and service.pool.started == started
    config, _, data = xor()
    runs = [service.start(config, data, owner="frank") for _ in range(2)]
    assert {worker_of(service, r).pid for r in runs} == before
    for next_run in runs:
        wait_finished(next_run)
        assert next_run.end.reason == "completed", next_run.end.message


def test_a_run_over_the_budget_is_refused_before_it_exists(service):
    before = service.all_runs()
    config, _, data = xor(hidden_units=(4096,) * 16)
    widths = [2, *(4096,) * 16, 2]
    params = sum(a * b + b for a, b in zip(widths, widths[1:]))
    assert params > service.settings.max_params
    with pytest.raises(ValueError, match=f"{params:,} parameters"):
        service.start(config, data, owner="grace")

    config, _, data = xor(epochs=10_000, num_samples=2000)  # 1600 x 10,000 sample-epochs
    with pytest.raises(ValueError, match="too big for this server"):
        service.start(config, data, owner="grace")

    assert service.all_runs() == before
    assert service.runs_of("grace") == []
    assert service.busy_workers() == 0


def test_a_killed_worker_fails_its_run_and_is_replaced(service):
    before, started = pids(service), service.pool.started
    config, data = long_xor()
    run = service.start(config, data, owner="heidi")
    wait_for(lambda: len(run.history) >= 100, "the run to train 100 steps")
    worker = worker_of(service, run)
    assert worker is not None
    recorded = len(run.history)

    os.kill(worker.pid, signal.SIGKILL)
    wait_finished(run, timeout=30)
    assert run.end.reason == FAILED
    assert "stopped: killed by signal 9 (SIGKILL); the machine may have run out of memory. " in (
        run.end.message
    )
    assert len(run.history) >= recorded  # what it recorded is kept
    assert_contiguous(run)
    assert run.end.step == len(run.history) - 1
    assert worker.process.poll() == -signal.SIGKILL
    # What it wrote in its temporary folder (autograph's sources of the functions it
    # converted) went with it; nothing else removes it after a kill.
    wait_for(lambda: not os.path.exists(worker.tmp), "the killed worker's folder to go")

    # A fresh process took its place; the server carries on.
    wait_for(lambda: len(service.pool.snapshot()) == 2, "a replacement worker")
    assert service.pool.started == started + 1
    now = pids(service)
    assert worker.pid not in now and len(now - before) == 1
    config, _, data = xor()
    after = service.start(config, data, owner="heidi")
    wait_finished(after)
    assert after.end.reason == "completed", after.end.message
    assert after.number == 2
    assert service.wait_until_ready(READY_S), "the replacement did not warm up"
    assert pids(service) == now


def test_a_run_whose_worker_died_resumes_and_learns_what_it_would_have(service):
    # The process died, not the run: Resume trains it on (from its last checkpoint; this one
    # died before its first, so from the start) under the same id, to the same losses.
    config, raw, data = xor(num_samples=2000, epochs=20, batch_size=8)  # 4,000 steps
    run = service.start(config, data, owner="heidi")
    wait_for(lambda: len(run.history) >= 100, "the run to train 100 steps")
    os.kill(worker_of(service, run).pid, signal.SIGKILL)
    wait_finished(run, timeout=30)
    assert run.end.reason == FAILED and "Resume goes on from its last checkpoint" in run.end.message
    with pytest.raises(PermissionError):
        service.resume_interrupted(run.id, "mallory")

    resumed = service.resume_interrupted(run.id, "heidi")
    assert resumed is run and not run.finished
    reference, _ = local_losses(config, raw)
    wait_finished(run)
    assert run.end.reason == "completed", run.end.message
    assert_contiguous(run)
    assert len(run.history) == len(reference) == 4000
    assert np.max(np.abs(losses_of(run) - reference)) < 1e-5
    with pytest.raises(ValueError, match="was not interrupted"):  # a finished run does not
        service.resume_interrupted(run.id, "heidi")
    assert service.wait_until_ready(READY_S), "the replacement did not warm up"


# -- one worker: the queue, and a worker replaced after worker_max_runs ---------------------------
def test_a_second_run_waits_in_line_until_the_first_ends(small):
    config, data = long_xor()
    first = small.start(config, data, owner="ivan")
    second_config, _, second_data = xor()
    second = small.start(second_config, second_data, owner="judy")
    assert first.status == "running" and small.queue_position(first.id) is None
    assert second.status == "queued" and small.queue_position(second.id) == 1

    wait_for(lambda: len(first.history) >= 100, "the first run to train 100 steps")
    assert second.status == "queued" and small.queue_position(second.id) == 1
    assert len(second.history) == 0

    small.command(first.id, "stop", "ivan")
    wait_finished(first)
    assert first.end.reason == "stopped"
    wait_finished(second)
    assert second.end.reason == "completed", second.end.message
    assert small.queue_position(second.id) is None
    assert len(second.history) == second.total_steps
    assert_contiguous(second)


def autograph_files() -> set[str]:
    """The sources TensorFlow's autograph left in this machine's temporary folder."""
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "__autograph_generated_file*")))


def test_a_worker_is_replaced_after_worker_max_runs(small):
    assert small.settings.worker_max_runs == 2
    (worker,) = small.pool.snapshot()
    started, left_before = small.pool.started, autograph_files()
    # A worker's temporary files go to a folder of its own, the server's to the usual place.
    assert os.path.isdir(worker.tmp) and worker.tmp != tempfile.gettempdir()
    config, _, data = xor()
    for _ in range(2 - worker.runs_done):
        wait_idle(small)
        run = small.start(config, data, owner="ken")
        assert worker_of(small, run) is worker
        wait_finished(run)
        assert run.end.reason == "completed", run.end.message

    wait_for(lambda: worker.pid not in pids(small), "the worker to retire")
    wait_for(lambda: worker.process.poll() is not None, "the retired process to exit")
    assert worker.process.returncode == 0  # it shut down when asked
    # Its connection is closed by the pump thread, the only one that reads it.
    wait_for(lambda: worker.conn.closed, "the retired worker's connection to be closed")
    assert small.pool.started == started + 1
    (replacement,) = small.pool.snapshot()
    assert replacement.pid != worker.pid
    # A retired worker leaves with os._exit: autograph's sources stayed in /tmp for good (six
    # a worker), as they would for every worker a long-lived server replaces.
    wait_for(lambda: not os.path.exists(worker.tmp), "the retired worker's folder to go")
    assert autograph_files() <= left_before

    wait_idle(small)
    run = small.start(config, data, owner="ken")
    assert worker_of(small, run) is replacement
    wait_finished(run)
    assert run.end.reason == "completed", run.end.message
    wait_for(lambda: replacement.runs_done == 1, "the replacement's Idle")


def test_a_message_handler_that_fails_does_not_stop_the_service(service, capfd):
    # The pump thread reads every worker's messages: if it dies, every run stops updating.
    from service.protocol import Boundary

    handle, failed = service.pool.on_message, []

    def fail_once(worker, message):
        if isinstance(message, Boundary) and not failed:
            failed.append(message)
            raise RuntimeError("a handler bug")
        handle(worker, message)

    service.pool.on_message = fail_once
    try:
        config, _, data = xor(epochs=3)
        run = service.start(config, data, owner="ivan")
        wait_finished(run)
    finally:
        service.pool.on_message = handle
    assert failed, "no Boundary message came"
    assert run.end.reason == "completed", run.end.message
    assert "a handler bug" in capfd.readouterr().err  # said in the server's log
    config, _, data = xor()
    run = service.start(config, data, owner="ivan")
    wait_finished(run)
    assert run.end.reason == "completed"
