"""The run store on real databases: a SQLite file and a PostgreSQL server (Debian's, started by
the `postgres_url` fixture). A run written while it trains reads back the same after a restart;
a server that died leaves its runs interrupted, not lost; a store that cannot be used is named
and never stops training."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

import trainer
from service import RunService, Settings
from service import schema as store_module
from service.records import run_row
from service.runs import INTERRUPTED, Run
from service.schema import SCHEMA_VERSION
from service.store import Store, StoreError
from service.writer import StoreWriter
from trainer.data import split_validation
from trainer.events import EpochEnd
from trainer.history import History

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"
    base = request.getfixturevalue("postgres_url")
    # A fresh schema per test: a database named after the test, created on the server.
    name = f"t{abs(hash(request.node.nodeid)) % 10**9}"
    engine = sa.create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return base.rsplit("/", 1)[0] + f"/{name}"


def made_run(run_id: str = "r1", owner: str = "alice", steps: int = 250) -> Run:
    config = trainer.RunConfig(dataset="xor", num_samples=200, epochs=5, batch_size=32)
    history = History(steps_per_epoch=5)
    rng = np.random.default_rng(0)
    loss = rng.random(steps).astype(np.float32)
    history.extend(
        {
            "step": np.arange(steps),
            "epoch": np.arange(steps) // 5,
            "batch": np.arange(steps) % 5,
            "loss": loss.astype(np.float64),
            "samples_seen": np.arange(1, steps + 1) * 32,
            "elapsed_s": np.linspace(0, 1, steps),
        }
    )
    history.record(EpochEnd(0, {"loss": 0.5, "val_loss": 0.4, "val_accuracy": 0.9}, 4, 0.1))
    return Run(
        id=run_id, owner=owner, number=1, config=config, data_title="XOR",
        steps_per_epoch=5, num_train=160, num_val=40, history=history, status="running",
        model_bytes=b"PK-model", model_step=steps - 1,
    )  # fmt: skip


def test_a_run_written_in_pieces_reads_back_whole(url):
    store = Store(url)
    writer = StoreWriter(store, interval=0.05)
    run = made_run()
    writer.put_run(run_row(run, with_model=True))
    loss = run.history.column("loss")
    elapsed = run.history.column("elapsed_s")
    for first in range(0, 250, 100):  # three worker messages, merged into one row per write
        writer.put_batches(run.id, first, loss[first : first + 100], elapsed[first : first + 100])
    writer.put_epoch(run.id, 0, 4, 0.1, {"loss": 0.5, "val_loss": 0.4, "val_accuracy": 0.9})
    writer.flush()
    assert writer.problem is None
    stored = store.load(run.id)
    assert stored.steps.tolist() == list(range(250))
    assert np.array_equal(stored.loss, loss.astype(np.float32).astype(np.float64))
    assert stored.epochs == [
        {"epoch": 0, "step": 4, "elapsed_s": 0.1, "loss": 0.5, "val_loss": 0.4, "val_accuracy": 0.9}
    ]
    assert bytes(stored.row["model"]) == b"PK-model" and stored.row["best"] == 0.9
    with store.engine.connect() as conn:  # compact: a row per write, not one per batch
        rows = conn.execute(sa.select(sa.func.count()).select_from(store_module.batches_table))
        assert rows.scalar_one() <= 3
    writer.close()


def test_listing_is_the_owners_newest_first_without_models(url):
    store = Store(url)
    writer = StoreWriter(store, interval=0.05)
    for i in range(5):
        run = made_run(f"r{i}", owner="alice" if i % 2 == 0 else "bob", steps=10)
        run.created = 1000.0 + i
        writer.put_run(run_row(run, with_model=True))
    writer.flush()
    listed = store.list_runs("alice")
    assert [r["id"] for r in listed] == ["r4", "r2", "r0"]
    assert all("model" not in r and r["has_model"] for r in listed)
    assert store.owners_count("alice") == 1
    writer.delete("r2")
    writer.flush()
    assert [r["id"] for r in store.list_runs("alice")] == ["r4", "r0"]
    assert store.load("r2") is None
    writer.close()


def test_a_newer_store_is_refused_and_an_older_one_migrated(url, monkeypatch):
    Store(url).close()  # created at the current version
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(store_module.meta_table.update().values(value=str(SCHEMA_VERSION + 1)))
    with pytest.raises(StoreError, match=r"TAPEBOARD_DB .*newer than this app's"):
        Store(url)
    # An app one version ahead opens this store (now one behind it) and migrates it.
    with engine.begin() as conn:
        conn.execute(store_module.meta_table.update().values(value=str(SCHEMA_VERSION)))
    engine.dispose()
    migrated = []
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(store_module.MIGRATIONS, SCHEMA_VERSION + 1, migrated.append)
    Store(url).close()
    assert len(migrated) == 1
    with sa.create_engine(url).connect() as conn:
        version = conn.execute(sa.select(store_module.meta_table.c.value)).scalar_one()
    assert version == str(SCHEMA_VERSION + 1)


def test_a_checkpoint_is_kept_replaced_and_dropped_and_a_rewind_trims_the_history(url):
    store = Store(url)
    writer = StoreWriter(store, interval=60)
    try:
        run = made_run(steps=250)
        writer.put_run(run_row(run, with_model=True))
        losses = run.history.column("loss").astype(np.float32)
        # Written as a worker reports: chunks of 100, 100, 50 rows.
        for first in (0, 100, 200):
            part = slice(first, min(first + 100, 250))
            writer.put_batches("r1", first, losses[part], np.zeros(len(losses[part])))
        for epoch in range(3):
            writer.put_epoch("r1", epoch, 5 * epoch + 4, 0.1, {"loss": 1.0})
        writer.put_checkpoint("r1", (1, 9, b"first"))
        writer.flush()
        writer.put_checkpoint("r1", (2, 14, b"second"))  # replaces the first
        writer.flush()
        assert store.load_checkpoint("r1") == (2, 14, b"second")

        writer.truncate("r1", 149, 1)  # inside the second row: the row is cut, not dropped
        writer.flush()
        back = store.load("r1")
        assert back.steps.tolist() == list(range(150))
        np.testing.assert_array_equal(back.loss, losses[:150])
        assert [e["epoch"] for e in back.epochs] == [0, 1]
        writer.put_batches("r1", 150, losses[150:], np.zeros(100))  # the run goes on
        writer.put_checkpoint("r1", None)  # ...and ends: no checkpoint needed any more
        writer.flush()
        assert store.load("r1").steps.tolist() == list(range(250))
        assert store.load_checkpoint("r1") is None
    finally:
        writer.close()
        store.close()


def test_a_version_1_store_gets_the_checkpoints_table(url):
    Store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE tapeboard_checkpoints"))
        conn.execute(store_module.meta_table.update().values(value="1"))
    engine.dispose()
    store = Store(url)  # the app of today opens the store of version 1
    try:
        assert store.load_checkpoint("nothing") is None
        assert sa.inspect(store.engine).has_table("tapeboard_checkpoints")
    finally:
        store.close()


# -- the service on a store: restart, crash ----------------------------------------------
def xor_run(epochs: int = 3):
    config = trainer.RunConfig(dataset="xor", num_samples=1000, epochs=epochs, batch_size=32)
    data = split_validation(trainer.load_dataset("xor", num_samples=1000), 0.2, 0)
    return config, data


def wait_for(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_run_is_the_same_after_a_restart(url):
    config, data = xor_run()
    first = RunService(Settings(max_concurrent=1), store_url=url)
    assert first.store_problem is None
    run = first.start(config, data, owner="alice", data_title="XOR")
    wait_for(lambda: run.finished, "the run")
    before = (run.history.batches(), run.history.epochs(), run.model_bytes, run.end)
    first.close()  # the server stops

    again = RunService(Settings(max_concurrent=1), store_url=url)
    try:
        back = again.get(run.id)
        assert back is not None and back.finished and back.end.reason == "completed"
        batches, epochs, model, end = before
        assert back.history.batches()[["step", "epoch", "batch", "samples_seen"]].equals(
            batches[["step", "epoch", "batch", "samples_seen"]]
        )
        assert np.allclose(back.history.column("loss"), batches["loss"], rtol=0, atol=1e-7)
        assert back.history.epochs()["val_accuracy"].tolist() == epochs["val_accuracy"].tolist()
        assert back.model_bytes == model and back.end.metrics == end.metrics
        assert back.dataset is not None and back.dataset.num_val == data.num_val
        assert [s.id for s in again.summaries("alice")] == [run.id]
        assert again.count_stored("alice") == 1
        second = again.start(config, data, owner="alice")
        assert second.number == 2  # numbering goes on from the store
        # Counted at once, before the writer's next batch puts it in the store.
        assert again.count_stored("alice") == 2
        wait_for(lambda: second.finished, "the second run")
        assert again.count_stored("alice") == 2
    finally:
        again.close()


def test_a_run_whose_server_stopped_is_interrupted_with_what_it_recorded(url):
    config, data = xor_run(epochs=400)
    first = RunService(Settings(max_concurrent=1), store_url=url)
    run = first.start(config, data, owner="alice")
    wait_for(lambda: len(run.history) > 100, "100 steps")
    first.close()  # mid-run
    again = RunService(Settings(max_concurrent=1), store_url=url)
    try:
        back = again.get(run.id)
        assert back.end.reason == INTERRUPTED and "server stopped" in back.end.message
        assert "while this run was training" in back.end.message
        assert 100 <= len(back.history) <= len(run.history)
        assert back.history.column("step").tolist() == list(range(len(back.history)))
    finally:
        again.close()


def test_an_interrupted_run_says_what_it_was_doing_when_its_server_stopped(url):
    config, data = xor_run(epochs=400)
    first = RunService(Settings(max_concurrent=1), store_url=url)
    paused = first.start(config, data, owner="alice")
    waiting = first.start(config, data, owner="alice")  # the one worker is busy: queued
    wait_for(lambda: len(paused.history) > 0, "a first step")
    first.command(paused.id, "pause", "alice")
    wait_for(lambda: paused.status == "paused", "the pause")
    assert waiting.status == "queued"
    first.close()
    again = RunService(Settings(max_concurrent=1), store_url=url)
    try:
        messages = {r.id: again.get(r.id).end.message for r in (paused, waiting)}
        assert "while this run was paused" in messages[paused.id]
        assert "waited for a worker, before it trained" in messages[waiting.id]
        assert len(again.get(waiting.id).history) == 0
    finally:
        again.close()


def test_an_interrupted_run_resumes_with_the_losses_of_an_uninterrupted_run(url):
    config, data = xor_run(epochs=40)  # 25 steps an epoch, 1,000 in all
    settings = Settings(max_concurrent=1, checkpoint_s=0)  # a checkpoint after every epoch
    first = RunService(settings, store_url=url)
    run = first.start(config, data, owner="alice")
    wait_for(lambda: run.checkpoint_epoch >= 3, "a few epoch checkpoints")
    first.close()  # mid-run: it ends interrupted, with its checkpoint kept

    again = RunService(settings, store_url=url)
    try:
        back = again.get(run.id)
        assert back.end.reason == INTERRUPTED
        epoch = again.checkpoint_epoch(run.id)
        assert epoch is not None and epoch >= 3
        with pytest.raises(PermissionError):
            again.resume_interrupted(run.id, "mallory")
        resumed = again.resume_interrupted(run.id, "alice")
        assert resumed.id == run.id and len(resumed.history) == 25 * (epoch + 1)
        wait_for(lambda: resumed.finished, "the resumed run")
        assert resumed.end.reason == "completed", resumed.end.message
        raw = trainer.load_dataset("xor", num_samples=1000)
        events = list(trainer.train(config, raw))
        expected = [e.loss for e in events if isinstance(e, trainer.BatchEnd)]
        assert resumed.history.column("step").tolist() == list(range(1000))
        np.testing.assert_allclose(resumed.history.column("loss"), expected, rtol=1e-6)
        again.keeper.writer.flush()  # the last second's batches (written at most once a second)
        stored = again.keeper.store.load(run.id)  # the store agrees: no step twice, none lost
        assert stored.steps.tolist() == list(range(1000))
        assert [e["epoch"] for e in stored.epochs] == list(range(40))
        assert again.checkpoint_epoch(run.id) is None  # it ended: nothing left to resume
        with pytest.raises(ValueError, match="was not interrupted"):
            again.resume_interrupted(run.id, "alice")
    finally:
        again.close()


def test_a_run_resumed_on_one_server_reads_so_on_another_sharing_the_store(url):
    # Scale-out: B had read the run as interrupted; A's owner resumed it there. B must not
    # keep showing it interrupted (it kept that copy for good, even across reloads).
    config, data = xor_run(epochs=40)
    settings = Settings(max_concurrent=1, checkpoint_s=0)
    first = RunService(settings, store_url=url)
    run = first.start(config, data, owner="alice")
    wait_for(lambda: run.checkpoint_epoch >= 2, "a checkpoint")
    first.close()
    a, b = RunService(settings, store_url=url), RunService(settings, store_url=url)
    try:
        assert b.get(run.id).end.reason == INTERRUPTED
        resumed = a.resume_interrupted(run.id, "alice")
        wait_for(lambda: resumed.finished, "the resumed run")
        assert resumed.end.reason == "completed", resumed.end.message

        def ended_on_b() -> bool:
            # A's store writer keeps the end a moment after the run in memory has it: up to
            # a write interval, and after the flush below if that comes first (a CI failure).
            a.keeper.writer.flush()
            seen = b.get(run.id)
            return seen.end is not None and seen.end.reason != INTERRUPTED

        wait_for(ended_on_b, "B to read the resumed run's end", timeout=30)
        seen = b.get(run.id)
        assert seen.end.reason == "completed", seen.end.message
        assert len(seen.history) == len(resumed.history) == 1000
    finally:
        a.close()
        b.close()


CRASHING_SERVER = """
import sys, time
import trainer
from service import RunService, Settings
from trainer.data import split_validation

config = trainer.RunConfig(dataset="xor", num_samples=1000, epochs=150, batch_size=32)
data = split_validation(trainer.load_dataset("xor", num_samples=1000), 0.2, 0)
service = RunService(Settings(max_concurrent=1, checkpoint_s=0), store_url=sys.argv[1])
run = service.start(config, data, owner="alice")
while run.checkpoint_epoch < 5:
    time.sleep(0.01)
print(run.id, flush=True)
time.sleep(600)  # killed long before
"""


def test_a_server_killed_mid_run_resumes_with_the_losses_of_an_uninterrupted_run(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    temporary = tmp_path / "tmp"  # where the server's workers make their folders
    temporary.mkdir()
    server = subprocess.Popen(
        [sys.executable, "-c", CRASHING_SERVER, url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TMPDIR": str(temporary)},
    )
    try:
        run_id = server.stdout.readline().strip()
        assert run_id, "the server did not start its run"
        store = Store(url)  # killed as soon as the store holds a checkpoint: mid-run
        wait_for(lambda: store.load_checkpoint(run_id) is not None, "a stored checkpoint", 30)
        store.close()
    finally:
        server.send_signal(signal.SIGKILL)  # no goodbye; its workers follow it out
        server.wait()
    # ...taking their temporary folders with them, with nobody left to remove them.
    wait_for(lambda: not any(temporary.iterdir()), "the workers' folders to go", 30)
    again = RunService(Settings(max_concurrent=1, checkpoint_s=0), store_url=url)
    try:
        wait_for(lambda: again.get(run_id).finished, "the run to show as interrupted", 30)
        back = again.get(run_id)
        assert back.end.reason == INTERRUPTED
        assert again.checkpoint_epoch(run_id) is not None  # what the store held at the kill
        resumed = again.resume_interrupted(run_id, "alice")
        wait_for(lambda: resumed.finished, "the resumed run", 300)
        config = trainer.RunConfig(dataset="xor", num_samples=1000, epochs=150, batch_size=32)
        events = trainer.train(config, trainer.load_dataset("xor", num_samples=1000))
        expected = [e.loss for e in events if isinstance(e, trainer.BatchEnd)]
        assert resumed.history.column("step").tolist() == list(range(len(expected)))
        np.testing.assert_allclose(resumed.history.column("loss"), expected, rtol=1e-6)
    finally:
        again.close()


def test_models_beyond_the_memory_budget_leave_memory_and_come_back_from_the_store(tmp_path):
    config, data = xor_run(epochs=1)
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    service = RunService(Settings(max_concurrent=1, keep_models_mb=0), store_url=url)
    try:
        first = service.start(config, data, owner="alice")
        wait_for(lambda: first.finished, "the first run")
        model = first.model_bytes
        second = service.start(config, data, owner="alice")
        wait_for(lambda: second.finished, "the second run")
        service.keeper.writer.flush()
        # Only the newest finished run keeps its model in memory...
        assert [run.id for run in service.runs_of("alice")] == [second.id]
        back = service.get(first.id)  # ...the older one is read back when opened
        assert back is not first and back.model_bytes == model and back.end.reason == "completed"
    finally:
        service.close()


# -- a store that cannot be used ------------------------------------------------------------
def test_a_corrupt_sqlite_file_is_named_and_left_as_it_was(tmp_path):
    path = tmp_path / "runs.db"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as info:
        Store(f"sqlite:///{path}")
    assert "TAPEBOARD_DB" in str(info.value) and "not a database" in str(info.value)
    assert path.read_bytes() == garbage


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("nosuchdriver://x/y", "could not be opened"),
        ("postgresql+psycopg://nobody@127.0.0.1:9/none", "could not be opened"),
        ("not a url at all", "could not be opened"),
    ],
)
def test_a_bad_url_is_named_with_the_reason(url, words):
    started = time.monotonic()
    with pytest.raises(StoreError) as info:
        Store(url)
    assert str(info.value).startswith("TAPEBOARD_DB") and words in str(info.value)
    assert time.monotonic() - started < 15  # an unreachable server does not hang the start


def test_a_read_only_store_is_named_and_training_goes_on(tmp_path, monkeypatch):
    path = tmp_path / "runs.db"
    working = tmp_path / "working"
    working.mkdir()
    monkeypatch.chdir(working)  # a SQLite URI must not leave a "file:" folder where we stand
    Store(f"sqlite:///{path}").close()
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    config, data = xor_run(epochs=1)
    service = RunService(Settings(max_concurrent=1), store_url=read_only)
    try:
        run = service.start(config, data, owner="alice")
        wait_for(lambda: run.finished, "the run")
        service.keeper.writer.flush()
        assert run.end.reason == "completed"  # it trained
        assert "TAPEBOARD_DB" in service.store_problem and "readonly" in service.store_problem
        assert not run.saved
    finally:
        service.close()
    assert Path(path).exists()
    assert list(working.iterdir()) == []
