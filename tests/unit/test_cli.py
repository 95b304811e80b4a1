"""`python -m trainer`: the same loop headless, writing history, epochs, config and model."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

import trainer
from trainer.cli import main
from trainer.files import write_atomic

ROOT = Path(__file__).resolve().parents[2]


def test_cli_trains_a_json_config_and_writes_every_output(tmp_path):
    config = trainer.RunConfig(dataset="xor", num_samples=200, batch_size=32, epochs=2)
    (tmp_path / "run.json").write_text(config.to_json())
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "trainer",
            "--config",
            str(tmp_path / "run.json"),
            "--out",
            str(out),
            "--epochs",
            "3",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "completed" in done.stderr and "epoch 3/3" in done.stderr
    # Not a terminal: a line per epoch, no progress line rewritten with carriage returns.
    assert "\r" not in done.stderr and done.stderr.count("done: loss") == 3
    history = pd.read_csv(out / "history.csv")
    # 200 points, 20% validation -> 160 train -> 5 batches x 3 epochs (the flag overrode 2).
    assert list(history["step"]) == list(range(15))
    assert len(pd.read_csv(out / "epochs.csv")) == 3
    assert trainer.RunConfig.from_json((out / "config.json").read_text()) == config.replace(
        epochs=3
    )
    assert json.loads((out / "result.json").read_text())["reason"] == "completed"
    model = keras.models.load_model(out / "model.keras")  # the model to take away
    assert model.get_layer("tapeboard_mlp").output_shape == (None, 2)
    assert model.get_layer("class_names").get_vocabulary() == ["-1", "+1"]
    assert not list(out.glob(".*")), "temporary files were left behind"


def test_cli_infers_a_regression_task_from_the_dataset(tmp_path, capsys):
    code = main(
        [
            "--dataset",
            "plane",
            "--num_samples",
            "100",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    assert trainer.RunConfig.from_json((tmp_path / "config.json").read_text()).task == (
        "regression"
    )


def test_cli_trains_a_csv(tmp_path):
    rows = ["a,b,label"] + [f"{i % 7},{(i * 3) % 5},{'yes' if i % 2 else 'no'}" for i in range(60)]
    (tmp_path / "data.csv").write_text("\n".join(rows))
    code = main(
        [
            "--csv",
            str(tmp_path / "data.csv"),
            "--target",
            "label",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    assert (tmp_path / "out" / "model.keras").exists()


def test_cli_infers_regression_from_a_csv_target_as_the_app_does(tmp_path):
    from sklearn.datasets import load_diabetes

    diabetes = load_diabetes(as_frame=True, scaled=False)
    diabetes.data.assign(target=diabetes.target).to_csv(tmp_path / "diabetes.csv", index=False)
    flags = ["--csv", str(tmp_path / "diabetes.csv"), "--target", "target", "--quiet"]
    assert main([*flags, "--epochs", "3", "--out", str(tmp_path / "out")]) == 0  # no --task
    config = trainer.RunConfig.from_json((tmp_path / "out" / "config.json").read_text())
    assert config.task == "regression"
    model = keras.saving.load_model(tmp_path / "out" / "model.keras")
    rows = pd.read_csv(tmp_path / "diabetes.csv")
    out = model({name: rows[name] for name in model.input})
    assert 25 < float(np.mean(out["prediction"])) < 346  # raw rows in, the target's units out


def test_cli_model_keras_classifies_raw_csv_rows(tmp_path):
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    iris.data.assign(species=iris.target_names[iris.target]).to_csv(
        tmp_path / "iris.csv", index=False
    )
    flags = ["--csv", str(tmp_path / "iris.csv"), "--target", "species", "--quiet"]
    assert main([*flags, "--learning_rate", "0.1", "--epochs", "30", "--out", str(tmp_path)]) == 0
    model = keras.saving.load_model(tmp_path / "model.keras")
    rows = pd.read_csv(tmp_path / "iris.csv")
    out = model({name: rows[name] for name in model.input})
    predicted = np.array([name.decode() for name in keras.ops.convert_to_numpy(out["class"])])
    assert np.mean(predicted == rows["species"].to_numpy()) >= 0.85
    assert model.get_layer("class_names").get_vocabulary() == ["setosa", "versicolor", "virginica"]


def test_cli_bad_flag_value_is_a_one_line_error(capsys):
    assert main(["--learning_rate", "-1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "learning_rate" in err and "Traceback" not in err


def test_write_atomic_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "history.csv"
    target.write_text("old")

    def explode(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, explode)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["history.csv"]


def test_resume_continues_exactly_where_the_checkpoint_left_off(tmp_path):
    flags = ["--dataset", "xor", "--num_samples", "300", "--batch_size", "32",
             "--optimizer", "adam", "--dropout", "0.1", "--quiet"]  # fmt: skip
    assert main([*flags, "--epochs", "4", "--out", str(tmp_path / "straight")]) == 0
    assert main([*flags, "--epochs", "2", "--out", str(tmp_path / "split")]) == 0
    assert main([*flags, "--epochs", "4", "--out", str(tmp_path / "split"), "--resume"]) == 0
    straight = pd.read_csv(tmp_path / "straight" / "history.csv")
    resumed = pd.read_csv(tmp_path / "split" / "history.csv")
    assert list(resumed["step"]) == list(range(4 * 8))  # 240 train points / 32 = 8 per epoch
    assert (resumed["loss"].to_numpy() == straight["loss"].to_numpy()).all()
    assert list(pd.read_csv(tmp_path / "split" / "epochs.csv")["epoch"]) == [0, 1, 2, 3]


def test_resume_without_a_checkpoint_says_so(tmp_path, capsys):
    assert main(["--resume", "--quiet", "--out", str(tmp_path)]) == 2
    assert "--resume found no checkpoint" in capsys.readouterr().err


def test_train_resumes_from_a_checkpoint_dir_on_the_same_data_order(tmp_path):
    config = trainer.RunConfig(dataset="xor", num_samples=300, epochs=3, batch_size=32,
                               dropout=0.1, optimizer="adam")  # fmt: skip
    straight = [e.loss for e in trainer.train(config) if isinstance(e, trainer.BatchEnd)]
    first = trainer.train(config, checkpoint_dir=str(tmp_path))
    head = []
    for event in first:
        if isinstance(event, trainer.EpochEnd):
            first.close()  # abandoned right after epoch 0's checkpoint
            break
        head.append(event.loss)
    tail = [e for e in trainer.train(config, checkpoint_dir=str(tmp_path))
            if isinstance(e, trainer.BatchEnd)]  # fmt: skip
    assert tail[0].step == len(head) and tail[0].samples_seen == 240 + 32
    assert head + [e.loss for e in tail] == straight


def test_threads_flag_sets_tensorflows_thread_pools(tmp_path):
    code = (
        "import sys, tensorflow as tf\n"
        "from trainer.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print('threads', tf.config.threading.get_intra_op_parallelism_threads(),\n"
        "      tf.config.threading.get_inter_op_parallelism_threads())\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "--threads", "1", "--epochs", "1", "--quiet",
         "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "threads 1 1" in done.stdout


# -- interrupted runs, as a user meets them: `python -m trainer` killed for real, then resumed --
KILLED = ["--dataset", "xor", "--num_samples", "2000", "--batch_size", "8", "--optimizer",
          "adam", "--dropout", "0.1", "--threads", "1", "--quiet"]  # fmt: skip
KILLED_EPOCHS = 12  # 40 ms+ each: a kill just after epoch 0 lands long before the end
PER_EPOCH = 200  # 2000 points, 20% validation -> 1600 train / 8


@pytest.fixture(scope="module")
def uninterrupted_losses() -> np.ndarray:
    config = trainer.RunConfig(dataset="xor", num_samples=2000, batch_size=8, optimizer="adam",
                               dropout=0.1, epochs=KILLED_EPOCHS)  # fmt: skip
    return np.array([e.loss for e in trainer.train(config) if isinstance(e, trainer.BatchEnd)])


def start_cli(out: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "trainer", *KILLED, "--epochs", str(KILLED_EPOCHS)]
    return subprocess.Popen(
        [*command, "--out", str(out)], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )


def wait_for_first_epoch(run: subprocess.Popen, out: Path) -> None:
    """Until epoch 0 is checkpointed and written: its row in epochs.csv, appended after its
    batches and the checkpoint (polling: the test takes what the run takes)."""
    deadline = time.monotonic() + 120
    epochs = out / "epochs.csv"
    while not (epochs.exists() and epochs.read_text().count("\n") >= 2):
        if run.poll() is not None:
            pytest.fail("the run ended before its first epoch was written:\n" + run.stderr.read())
        assert time.monotonic() < deadline, "no first epoch within 120 s"
        time.sleep(0.01)
    assert (out / "checkpoints" / "checkpoint").exists()


def resume_cli(out: Path) -> subprocess.CompletedProcess:
    # No config flags: --resume takes the run's own config.json.
    command = [sys.executable, "-m", "trainer", "--out", str(out), "--resume", "--threads", "1"]
    return subprocess.run([*command, "--quiet"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def assert_whole_run(out: Path, losses: np.ndarray) -> None:
    history = pd.read_csv(out / "history.csv")
    assert list(history["step"]) == list(range(KILLED_EPOCHS * PER_EPOCH))  # no gap, no repeat
    assert list(pd.read_csv(out / "epochs.csv")["epoch"]) == list(range(KILLED_EPOCHS))
    assert json.loads((out / "result.json").read_text())["reason"] == "completed"
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-6)
    assert not list(out.glob(".*")), "temporary files were left behind"


def test_sigterm_stops_writing_everything_and_resume_finishes_the_same_run(
    tmp_path, uninterrupted_losses
):
    out = tmp_path / "run"
    run = start_cli(out)
    wait_for_first_epoch(run, out)
    os.kill(run.pid, signal.SIGTERM)
    err = run.communicate(timeout=60)[1]
    assert run.returncode == 3, err[-3000:]  # "stopped", as for Ctrl-C
    result = json.loads((out / "result.json").read_text())
    assert result["reason"] == "stopped" and "--resume" in result["message"]
    assert (out / "model.keras").exists()
    kept = pd.read_csv(out / "history.csv")  # every batch it took, mid-epoch ones too
    assert list(kept["step"]) == list(range(result["steps"]))
    assert PER_EPOCH <= result["steps"] < KILLED_EPOCHS * PER_EPOCH

    done = resume_cli(out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_whole_run(out, uninterrupted_losses)


def test_sigkill_loses_at_most_an_epoch_and_resume_finishes_the_same_run(
    tmp_path, uninterrupted_losses
):
    out = tmp_path / "run"
    run = start_cli(out)
    wait_for_first_epoch(run, out)
    os.kill(run.pid, signal.SIGKILL)
    run.communicate(timeout=60)
    assert run.returncode == -signal.SIGKILL
    assert not (out / "result.json").exists()  # killed mid-run: no chance to write at the end
    kept = pd.read_csv(out / "history.csv")  # written epoch by epoch as it ran
    assert list(kept["step"][:PER_EPOCH]) == list(range(PER_EPOCH))
    assert len(kept) < KILLED_EPOCHS * PER_EPOCH  # what it had done, not written at the end
    assert len(pd.read_csv(out / "epochs.csv")) >= 1
    assert json.loads((out / "config.json").read_text())["optimizer"] == "adam"

    done = resume_cli(out)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert_whole_run(out, uninterrupted_losses)


def test_resume_refuses_a_changed_config_naming_every_difference(tmp_path, capsys):
    flags = ["--dataset", "xor", "--num_samples", "100", "--batch_size", "8", "--quiet",
             "--out", str(tmp_path)]  # fmt: skip
    assert main([*flags, "--epochs", "1"]) == 0
    changed = ["--optimizer", "adam", "--batch_size", "16", "--epochs", "2"]
    capsys.readouterr()
    assert main([*flags, "--resume", *changed]) == 2
    err = capsys.readouterr().err
    assert f"error: --resume: the config differs from the run in {tmp_path}: " in err
    assert "optimizer 'adam' (was 'sgd'), batch_size 16 (was 8). Train into another --out" in err
    assert "epochs" not in err  # going on for longer is what --resume is for
    assert list(pd.read_csv(tmp_path / "history.csv")["step"]) == list(range(10))  # untouched
    # No flags but --epochs: the run's own config.json is the base.
    assert main(["--out", str(tmp_path), "--resume", "--epochs", "2", "--quiet"]) == 0
    assert list(pd.read_csv(tmp_path / "history.csv")["step"]) == list(range(20))


def test_resume_refuses_other_data_under_the_same_config(tmp_path, capsys):
    def write_csv(shift: int) -> None:
        rows = [f"{(i + shift) % 7},{i % 5},{'yes' if i % 2 else 'no'}" for i in range(60)]
        (tmp_path / "data.csv").write_text("\n".join(["a,b,label", *rows]))

    write_csv(0)
    flags = ["--csv", str(tmp_path / "data.csv"), "--target", "label", "--quiet",
             "--out", str(tmp_path / "out")]  # fmt: skip
    assert main([*flags, "--epochs", "1"]) == 0
    write_csv(3)  # edited in place: same name, same config, other numbers
    capsys.readouterr()
    assert main([*flags, "--epochs", "2", "--resume"]) == 2
    assert "--resume: the data differs from what the run in" in capsys.readouterr().err


def test_resume_goes_back_to_the_last_checkpoint_the_files_hold(tmp_path, capsys):
    flags = ["--dataset", "xor", "--num_samples", "300", "--batch_size", "32",
             "--optimizer", "adam", "--dropout", "0.1", "--quiet"]  # fmt: skip
    assert main([*flags, "--epochs", "4", "--out", str(tmp_path / "straight")]) == 0
    out = tmp_path / "cut"
    assert main([*flags, "--epochs", "3", "--out", str(out)]) == 0
    # As if killed after epoch 2's checkpoint, while appending its batches: half a line.
    lines = (out / "history.csv").read_text().splitlines(keepends=True)
    (out / "history.csv").write_text("".join(lines[: 1 + 2 * 8]) + lines[17][:9])
    lines = (out / "epochs.csv").read_text().splitlines(keepends=True)
    (out / "epochs.csv").write_text("".join(lines[:3]))
    for name in ("result.json", "model.keras"):
        (out / name).unlink()
    capsys.readouterr()
    assert main([*flags, "--epochs", "4", "--out", str(out), "--resume"]) == 0
    straight = pd.read_csv(tmp_path / "straight" / "history.csv")
    resumed = pd.read_csv(out / "history.csv")
    assert list(resumed["step"]) == list(range(4 * 8))
    assert (resumed["loss"].to_numpy() == straight["loss"].to_numpy()).all()
    assert list(pd.read_csv(out / "epochs.csv")["epoch"]) == [0, 1, 2, 3]
    assert "going on from epoch 3 (step 16)" in capsys.readouterr().err  # not 4: files end at 2


def test_resume_of_a_run_that_left_only_checkpoints_starts_over(tmp_path, capsys):
    flags = ["--dataset", "xor", "--num_samples", "300", "--batch_size", "32", "--quiet",
             "--epochs", "2", "--out", str(tmp_path)]  # fmt: skip
    assert main(flags) == 0
    straight = pd.read_csv(tmp_path / "history.csv")
    for path in tmp_path.iterdir():  # what the CLI used to leave after a kill
        if path.is_file():
            path.unlink()
    capsys.readouterr()
    assert main([*flags, "--resume"]) == 0
    assert "starting over" in capsys.readouterr().err
    resumed = pd.read_csv(tmp_path / "history.csv")
    assert list(resumed["step"]) == list(range(2 * 8))
    assert (resumed["loss"].to_numpy() == straight["loss"].to_numpy()).all()
