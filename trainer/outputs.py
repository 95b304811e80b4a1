"""The CLI's --out folder: outputs kept on disk as a run goes, and where `--resume` picks up.

What is written when (each file atomically, through `trainer.files`, except the appends):

- at the start: config.json, and data.json (the data's fingerprint), so that a resume can
  refuse another config or other data;
- at every epoch end, just after the engine checkpointed that epoch: the epoch's batches are
  appended to history.csv and its row to epochs.csv, so a SIGKILL loses at most the epoch in
  progress. Appending costs the epoch's rows only; rewriting the whole history every epoch
  would grow quadratically over a run of thousands of short epochs;
- at the end (completed, early stopped, diverged, or stopped by Ctrl-C or SIGTERM):
  history.csv and epochs.csv rewritten whole, then model.keras and result.json. model.keras is
  the model to take away (`trainer.serving`): raw rows in, class names and probabilities (or
  the prediction) out; --resume goes on from the checkpoint, not from it.

A kill can cut the last appended line short, or fall between the checkpoint and the appends.
`RunOutputs.resume` keeps the whole epochs the files hold from epoch 0 on, and when those end
before the checkpoint, makes the newest checkpoint they cover the one to resume from (or starts
over): history.csv always holds steps 0..N-1, each once, whatever killed the run and when.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trainer.config import RunConfig
from trainer.events import EpochEnd, TrainingEnd
from trainer.files import write_atomic, write_text
from trainer.history import BATCH_COLUMNS, History

if TYPE_CHECKING:
    from trainer.data import Dataset

CONFIG, DATA, HISTORY, EPOCHS = "config.json", "data.json", "history.csv", "epochs.csv"
MODEL, RESULT = "model.keras", "result.json"
# Fields a resumed run may change: how long it goes on and how it is run, not what it learns.
RESUMABLE_CHANGES = ("epochs", "patience", "log_every", "steps_per_execution", "run_eagerly")
# The engine's checkpoint (trainer/loop.py `_Checkpointer`) holds the last finished epoch here.
EPOCH_KEY = "epoch/.ATTRIBUTES/VARIABLE_VALUE"


def read_config(out: Path) -> RunConfig | None:
    """The config of the run in `out`, or None when it has none (nothing ran there yet)."""
    path = out / CONFIG
    if not path.exists():
        return None
    try:
        return RunConfig.from_json(path.read_text())
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def check_config(config: RunConfig, out: Path) -> None:
    """ValueError naming every field `config` changes from the run in `out`: a resumed run goes
    on from that run's weights, optimizer state and data order, so under another batch size,
    optimizer or dataset its history would mix two runs under one config.json."""
    saved = read_config(out)
    if saved is None:
        return
    new, old = config.to_dict(), saved.to_dict()
    changed = [
        f"{name} {new[name]!r} (was {old[name]!r})"
        for name in new
        if new[name] != old[name] and name not in RESUMABLE_CHANGES
    ]
    if changed:
        raise ValueError(
            f"--resume: the config differs from the run in {out}: {', '.join(changed)}. "
            "Train into another --out, or without --resume to start over."
        )


def fingerprint(data: Dataset) -> dict[str, Any]:
    """What identifies the data a run trains on: name, sizes and a SHA-256 of the arrays as
    split (an edited CSV, another seed or validation split all give another hash)."""
    digest = hashlib.sha256()
    for array in (data.x_train, data.y_train, data.x_val, data.y_val):
        if array is not None:
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array)
    return {
        "dataset": data.name,
        "train_rows": data.num_train,
        "val_rows": data.num_val,
        "sha256": digest.hexdigest(),
    }


def check_data(data_print: dict[str, Any], out: Path) -> None:
    """ValueError when the run in `out` trained on other data than `data_print` describes."""
    path = out / DATA
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return  # a run from before data.json existed: the config check is all there is
    if saved.get("sha256") != data_print["sha256"]:
        raise ValueError(
            f"--resume: the data differs from what the run in {out} trained on: "
            f"{_describe(data_print)} (was {_describe(saved)}). "
            "Train into another --out, or without --resume to start over."
        )


def _describe(data_print: dict[str, Any]) -> str:
    return (
        f"{data_print.get('dataset')!r}, {data_print.get('train_rows')} training and "
        f"{data_print.get('val_rows')} validation rows, sha256 {str(data_print.get('sha256'))[:12]}"
    )


class RunOutputs:
    """The files of one run in `out`, as the chief writes them (see the module docstring)."""

    def __init__(self, out: Path, steps_per_epoch: int) -> None:
        self.out, self.per_epoch = out, steps_per_epoch
        # A resumed run's batches and epochs from before it: the final files continue them.
        self.earlier = (pd.DataFrame(), pd.DataFrame())
        self.appended = 0  # this session's batches already appended to history.csv

    def start(self, config: RunConfig, data_print: dict[str, Any]) -> None:
        """A fresh run: the outputs of whatever ran in `out` before go (history.csv is appended
        to, and must not continue another run), then config.json and data.json are written."""
        for name in (HISTORY, EPOCHS, MODEL, RESULT):
            (self.out / name).unlink(missing_ok=True)
        self._write_run(config, data_print)

    def resume(self, config: RunConfig, data_print: dict[str, Any], checkpoints: Path) -> str:
        """Line the files and the checkpoint up (the module docstring says how); returns a
        sentence saying where the run goes on."""
        batches, epochs = read_rows(self.out / HISTORY), read_rows(self.out / EPOCHS)
        covered = whole_epochs(batches, epochs, self.per_epoch)
        first = rewind_checkpoints(checkpoints, covered)
        self.earlier = (batches.iloc[: first * self.per_epoch], epochs.iloc[:first])
        for name, rows in zip((HISTORY, EPOCHS), self.earlier):
            _write_csv(self.out / name, rows)
        self._write_run(config, data_print)
        if first == 0:
            return f"--resume: {self.out} holds no finished epoch to go on from: starting over."
        if first >= config.epochs:
            return (
                f"--resume: the run in {self.out} has finished {first} epochs and --epochs is "
                f"{config.epochs}: nothing to train (a larger --epochs goes on)."
            )
        return f"--resume: going on from epoch {first + 1} (step {first * self.per_epoch})."

    def _write_run(self, config: RunConfig, data_print: dict[str, Any]) -> None:
        write_text(self.out / CONFIG, config.to_json() + "\n")
        write_text(self.out / DATA, json.dumps(data_print, indent=2) + "\n")

    def epoch_done(self, history: History, event: EpochEnd) -> None:
        """Append the epoch's batches and its row (the engine has checkpointed it already)."""
        columns = {name: history.column(name)[self.appended :] for name in BATCH_COLUMNS}
        _append_csv(self.out / HISTORY, pd.DataFrame(columns))
        self.appended = len(history)
        # The row History.epochs() makes, built here: that frame is rebuilt from every epoch.
        row = {
            "epoch": event.epoch,
            "step": event.step,
            "elapsed_s": event.elapsed_s,
            "samples_seen": int(history.column("samples_seen")[-1]),
            "epoch_progress": event.epoch + 1.0,
            **event.metrics,
        }
        _append_csv(self.out / EPOCHS, pd.DataFrame([row]))

    def finish(self, history: History, end: TrainingEnd, data: Dataset) -> None:
        """Every output, whole and atomically: earlier epochs (resumed), then this session's.
        The model is `end.model` behind the preprocessing of `data`, the data it trained on."""
        from trainer.serving import serving_model

        batches = _concat(self.earlier[0], history.batches())
        epochs = _concat(self.earlier[1], history.epochs())
        write_atomic(self.out / HISTORY, lambda tmp: batches.to_csv(tmp, index=False))
        write_atomic(self.out / EPOCHS, lambda tmp: epochs.to_csv(tmp, index=False))
        model = serving_model(end.model, data)
        write_atomic(self.out / MODEL, lambda tmp: model.save(tmp))
        result = {
            "reason": end.reason,
            "message": end.message,
            "steps": end.step + 1,
            "elapsed_s": end.elapsed_s,
            "metrics": end.metrics,
        }
        write_text(self.out / RESULT, json.dumps(result, indent=2) + "\n")


def read_rows(path: Path) -> pd.DataFrame:
    """A CSV written here, less a last line a kill cut short (every whole line ends in a
    newline); empty when missing or unreadable: a resume then trains those epochs again."""
    try:
        text = path.read_text()
        return pd.read_csv(io.StringIO(text[: text.rfind("\n") + 1]))
    except (OSError, ValueError):  # pandas' parser and empty-data errors are ValueErrors
        return pd.DataFrame()


def whole_epochs(batches: pd.DataFrame, epochs: pd.DataFrame, per_epoch: int) -> int:
    """How many epochs, from epoch 0 on, both files hold whole and in order."""
    if "step" not in batches or "epoch" not in batches or "epoch" not in epochs:
        return 0
    index = np.arange(len(batches))
    good = (batches["step"].to_numpy() == index) & (
        batches["epoch"].to_numpy() == index // per_epoch
    )
    listed = epochs["epoch"].to_numpy() == np.arange(len(epochs))
    return min(_leading(good) // per_epoch, _leading(listed))


def _leading(ok: np.ndarray) -> int:
    """How many values at the start are True."""
    return len(ok) if ok.all() else int(np.argmin(ok))


def rewind_checkpoints(folder: Path, covered: int) -> int:
    """Make the newest checkpoint of an epoch before `covered` the one to resume from; newer
    ones are deleted. Returns the epoch the engine will start at: the one after that
    checkpoint's, or 0 when there is none (the folder is removed: the run starts over)."""
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(str(folder))
    paths = [*state.all_model_checkpoint_paths, state.model_checkpoint_path] if state else []
    listed = list(dict.fromkeys(paths))  # the latest is among all paths: once each
    found = _checkpoint_epochs(listed)
    usable = sorted(epoch for epoch in found if epoch < covered)
    if usable and len(usable) == len(listed):
        return usable[-1] + 1  # the files cover the checkpoint: nothing to change
    for epoch in set(found) - set(usable):
        for file in folder.glob(f"{Path(found[epoch]).name}.*"):
            file.unlink()
    if not usable:
        shutil.rmtree(folder, ignore_errors=True)
        return 0
    # TF's CheckpointState text format, as tf.train.CheckpointManager writes it (relative
    # names); TF's own writer for it, update_checkpoint_state, is deprecated.
    names = [Path(found[epoch]).name for epoch in usable]
    lines = [f'model_checkpoint_path: "{names[-1]}"'] + [
        f'all_model_checkpoint_paths: "{name}"' for name in names
    ]
    write_text(folder / "checkpoint", "\n".join(lines) + "\n")
    return usable[-1] + 1


def _checkpoint_epochs(paths: list[str]) -> dict[int, str]:
    """The epoch each readable checkpoint ended; one whose files are gone does not count."""
    import tensorflow as tf

    found = {}
    for path in paths:
        try:
            found[int(tf.train.load_variable(path, EPOCH_KEY))] = path
        except (tf.errors.OpError, ValueError):
            continue
    return found


def _write_csv(path: Path, rows: pd.DataFrame) -> None:
    """Rows kept by a resume; none: no file, so the first append writes every column's name."""
    if len(rows):
        write_atomic(path, lambda tmp: rows.to_csv(tmp, index=False))
    else:
        path.unlink(missing_ok=True)


def _append_csv(path: Path, rows: pd.DataFrame) -> None:
    """Append in one write (the header too when the file is new): a kill mid-write leaves at
    most a last line cut short, which `read_rows` drops."""
    text = rows.to_csv(index=False, header=not path.exists() or not path.stat().st_size)
    with open(path, "a") as handle:
        handle.write(text)


def _concat(earlier: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    # pandas warns on concatenating an empty frame: a fresh run has no earlier rows, and a
    # resumed run that had finished already has no new ones.
    if len(earlier) and len(now):
        return pd.concat([earlier, now], ignore_index=True)
    return earlier if len(earlier) else now
