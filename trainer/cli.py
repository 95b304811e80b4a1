"""`python -m trainer`: the dashboard's loop, headless, with a progress bar and saved outputs.

    python -m trainer                                  # digits, the seed's defaults
    python -m trainer --config run.json --out runs/a   # a config saved from the dashboard
    python -m trainer --dataset spiral --hidden_units 8,8 --optimizer adam --learning_rate 0.03
    python -m trainer --csv data.csv --target label
    python -m trainer --out runs/a --resume --epochs 20   # go on with runs/a's config, longer

Writes into --out as it goes (`trainer.outputs` says exactly what, when): config.json and
data.json (the data's fingerprint) at the start; a checkpoint, then the epoch's rows appended to
history.csv (every batch) and epochs.csv, at every epoch end, so even SIGKILL loses at most the
epoch in progress; at the end, history.csv and epochs.csv whole, model.keras and result.json.
model.keras takes raw rows (a CSV's columns by name) and gives class names and probabilities, or
the prediction (`trainer.serving`). A CSV's task is inferred from its target column, as the
dashboard infers it, unless --task or a --config sets it.
SIGTERM and Ctrl-C stop the run at the next batch, as "stopped" (exit code 3), writing it all.
`--resume` goes on after the last epoch both the checkpoint and the files hold, whatever
interrupted the run, and refuses another config (but for `epochs` and how the run executes)
or other data. Every file is written to a temporary name and renamed (the per-epoch appends
excepted: --resume drops a line a kill cut short), so a crash never leaves half a file.
Under TF_CONFIG (multi-worker), every worker trains and only the chief writes.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import shutil
import signal
import sys
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from trainer.budget import steps_per_epoch
from trainer.config import RunConfig
from trainer.events import STOP, BatchEnd, EpochEnd, Event, TrainingEnd
from trainer.features import check_features
from trainer.history import History
from trainer.outputs import RunOutputs, check_config, check_data, fingerprint, read_config

if TYPE_CHECKING:  # TensorFlow loads only once the flags are good: a bad one answers at once
    import keras
    import tensorflow as tf

    from trainer.data import Dataset
    from trainer.tensorboard import TensorBoardLog

EXIT_CODES = {"completed": 0, "early_stopped": 0, "stopped": 3, "diverged": 4}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m trainer", description="Train a Tapeboard RunConfig headless."
    )
    parser.add_argument("--config", type=Path, help="RunConfig JSON (flags below override it)")
    parser.add_argument("--out", type=Path, default=Path("runs/latest"), help="output folder")
    parser.add_argument("--csv", type=Path, help="train on this CSV file instead of a registry set")
    parser.add_argument("--target", help="the CSV's target column")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="TensorFlow intra/inter-op threads (0: TF's default). Small models on few cores "
        "often train fastest with 1 (benchmarks/throughput.py measures it)",
    )
    parser.add_argument(
        "--tensorboard",
        type=Path,
        metavar="DIR",
        help="also write TensorBoard event files here as it trains (tensorboard --logdir DIR)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="go on with the run in --out after its last finished epoch; its config.json is the "
        "base (flags override --epochs and such, and other changes are refused)",
    )
    parser.add_argument(
        "--run-eagerly",
        dest="cfg_run_eagerly",
        action="store_const",
        const="true",
        help="the same train step without tf.function, for a debugger (slow; same losses)",
    )
    for f in fields(RunConfig):
        parser.add_argument(
            f"--{f.name}", dest=f"cfg_{f.name}", metavar="VALUE", help=_choices(f.name)
        )
    return parser.parse_args(argv)


def _choices(name: str) -> str | None:
    """The names a table-backed field takes, for --help (read from the tables themselves)."""
    from trainer.features import FEATURES
    from trainer.optimizers import OPTIMIZERS
    from trainer.schedules import LR_SCHEDULES

    if name == "features":  # several at once
        return f"comma-separated, among {', '.join(FEATURES)} (two-feature data only)"
    table = {"optimizer": OPTIMIZERS, "lr_schedule": LR_SCHEDULES}.get(name)
    return f"one of {', '.join(table)}" if table else None


def make_config(args: argparse.Namespace) -> RunConfig:
    """The base config with every given flag applied on top (then validated). The base is
    --config's file; on --resume without one, the config.json of the run being resumed."""
    base = _base_config(args)
    flags = {
        f.name: getattr(args, f"cfg_{f.name}")
        for f in fields(RunConfig)
        if getattr(args, f"cfg_{f.name}") is not None
    }
    if args.csv:
        flags.setdefault("dataset", "csv")
    config = RunConfig.from_dict({**base, **flags})
    if "task" not in flags and "task" not in base:
        config = config.replace(task=_registry_task(config.dataset) or config.task)
    return config


def _base_config(args: argparse.Namespace) -> dict[str, Any]:
    if args.config:
        return RunConfig.from_json(args.config.read_text()).to_dict()
    if args.resume and (saved := read_config(args.out)) is not None:
        return saved.to_dict()
    return {}


def _registry_task(name: str) -> str | None:
    from trainer.datasets import DATASETS

    info = DATASETS.get(name)
    return info.task if info else None


def load_data(args: argparse.Namespace, config: RunConfig) -> tuple[RunConfig, Dataset]:
    """The data to train on, and the config with the data's task. A CSV's task is what --task
    or the base config says; else it is inferred from the target column by
    `Dataset.from_csv(task=None)`, the rule the dashboard's Data page uses."""
    from trainer.data import Dataset
    from trainer.datasets import dataset_for

    if args.csv:
        if not args.target:
            raise ValueError("--csv needs --target: the name of the column to predict")
        given = args.cfg_task is not None or "task" in _base_config(args)
        data = Dataset.from_csv(args.csv, target=args.target, task=config.task if given else None)
        return config.replace(task=data.task), data
    if config.dataset == "csv":  # e.g. resuming a CSV run: its file is not in config.json
        raise ValueError("dataset 'csv' needs --csv FILE --target COLUMN")
    return config, dataset_for(config)


class ProgressBar:
    """One self-rewriting line: epoch, bar, step, loss, steps/s, ETA, like Keras' verbose=1; a
    line per epoch only when the stream is not a terminal (a log file, a pipe), like
    verbose=2, where each rewrite would pile onto the same line."""

    def __init__(self, total_steps: int, epochs: int, stream: TextIO, enabled: bool) -> None:
        self.total, self.epochs, self.stream, self.enabled = total_steps, epochs, stream, enabled
        self.rewrites = enabled and stream.isatty()
        self.last_draw = 0.0

    def update(self, event: BatchEnd) -> None:
        now = time.monotonic()
        if not self.rewrites or now - self.last_draw < 0.1:
            return
        self.last_draw = now
        done = event.step + 1
        rate = done / event.elapsed_s if event.elapsed_s > 0 else 0.0
        eta = (self.total - done) / rate if rate else 0.0
        filled = int(30 * done / max(self.total, 1))
        self.stream.write(
            f"\repoch {event.epoch + 1}/{self.epochs} [{'=' * filled}{'.' * (30 - filled)}] "
            f"step {done}/{self.total} loss {event.loss:.4f} {rate:,.0f} steps/s "
            f"ETA {eta:,.0f}s  seen {event.samples_seen:,}"
        )
        self.stream.flush()

    def epoch(self, event: EpochEnd) -> None:
        if self.enabled:
            shown = " ".join(f"{k} {v:.4f}" for k, v in event.metrics.items())
            start = "\r" if self.rewrites else ""
            self.stream.write(f"{start}epoch {event.epoch + 1}/{self.epochs} done: {shown}\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = make_config(args)
        if args.resume:
            check_config(config, args.out)
        config, dataset = load_data(args, config)
        check_features(config.features, dataset.input_shape, dataset.name)  # before any output
    except (ValueError, OSError) as err:
        return fail(err)
    set_threads(args.threads)

    from trainer.data import split_validation
    from trainer.distribute import make_strategy
    from trainer.loop import train
    from trainer.model import build_model

    strategy = make_strategy(config.strategy)
    try:
        split = split_validation(dataset, config.validation_split, config.seed)
        checkpoints = prepare_checkpoints(args, strategy)
        outputs = open_outputs(args, config, split, checkpoints, strategy)
    except (ValueError, OSError) as err:
        return fail(err)
    with strategy.scope():
        model = build_model(config, split)
    events = train(config, split, model=model, strategy=strategy, checkpoint_dir=checkpoints)
    history = History()
    bar = ProgressBar(
        steps_per_epoch(split.num_train, config.batch_size) * config.epochs,
        config.epochs,
        sys.stderr,
        enabled=not args.quiet,
    )
    board = _tensorboard(args, config, strategy)
    try:
        end, last_loss = consume(events, model, history, bar, board, outputs)
    except ValueError as err:
        return fail(err)
    finally:
        if board is not None:
            board.close()
    # Every worker prints this line, so a cluster's workers can be checked against each other.
    print(
        f"{end.reason}: {end.message} steps={end.step + 1} last_loss={last_loss:.6f}",
        file=sys.stderr,
    )
    if outputs is not None:
        outputs.finish(history, end, split)
        print(f"wrote {args.out}/", file=sys.stderr)
    return EXIT_CODES[end.reason]


def fail(err: Exception) -> int:
    """A one-line error (no traceback: the message says what to change), exit code 2."""
    print(f"error: {err}", file=sys.stderr)
    return 2


def set_threads(threads: int) -> None:
    if threads:
        import tensorflow as tf

        # Before the first op: the thread pools are fixed when TensorFlow's context starts.
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def open_outputs(
    args: argparse.Namespace,
    config: RunConfig,
    split: Dataset,
    checkpoints: str | None,
    strategy: tf.distribute.Strategy,
) -> RunOutputs | None:
    """The chief's outputs, begun (config.json, data.json; on --resume, checked against the data
    and lined up with the checkpoint); None on other workers, which write nothing."""
    from trainer.distribute import is_chief

    if not is_chief(strategy):
        return None
    outputs = RunOutputs(args.out, steps_per_epoch(split.num_train, config.batch_size))
    data_print = fingerprint(split)
    if args.resume and checkpoints is not None:
        check_data(data_print, args.out)
        print(outputs.resume(config, data_print, Path(checkpoints)), file=sys.stderr)
    else:
        outputs.start(config, data_print)
    return outputs


def consume(
    events: Generator[Event, object, None],
    model: keras.Model,
    history: History,
    bar: ProgressBar,
    board: TensorBoardLog | None,
    outputs: RunOutputs | None,
) -> tuple[TrainingEnd, float]:
    """Pull the run to its end: the run's TrainingEnd and its last batch loss. SIGTERM or
    Ctrl-C stop it at the next batch (a second Ctrl-C at once), so what it learned is written."""
    end: TrainingEnd | None = None
    last_loss = math.nan
    with catch_stop_signals() as caught:
        try:
            command = None
            while end is None:
                event = events.send(command)
                command = STOP if caught else None  # the engine still yields what it computed
                history.record(event)
                if board is not None:
                    board.record(event)
                if isinstance(event, BatchEnd):
                    bar.update(event)
                    last_loss = event.loss
                elif isinstance(event, EpochEnd):
                    bar.epoch(event)
                    if outputs is not None:  # the engine has just checkpointed this epoch
                        outputs.epoch_done(history, event)
                else:
                    end = event
        except KeyboardInterrupt:  # a second Ctrl-C: no TrainingEnd comes, so make one
            events.close()
            end = interrupted(history, model)
    if end.reason == "stopped":
        how = f"Stopped by {caught[0]}" if caught else "Interrupted"
        message = f"{how} at step {end.step}; continue with --resume (from its last epoch)."
        end = dataclasses.replace(end, message=message)
    return end, last_loss


def interrupted(history: History, model: keras.Model) -> TrainingEnd:
    last = history.last
    if last is None:
        return TrainingEnd("stopped", -1, 0, 0.0, model=model)
    return TrainingEnd("stopped", last.step, last.epoch, last.elapsed_s, model=model)


@contextmanager
def catch_stop_signals() -> Iterator[list[str]]:
    """Within, the first SIGTERM (`kill`, a scheduler's preemption, `docker stop`) or Ctrl-C
    is noted in the list yielded, and the loop stops the run at the next batch, as the
    dashboard's Stop does. Noted, not raised: an exception raised from a handler can land in a
    finalizer (TensorFlow's objects have many), where Python prints and drops it. The handlers
    before are back after the first signal: a second SIGTERM ends the process at once (the
    files stay whole), a second Ctrl-C raises KeyboardInterrupt (everything is still written)."""
    caught: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught  # Python sets signal handlers from the main thread only
        return
    signals = (signal.SIGTERM, signal.SIGINT)
    # None: a handler set outside Python; the default is the closest to put back.
    previous = [signal.getsignal(sig) or signal.SIG_DFL for sig in signals]

    def restore() -> None:
        for sig, handler in zip(signals, previous):
            signal.signal(sig, handler)

    def note(signum: int, frame: object) -> None:
        caught.append(signal.Signals(signum).name)
        restore()

    for sig in signals:
        signal.signal(sig, note)
    try:
        yield caught
    finally:
        restore()


def _tensorboard(args: argparse.Namespace, config, strategy):
    """The run's TensorBoard log (--tensorboard), written by the chief only."""
    from trainer.distribute import is_chief

    if args.tensorboard is None or not is_chief(strategy):
        return None
    from trainer.tensorboard import TensorBoardLog

    return TensorBoardLog(args.tensorboard, config, run_name=args.out.name)


def prepare_checkpoints(args: argparse.Namespace, strategy) -> str | None:
    """The checkpoint folder for this run (None in a cluster, where workers must coordinate
    saving); ValueError if --resume has nothing to resume. A fresh run replaces old ones."""
    from trainer.distribute import spans_workers

    if spans_workers(strategy):
        return None
    folder = args.out / "checkpoints"
    if args.resume:
        if not (folder / "checkpoint").exists():
            raise ValueError(
                f"--resume found no checkpoint in {folder}: train without --resume first"
            )
    elif folder.exists():
        shutil.rmtree(folder)
    return str(folder)
