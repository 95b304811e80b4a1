"""TensorBoard files: what a run writes reads back with TensorBoard's own reader, every batch
loss by step, epoch metrics for train and validation, the config in the HParams plugin."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import trainer
from service import tasks
from trainer.tensorboard import TensorBoardLog, batch_writer, write_history, write_run

ROOT = Path(__file__).resolve().parents[2]
CONFIG = trainer.RunConfig(dataset="xor", num_samples=400, epochs=3, batch_size=32)


def read(folder: Path) -> EventAccumulator:
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    return events


def scalars(folder: Path, tag: str) -> list[tuple[int, float]]:
    events = read(folder)
    if tag in events.Tags()["scalars"]:
        return [(e.step, e.value) for e in events.Scalars(tag)]
    return [(e.step, float(np.asarray(tf_value(e)))) for e in events.Tensors(tag)]


def tf_value(event):
    from tensorboard.util import tensor_util

    return tensor_util.make_ndarray(event.tensor_proto)


def train_with_log(folder: Path):
    history = trainer.History()
    log = TensorBoardLog(folder, CONFIG, "run 1")
    for event in trainer.train(CONFIG):
        history.record(event)
        log.record(event)
    log.close()
    return history


def test_a_run_reads_back_batch_by_batch_and_epoch_by_epoch(tmp_path):
    history = train_with_log(tmp_path)
    batch = scalars(tmp_path / "train", "batch_loss")
    assert [s for s, _ in batch] == history.column("step").tolist()
    assert np.allclose([v for _, v in batch], history.column("loss"), rtol=0, atol=1e-6)
    epochs = history.epochs()
    train_loss = scalars(tmp_path / "train", "epoch_loss")
    val_loss = scalars(tmp_path / "validation", "epoch_loss")
    assert [s for s, _ in train_loss] == [0, 1, 2]
    assert np.allclose([v for _, v in train_loss], epochs["loss"], atol=1e-6)
    assert np.allclose([v for _, v in val_loss], epochs["val_loss"], atol=1e-6)
    assert len(scalars(tmp_path / "validation", "epoch_accuracy")) == 3


def test_the_config_is_in_the_hparams_plugin(tmp_path):
    train_with_log(tmp_path)
    events = read(tmp_path / "train")
    plugin = events.PluginTagToContent("hparams")
    assert plugin, "no HParams summary"
    from tensorboard.plugins.hparams import plugin_data_pb2

    data = plugin_data_pb2.HParamsPluginData.FromString(next(iter(plugin.values())))
    values = data.session_start_info.hparams
    assert values["dataset"].string_value == "xor"
    assert values["batch_size"].number_value == 32
    assert values["hidden_units"].string_value == "64,64"


def test_a_finished_history_writes_the_same_files(tmp_path):
    history = train_with_log(tmp_path / "live")
    write_history(tmp_path / "after", CONFIG, history, "run 1")
    for sub, tag in (
        ("train", "batch_loss"),
        ("train", "epoch_loss"),
        ("validation", "epoch_loss"),
    ):
        assert scalars(tmp_path / "after" / sub, tag) == scalars(tmp_path / "live" / sub, tag)


def test_a_selection_downloads_as_one_zipped_log_folder(tmp_path):
    history = train_with_log(tmp_path / "live")
    run = ("run 1", CONFIG.to_dict(), history.column("step"), history.column("loss"),
           history.epochs().to_dict("records"))  # fmt: skip
    blob = tasks.tensorboard_zip([run, ("run 2", *run[1:])])
    zipfile.ZipFile(io.BytesIO(blob)).extractall(tmp_path / "unzipped")
    for name in ("run-1", "run-2"):
        folder = tmp_path / "unzipped" / "tapeboard-runs" / name
        assert len(scalars(folder / "train", "batch_loss")) == len(history)


def test_the_batch_losses_function_is_traced_once_for_every_run(tmp_path):
    """A download of many runs writes each with the same compiled function, each to its own
    folder (a tf.summary writer captured at tracing cost a trace per run)."""
    for i, name in enumerate(("a", "b", "c")):
        write_run(tmp_path / name, CONFIG, [0, 1, 2], [1.0 + i, 0.5, 0.25], [], name)
    assert batch_writer().experimental_get_tracing_count() == 1
    for i, name in enumerate(("a", "b", "c")):
        assert scalars(tmp_path / name / "train", "batch_loss") == [(0, 1.0 + i), (1, 0.5),
                                                                    (2, 0.25)]  # fmt: skip


@pytest.mark.slow
def test_the_cli_writes_them_as_it_trains(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "trainer", "--dataset", "xor", "--num_samples", "400",
         "--epochs", "2", "--batch_size", "32", "--quiet", "--out", str(tmp_path / "out"),
         "--tensorboard", str(tmp_path / "tb")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(scalars(tmp_path / "tb" / "train", "batch_loss")) == 2 * 10
    assert len(scalars(tmp_path / "tb" / "validation", "epoch_loss")) == 2
