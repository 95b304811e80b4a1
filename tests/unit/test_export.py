"""export_script: a standalone script (TF/NumPy only) that reproduces trainer.train's losses."""

import ast
import subprocess
import sys

import numpy as np
import pytest

import trainer
from trainer.export import export_arrays, export_script

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
    "digits-momentum-cosine": trainer.RunConfig(
        dataset="digits", epochs=1, optimizer="momentum", lr_schedule="cosine", decay_steps=30
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
    assert imported <= {"argparse", "keras", "numpy", "tensorflow", "sklearn", "collections"}
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


def test_export_rejects_a_non_config():
    with pytest.raises(ValueError, match="RunConfig"):
        export_script({"dataset": "digits"})
