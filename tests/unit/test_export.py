"""export_script: a standalone script (TF/NumPy only) that reproduces trainer.train's losses.

Every optimizer and schedule table entry, and an entry added at run time, is trained and exported
here: adding one needs no test edit, and one that builds the wrong thing fails.
"""

import ast
import itertools
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import trainer
from trainer import datasets
from trainer.export import export_arrays, export_script
from trainer.optimizers import OPTIMIZERS, OptimizerSpec
from trainer.schedules import LR_SCHEDULES, ScheduleSpec

CASES = {
    "xor-adam-l2-dropout": trainer.RunConfig(
        dataset="xor",
        num_samples=300,
        noise=10,
        epochs=2,
        batch_size=32,
        optimizer="adam",
        learning_rate=0.01,
        l2=1e-3,
        dropout=0.1,
        hidden_units=(8, 8),
    ),
    "circle-l1-l2": trainer.RunConfig(
        dataset="circle", num_samples=200, epochs=2, l1=1e-3, l2=1e-3, hidden_units=(6,)
    ),
    "digits-momentum-cosine": trainer.RunConfig(
        dataset="digits", epochs=1, optimizer="momentum", lr_schedule="cosine", decay_steps=30
    ),
    # Each feature's formula is checked against the model in test_features: one script with
    # several (Concatenate), one with a single feature (Identity).
    "circle-squares-linear": trainer.RunConfig(
        dataset="circle", num_samples=200, epochs=2, features="x1sq,x2sq", hidden_units=()
    ),
    "gauss-one-feature": trainer.RunConfig(
        dataset="gauss", num_samples=200, epochs=1, features="x1x2", hidden_units=(3,)
    ),
    "plane-regression-no-shuffle": trainer.RunConfig(
        dataset="plane", task="regression", num_samples=200, epochs=2, shuffle=False
    ),
}


def run_script(source: str, tmp_path, *extra: str) -> np.ndarray:
    script = tmp_path / "exported.py"
    script.write_text(source)
    done = subprocess.run(
        [sys.executable, str(script), "--losses-out", str(tmp_path / "losses.csv"), *extra],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},  # no PYTHONPATH: no trainer
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Seen so far" in done.stdout
    return np.loadtxt(tmp_path / "losses.csv", skiprows=1, ndmin=1)


@pytest.mark.parametrize("name", CASES)
def test_exported_script_reproduces_the_runs_losses(name, tmp_path):
    config = CASES[name]
    source = export_script(config)
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])
    }
    allowed = {"argparse", "json", "keras", "numpy", "tensorflow", "sklearn", "collections"}
    assert imported <= allowed
    expected = [e.loss for e in trainer.train(config) if isinstance(e, trainer.BatchEnd)]
    np.testing.assert_allclose(run_script(source, tmp_path), expected, atol=1e-4, rtol=0)


def test_csv_runs_export_with_their_arrays(tmp_path):
    rows = ["a,b,label"] + [f"{i % 7},{(i * 3) % 5},{'yes' if i % 3 else 'no'}" for i in range(90)]
    data = trainer.Dataset.from_csv("\n".join(rows).encode(), target="label")
    config = trainer.RunConfig(dataset="csv", epochs=2, batch_size=16, optimizer="adam")
    (tmp_path / "data.npz").write_bytes(export_arrays(data))
    expected = [e.loss for e in trainer.train(config, data) if isinstance(e, trainer.BatchEnd)]
    got = run_script(export_script(config), tmp_path, "--data", str(tmp_path / "data.npz"))
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_exported_csv_script_saves_the_model_that_takes_raw_rows(tmp_path):
    import keras

    from trainer.evaluate import softmax

    rows = ["size,color,label"] + [
        f"{i % 7 + 0.5},{('red', 'green', 'blue')[i % 3]},{'yes' if i % 4 else 'no'}"
        for i in range(90)
    ]
    (tmp_path / "data.csv").write_text("\n".join(rows))
    data = trainer.Dataset.from_csv(tmp_path / "data.csv", target="label")
    config = trainer.RunConfig(dataset="csv", epochs=2, batch_size=16, optimizer="adam")
    (tmp_path / "data.npz").write_bytes(export_arrays(data))
    end = list(trainer.train(config, data))[-1]
    run_script(export_script(config), tmp_path, "--data", str(tmp_path / "data.npz"))

    model = keras.saving.load_model(tmp_path / "model.keras")
    raw = pd.read_csv(tmp_path / "data.csv")
    out = model({name: raw[name] for name in model.input})
    expected = softmax(keras.ops.convert_to_numpy(end.model(data.x_train)))
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-4)
    assert model.get_layer("class_names").get_vocabulary() == ["no", "yes"]


def test_export_rejects_a_non_config():
    with pytest.raises(ValueError, match="RunConfig"):
        export_script({"dataset": "digits"})


# -- the tables: every entry, and entries added at run time --------------------------------
def table_pairs() -> list[tuple[str, str]]:
    """(optimizer, schedule) pairs covering every entry of both tables at least once."""
    count = max(len(OPTIMIZERS), len(LR_SCHEDULES))
    cycle = itertools.cycle
    return list(itertools.islice(zip(cycle(OPTIMIZERS), cycle(LR_SCHEDULES)), count))


def losses_match_the_export(config: trainer.RunConfig, tmp_path) -> None:
    events = list(trainer.train(config))
    assert events[-1].reason == "completed", events[-1]
    expected = [e.loss for e in events if isinstance(e, trainer.BatchEnd)]
    assert len(expected) >= 4 and np.all(np.isfinite(expected))
    np.testing.assert_allclose(run_script(export_script(config), tmp_path), expected, atol=1e-4)


def few_steps(**changes) -> trainer.RunConfig:
    # 96 points, 80 to train on: 5 steps an epoch; decay_steps=2 moves every schedule in them.
    base = dict(dataset="xor", num_samples=96, epochs=2, batch_size=16, hidden_units=(8,))
    return trainer.RunConfig(**{**base, "learning_rate": 0.05, "decay_steps": 2, **changes})


@pytest.mark.parametrize(("optimizer", "schedule"), table_pairs())
def test_every_optimizer_and_schedule_trains_and_exports(optimizer, schedule, tmp_path):
    losses_match_the_export(few_steps(optimizer=optimizer, lr_schedule=schedule), tmp_path)


def inverse_time(config, steps):  # keras.optimizers.schedules.InverseTimeDecay's formula
    return config.learning_rate / (1 + config.decay_rate * steps / config.decay_steps)


def classify_stripes(n, noise, rng):
    """Vertical stripes: +1 where sin(x1) >= 0."""
    points = rng.uniform(-5, 5, (n, 2))
    jittered = points + rng.uniform(-5, 5, (n, 2)) * noise
    return points, np.where(np.sin(jittered[:, 0]) >= 0, 1, -1)


def test_a_new_optimizer_schedule_and_playground_set_are_one_entry_each(monkeypatch, tmp_path):
    monkeypatch.setitem(OPTIMIZERS, "nadam", OptimizerSpec("Nadam", {"beta_1": 0.8}))
    monkeypatch.setitem(
        LR_SCHEDULES,
        "inverse_time",
        ScheduleSpec("InverseTimeDecay", inverse_time, ("decay_steps", "decay_rate")),
    )
    stripes = datasets.playground_set(
        "stripes", "Stripes", "classification", "Vertical stripes.", classify_stripes
    )
    monkeypatch.setitem(datasets.DATASETS, "stripes", stripes)
    config = few_steps(dataset="stripes", optimizer="nadam", lr_schedule="inverse_time")
    optimizer = trainer.make_optimizer(config)
    assert type(optimizer).__name__ == "Nadam" and optimizer.beta_1 == 0.8
    curve = trainer.learning_rate_curve(config, 10)
    assert [v for _, v in curve] == pytest.approx(
        [inverse_time(config, s) for s, _ in curve], rel=1e-5
    )
    losses_match_the_export(config, tmp_path)


def test_the_scripts_docstring_spells_the_settings_as_a_link_does():
    config = trainer.RunConfig(dataset="xor", learning_rate=0.1, epochs=10, hidden_units=(8, 4))
    doc = ast.get_docstring(ast.parse(export_script(config)))
    assert "learning_rate=0.1" in doc and "epochs=10" in doc and "hidden_units=8,4" in doc
    assert "'" not in doc.splitlines()[0]
