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
