"""`python -m service.worker`: one worker process of the run service.

It imports TensorFlow and traces a tiny run once (so the first real run does not wait for
either), tells the server it is ready, then trains one run at a time with `trainer` exactly as a
script would, sending what the run records as it goes: a chunk's batches as one message of
arrays at least every FLUSH_S, each epoch's metrics, the live decision boundary for 2-D data,
the model as `.keras` bytes when the run pauses or ends. Between chunks it reads the server's
commands (pause, resume, step, stop), so each takes effect within a fraction of a second
whatever the logging interval or model size. The server gone (its socket closed) ends the
worker: a worker never outlives its server.

Started by `service.pool` with TAPEBOARD_WORKER_ADDRESS (host:port) and TAPEBOARD_WORKER_KEY
(the connection's auth key, hex) in its environment.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from multiprocessing.connection import Client, Connection
from pathlib import Path
from typing import Any

from service import checkpoints
from service.protocol import (
    Batches,
    Boundary,
    Checkpoint,
    Command,
    Ended,
    Epoch,
    Failed,
    Idle,
    Job,
    Paused,
    Ready,
    Resumed,
    Shutdown,
    Started,
    Task,
    TaskResult,
    Warm,
)

FLUSH_S = 0.1  # batches reach the server at least this often while training
TASK_IDLE_S = float(os.environ.get("TAPEBOARD_TASK_IDLE_S", "300") or 300)
POLL_S = 0.02  # commands are read at least this often
BOUNDARY_S = 0.5  # the live decision boundary is recomputed this often
PAUSE_LIMIT_S = float(os.environ.get("TAPEBOARD_PAUSE_LIMIT_S", "600") or 600)


class ServerGone(Exception):
    """The server closed the connection or asked this worker to shut down."""


def main() -> int:
    # Keras' convert_to_numpy (model.save calls it) still uses np.array(tensor) without the copy
    # keyword NumPy 2 asks for: its DeprecationWarning is Keras' to fix, not news to our log.
    warnings.filterwarnings(
        "ignore", message=r"__array__ implementation doesn't accept a copy keyword"
    )
    # A worker's life is its server's: it leaves on the server's Shutdown, or when the server's
    # connection closes. Ctrl-C in a terminal and systemd's stop signal the whole process
    # group; workers that died of it before their server began to close left their runs
    # "failed: killed by signal 15" instead of interrupted, the server having stopped.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.environ.get("TAPEBOARD_WORKER_ROLE") == "tasks" and hasattr(os, "nice"):
        # The task worker starts when a run pauses or ends, often as the next run starts: its
        # TensorFlow import and its evaluations take the CPU that training leaves over.
        os.nice(10)
    host, port = os.environ["TAPEBOARD_WORKER_ADDRESS"].rsplit(":", 1)
    key = bytes.fromhex(os.environ.pop("TAPEBOARD_WORKER_KEY"))
    conn = Client((host, int(port)), authkey=key)
    started = time.perf_counter()
    warm_up()
    conn.send(Ready(os.getpid(), time.perf_counter() - started))
    tasks_only = os.environ.get("TAPEBOARD_WORKER_ROLE") == "tasks"
    runs = 0
    ready: Prepared | None = None  # the run a Warm got ready, until a Job takes or drops it
    try:
        while True:
            # The task worker goes away when nobody has needed it for a while (its memory is
            # the TensorFlow runtime); the server starts a new one on the next call.
            if tasks_only and not conn.poll(TASK_IDLE_S):
                _leave()
            message = _receive(conn)
            if isinstance(message, Warm):
                if ready is not None:
                    ready.discard()
                ready = Prepared.make(message)
            elif isinstance(message, Job):
                prepared, ready = Prepared.take(ready, message), None
                RunJob(conn, message, prepared).run()
                runs += 1
                conn.send(Idle(runs))
            elif isinstance(message, Task):
                conn.send(run_task(message))
            # A Command for a run that has already ended needs nothing.
    except ServerGone:
        _leave()
    return 0


def _leave() -> None:
    """End the process now: no TensorFlow teardown (seconds, with its memory still held, while
    a replacement already starts). Its temporary folder goes first: a server that was killed
    is not there to remove it (`service.pool` does for a worker that was)."""
    sys.stdout.flush()
    sys.stderr.flush()
    folder = os.environ.get("TAPEBOARD_WORKER_TMP")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
    os._exit(0)


def run_task(task: Task) -> TaskResult:
    """One call of `service.tasks`; a ValueError comes back as its message, anything else as
    a sentence (with the traceback in the log)."""
    from service.tasks import CALLS

    try:
        return TaskResult(task.task_id, CALLS[task.name](*task.args))
    except ValueError as err:
        # Tasks answer pages: an engine error worded for Python callers has people's words too.
        speak = getattr(err, "for_people", None)
        return TaskResult(task.task_id, error=speak() if callable(speak) else str(err))
    except Exception as err:
        traceback.print_exc()
        return TaskResult(task.task_id, error=f"{task.name} failed ({type(err).__name__}: {err}).")


def warm_up() -> None:
    """Import TensorFlow, Keras saving and scikit-learn's digits, and train a tiny run: the
    first compiled call of a process costs seconds that no visitor should wait for."""
    import trainer
    from trainer.evaluate import decision_values, grid_axes

    trainer.load_dataset("digits")
    training = trainer.prepare(trainer.RunConfig(dataset="xor", num_samples=64, epochs=1))
    for _event in training.events:
        pass
    decision_values(training.model, training.dataset, grid_axes(training.dataset, 4))
    model_bytes(training.model)


def _receive(conn: Connection) -> Any:
    try:
        message = conn.recv()
    except (EOFError, OSError):
        raise ServerGone from None
    if isinstance(message, Shutdown):
        raise ServerGone
    return message


def model_bytes(model: Any) -> bytes:
    """The model as a `.keras` file's bytes."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def prepare_training(
    config: Any, dataset: Any, checkpoint_s: float | None, checkpoint: bytes | None = None
) -> tuple[Any, str | None]:
    """`trainer.prepare` for a run of the service: its Training, and the folder its epoch
    checkpoints go to (None when it keeps none), unpacked from `checkpoint` to resume."""
    import trainer

    config = trainer.RunConfig.from_dict(config)
    folder = None
    if checkpoint_s is not None or checkpoint is not None:
        folder = tempfile.mkdtemp(prefix="tapeboard-checkpoint-")
        if checkpoint is not None:
            checkpoints.unpack(checkpoint, folder)
    try:
        training = trainer.prepare(
            config,
            dataset,
            checkpoint_dir=folder,
            # Without a period only the resumed-from checkpoint is read; none is written.
            checkpoint_every_s=float("inf") if checkpoint_s is None else checkpoint_s,
        )
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return training, folder


class Prepared:
    """A run made ready before anyone pressed Train (a `Warm`): data made, model built, the
    train step traced and run once. A `Job` of the same config takes it and trains its first
    batch at once instead of 0.1-0.3 s later (0.5 s and more for a bigger model)."""

    def __init__(self, warm: Warm, training: Any, checkpoint_dir: str | None) -> None:
        self.warm, self.training, self.checkpoint_dir = warm, training, checkpoint_dir

    @classmethod
    def make(cls, warm: Warm) -> Prepared | None:
        """None if the config cannot be got ready: its Job then prepares it and says why."""
        folder = None
        try:
            training, folder = prepare_training(warm.config, None, warm.checkpoint_s)
            training.warm_up()
        except Exception as err:  # only a head start: the Job prepares again and reports it
            if not isinstance(err, ValueError):
                traceback.print_exc()
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            return None
        return cls(warm, training, folder)

    @staticmethod
    def take(ready: Prepared | None, job: Job) -> Prepared | None:
        """What was got ready, if `job` trains exactly that; otherwise it is dropped."""
        if ready is not None and not ready.fits(job):
            ready.discard()
            return None
        return ready

    def fits(self, job: Job) -> bool:
        """Whether `job` trains exactly this: same config and checkpoint period, the registry's
        data, from the start."""
        return (
            job.dataset is None
            and job.checkpoint is None
            and job.checkpoint_s == self.warm.checkpoint_s
            and dict(job.config) == dict(self.warm.config)
        )

    def discard(self) -> None:
        self.training.close()
        if self.checkpoint_dir is not None:
            shutil.rmtree(self.checkpoint_dir, ignore_errors=True)


class BatchBuffer:
    """BatchEnd fields gathered between two sends, sent as one array per column."""

    def __init__(self) -> None:
        from trainer.history import BATCH_COLUMNS

        self.names = BATCH_COLUMNS
        self.rows: list[tuple] = []

    def add(self, event: Any) -> None:
        self.rows.append(tuple(getattr(event, name) for name in self.names))

    def take(self, run_id: str) -> Batches | None:
        if not self.rows:
            return None
        import numpy as np

        columns = list(zip(*self.rows))
        self.rows = []
        arrays = {
            name: np.asarray(
                values, dtype=np.float64 if name in ("loss", "elapsed_s") else np.int64
            )
            for name, values in zip(self.names, columns)
        }
        return Batches(run_id, arrays)


class RunJob:
    """One run in this worker: pull the engine's events, obey commands, report as it goes."""

    def __init__(self, conn: Connection, job: Job, prepared: Prepared | None = None) -> None:
        self.conn = conn
        self.job = job
        self.prepared = prepared  # the run got ready ahead (a Warm of this job's config)
        self.run_id = job.run_id
        self.mode = job.mode  # running | stepping | paused
        self.steps_left = 0  # batches still to take while stepping
        self.stop_sent = False
        self.stop_message = ""
        self.buffer = BatchBuffer()
        self.training: Any = None
        self.axes: Any = None
        self.last_step = -1
        self.checkpoint_dir: str | None = None
        self.checkpoint_sent: str | None = None  # the latest checkpoint's name, once sent

    def send(self, message: Any) -> None:
        try:
            self.conn.send(message)
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
            raise ServerGone from None

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self.training = self.prepare()
        except ValueError as err:
            self.send(Failed(self.run_id, str(err)))
            return
        except Exception as err:  # an engine bug: the log gets the traceback, the page a sentence
            traceback.print_exc()
            self.send(
                Failed(self.run_id, f"The run could not start ({type(err).__name__}: {err}).")
            )
            return
        t = self.training
        self.send(
            Started(
                self.run_id,
                t.steps_per_epoch,
                t.dataset.num_train,
                t.dataset.num_val,
                t.replicas,
                ready_ahead=self.prepared is not None,
            )
        )
        if self.mode == "stepping":
            self.steps_left = t.config.log_every
        try:
            self.train()
        except ServerGone:
            raise
        except Exception as err:
            traceback.print_exc()
            self.flush()
            self.send(Failed(self.run_id, f"Training failed ({type(err).__name__}: {err})."))
        finally:
            self.training.events.close()
            if self.checkpoint_dir is not None:
                shutil.rmtree(self.checkpoint_dir, ignore_errors=True)

    def prepare(self) -> Any:
        job = self.job
        if self.prepared is not None:
            training, self.checkpoint_dir = self.prepared.training, self.prepared.checkpoint_dir
        else:
            training, self.checkpoint_dir = prepare_training(
                job.config, job.dataset, job.checkpoint_s, job.checkpoint
            )
            if job.checkpoint is not None:
                self.checkpoint_sent = checkpoints.latest_name(self.checkpoint_dir)
        if self.job.boundary and training.dataset.is_2d:
            from trainer.evaluate import grid_axes

            self.axes = grid_axes(training.dataset, resolution=self.job.boundary)
        return training

    def train(self) -> None:
        from trainer.events import STOP, BatchEnd, EpochEnd, TrainingEnd

        events = self.training.events
        now = time.perf_counter()
        # The first chunk's batches go at once: the page that just started the run is waiting
        # for its first losses.
        next_flush, next_poll, next_boundary = now, now, now + BOUNDARY_S
        while True:
            now = time.perf_counter()
            if now >= next_poll:
                self.read_commands(block=False)
                next_poll = now + POLL_S
            pace = self.training.pace
            # Batches the model has already trained on are pulled before pausing, so the model
            # sent with the pause is the model after the last batch recorded.
            if self.mode == "paused" and self.last_step >= pace.trained_step:
                self.pause()
                continue
            # Stepping: the next compiled chunk ends where the step pauses.
            pace.chunk_limit = self.steps_left if self.mode == "stepping" else None
            try:
                if self.stop_message and not self.stop_sent:
                    self.stop_sent = True
                    if self.last_step < 0:  # a generator that never ran cannot take a send()
                        self.end_unstarted()
                        return
                    event = events.send(STOP)
                else:
                    event = next(events)
            except StopIteration:
                self.end_unstarted()
                return
            if isinstance(event, BatchEnd):
                self.buffer.add(event)
                self.last_step = event.step
                if self.mode == "stepping":
                    self.steps_left -= 1
                    if self.steps_left <= 0:
                        self.mode = "paused"
                        self.steps_left = 0
            elif isinstance(event, EpochEnd):
                self.flush()
                self.send(
                    Epoch(
                        self.run_id, event.epoch, dict(event.metrics), event.step, event.elapsed_s
                    )
                )
                self.send_checkpoint(event)
            elif isinstance(event, TrainingEnd):
                self.finish(event)
                return
            now = time.perf_counter()
            if now >= next_flush:
                self.flush()
                next_flush = now + FLUSH_S
            if self.axes is not None and now >= next_boundary:
                self.send_boundary()
                next_boundary = time.perf_counter() + BOUNDARY_S

    # -- commands --------------------------------------------------------------------------------
    def read_commands(self, block: bool, timeout: float | None = None) -> bool:
        """Apply the commands waiting (or wait up to `timeout` for one); True if any came."""
        got = False
        if block and not self.conn.poll(timeout):
            return False
        while self.conn.poll():
            message = _receive(self.conn)
            if isinstance(message, Command) and message.run_id == self.run_id:
                self.apply(message.action)
                got = True
        return got

    def apply(self, action: str) -> None:
        if action == "stop":
            self.stop_message = self.stop_message or "Stopped by request."
        elif action == "pause":
            self.mode = "paused"
        elif action in ("resume", "step"):
            was_paused = self.mode == "paused"
            self.mode = "running" if action == "resume" else "stepping"
            self.steps_left = self.training.config.log_every
            if was_paused:
                self.send(Resumed(self.run_id, self.mode))

    def pause(self) -> None:
        """Report the pause (with the model as it is now), then wait for a command."""
        self.flush()
        if self.axes is not None:
            self.send_boundary()
        self.send(Paused(self.run_id, model_bytes(self.training.model), self.last_step))
        deadline = time.monotonic() + PAUSE_LIMIT_S
        while self.mode == "paused" and not self.stop_message:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop_message = (
                    f"Stopped after {spoken_seconds(PAUSE_LIMIT_S)} paused, to free its worker "
                    "for others."
                )
                break
            self.read_commands(block=True, timeout=left)
        if self.stop_message and self.mode == "paused":
            self.mode = "running"  # pull what the stop still yields

    # -- reports -----------------------------------------------------------------------------------
    def flush(self) -> None:
        batches = self.buffer.take(self.run_id)
        if batches is not None:
            self.send(batches)

    def send_checkpoint(self, epoch: Any) -> None:
        """The epoch's checkpoint, if the engine just wrote one (it writes at most every
        `checkpoint_s`): the server keeps it with the run, so the run can resume anywhere."""
        if self.checkpoint_dir is None:
            return
        name = checkpoints.latest_name(self.checkpoint_dir)
        if name is None or name == self.checkpoint_sent:
            return
        blob = checkpoints.pack(self.checkpoint_dir)
        if blob is not None:
            self.checkpoint_sent = name
            self.send(Checkpoint(self.run_id, epoch.epoch, epoch.step, blob))

    def send_boundary(self) -> None:
        from trainer.evaluate import decision_values

        values = decision_values(self.training.model, self.training.dataset, self.axes)
        self.send(Boundary(self.run_id, values.astype("float32"), self.last_step))

    def finish(self, end: Any) -> None:
        self.flush()
        if self.axes is not None:
            self.send_boundary()
        message = end.message
        if end.reason == "stopped" and self.stop_message:
            message = self.stop_message
        self.send(
            Ended(
                self.run_id,
                end.reason,
                end.step,
                end.epoch,
                end.elapsed_s,
                dict(end.metrics),
                message,
                model_bytes(self.training.model),
            )
        )

    def end_unstarted(self) -> None:
        """Stopped before its first step (or a generator that ended without a final event)."""
        self.flush()
        message = self.stop_message or "The training loop ended without a final event."
        model = model_bytes(self.training.model)
        self.send(Ended(self.run_id, "stopped", self.last_step, 0, 0.0, {}, message, model))


def spoken_seconds(seconds: float) -> str:
    """20 -> "20 seconds", 600 -> "10 minutes" (not "0.333333 minutes"), 1 -> "1 second"."""
    count, unit = (round(seconds), "second") if seconds < 120 else (round(seconds / 60), "minute")
    return f"{count} {unit}{'' if count == 1 else 's'}"


if __name__ == "__main__":
    sys.exit(main())
