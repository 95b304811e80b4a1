"""`python -m trainer`: the same loop headless, writing history, epochs, config and model."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import pandas as pd
import pytest

import trainer
from trainer.cli import main, write_atomic

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
    history = pd.read_csv(out / "history.csv")
    # 200 points, 20% validation -> 160 train -> 5 batches x 3 epochs (the flag overrode 2).
    assert list(history["step"]) == list(range(15))
    assert len(pd.read_csv(out / "epochs.csv")) == 3
    assert trainer.RunConfig.from_json((out / "config.json").read_text()) == config.replace(
        epochs=3
    )
    assert json.loads((out / "result.json").read_text())["reason"] == "completed"
    model = keras.models.load_model(out / "model.keras")
    assert model.output_shape == (None, 2)
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
