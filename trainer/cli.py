"""`python -m trainer`: the dashboard's loop, headless, with a progress bar and saved outputs.

    python -m trainer                                  # digits, the seed's defaults
    python -m trainer --config run.json --out runs/a   # a config saved from the dashboard
    python -m trainer --dataset spiral --hidden_units 8,8 --optimizer adam --learning_rate 0.03
    python -m trainer --csv data.csv --target label

Writes into --out: history.csv (every batch), epochs.csv, config.json, model.keras, result.json.
Every file is written to a temporary name and renamed, so a crash never leaves half a file.
Under TF_CONFIG (multi-worker), every worker trains and only the chief writes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TextIO

from trainer.config import RunConfig
from trainer.events import BatchEnd, EpochEnd, TrainingEnd

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
        "train fastest with 1 (measured 1.5x on 2 cores for the seed's model)",
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
        help="continue the run in --out from its last epoch checkpoint (same config)",
    )
    for f in fields(RunConfig):
        parser.add_argument(f"--{f.name}", dest=f"cfg_{f.name}", metavar="VALUE")
    return parser.parse_args(argv)


def make_config(args: argparse.Namespace) -> RunConfig:
    """The JSON file's config, with every given flag applied on top (then validated)."""
    base = RunConfig.from_json(args.config.read_text()).to_dict() if args.config else {}
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


def _registry_task(name: str) -> str | None:
    from trainer.datasets import DATASETS

    info = DATASETS.get(name)
    return info.task if info else None


def load_data(args: argparse.Namespace, config: RunConfig):
    from trainer.data import Dataset
    from trainer.datasets import dataset_for

    if args.csv:
        if not args.target:
            raise ValueError("--csv needs --target: the name of the column to predict")
        task = config.task if args.cfg_task else None
        return Dataset.from_csv(args.csv, target=args.target, task=task)
    return dataset_for(config)


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text))


class ProgressBar:
    """One self-rewriting line: epoch, bar, step, loss, steps/s, ETA, like Keras' verbose=1."""

    def __init__(self, total_steps: int, epochs: int, stream: TextIO, enabled: bool) -> None:
        self.total, self.epochs, self.stream, self.enabled = total_steps, epochs, stream, enabled
        self.last_draw = 0.0

    def update(self, event: BatchEnd) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last_draw < 0.1:
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
            self.stream.write(f"\repoch {event.epoch + 1}/{self.epochs} done: {shown}\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = make_config(args)
        dataset = load_data(args, config)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    if args.threads:
        import tensorflow as tf

        # Before the first op: the thread pools are fixed when TensorFlow's context starts.
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    from trainer.data import split_validation
    from trainer.distribute import is_chief, make_strategy
    from trainer.history import History
    from trainer.loop import train
    from trainer.model import build_model

    strategy = make_strategy(config.strategy)
    split = split_validation(dataset, config.validation_split, config.seed)
    try:
        checkpoints = prepare_checkpoints(args, strategy)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    with strategy.scope():
        model = build_model(config, split)
    total = -(-split.num_train // config.batch_size) * config.epochs
    bar = ProgressBar(total, config.epochs, sys.stderr, enabled=not args.quiet)
    history = History()
    end: TrainingEnd | None = None
    last_loss = float("nan")
    events = train(config, split, model=model, strategy=strategy, checkpoint_dir=checkpoints)
    board = _tensorboard(args, config, strategy)
    try:
        for event in events:
            history.record(event)
            if board is not None:
                board.record(event)
            if isinstance(event, BatchEnd):
                bar.update(event)
                last_loss = event.loss
            elif isinstance(event, EpochEnd):
                bar.epoch(event)
            else:
                end = event
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Nothing learned is lost: write what there is, and say how to go on.
        events.close()
        step = history.last.step if history.last else -1
        message = f"Interrupted at step {step}; continue with --resume."
        end = TrainingEnd("stopped", step, 0, 0.0, {}, message, model)
    finally:
        if board is not None:
            board.close()
    # Every worker prints this line, so a cluster's workers can be checked against each other.
    print(
        f"{end.reason}: {end.message} steps={end.step + 1} last_loss={last_loss:.6f}",
        file=sys.stderr,
    )
    if is_chief(strategy):
        save_outputs(args.out, config, history, end, resumed=args.resume)
        print(f"wrote {args.out}/", file=sys.stderr)
    return EXIT_CODES[end.reason]


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
    from trainer.distribute import is_chief

    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is not None and resolver.cluster_spec().as_dict() or not is_chief(strategy):
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


def save_outputs(out: Path, config, history, end: TrainingEnd, resumed: bool = False) -> None:
    """Write every output atomically; a resumed run's history continues the earlier files."""
    import pandas as pd

    batches, epochs = history.batches(), history.epochs()
    if resumed:
        earlier = [pd.read_csv(out / name) for name in ("history.csv", "epochs.csv")]
        first_step = batches["step"].min() if len(batches) else float("inf")
        first_epoch = epochs["epoch"].min() if len(epochs) else float("inf")
        batches = pd.concat([earlier[0][earlier[0]["step"] < first_step], batches])
        epochs = pd.concat([earlier[1][earlier[1]["epoch"] < first_epoch], epochs])
    write_text(out / "config.json", config.to_json() + "\n")
    write_atomic(out / "history.csv", lambda tmp: batches.to_csv(tmp, index=False))
    write_atomic(out / "epochs.csv", lambda tmp: epochs.to_csv(tmp, index=False))
    write_atomic(out / "model.keras", lambda tmp: end.model.save(tmp))
    result = {
        "reason": end.reason,
        "message": end.message,
        "steps": end.step + 1,
        "elapsed_s": end.elapsed_s,
        "metrics": end.metrics,
    }
    write_text(out / "result.json", json.dumps(result, indent=2) + "\n")
