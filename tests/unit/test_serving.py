"""The model taken away (`trainer.serving`): raw rows in; class names and probabilities out.

It must give, on raw rows, what the trained model gives on the rows as the engine encoded them,
and survive `.keras` saving and loading in a process that has never imported `trainer`.
"""

import io
import json
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

import trainer
from trainer.evaluate import softmax
from trainer.serving import serving_model, serving_spec


def iris_csv() -> bytes:
    """scikit-learn's iris as a CSV: four named measurements and a text `species` column."""
    iris = load_iris(as_frame=True)
    table = iris.data.copy()
    table["species"] = iris.target_names[iris.target]
    return table.to_csv(index=False).encode()


def raw_rows(csv: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(csv))


# The README's lines, run by a fresh interpreter that has no `trainer` on its path.
FRESH = """
import json, sys
import keras, numpy as np, pandas as pd

model = keras.saving.load_model(sys.argv[1])
rows = pd.read_csv(sys.argv[2])
out = model({name: rows[name] for name in model.input})
json.dump({
    "classes": [c.decode() for c in out["class"].numpy()],
    "probabilities": out["probabilities"].numpy().tolist(),
    "vocabulary": [str(v) for v in model.get_layer("class_names").get_vocabulary()],
    "trainer_loaded": "trainer" in sys.modules,
}, sys.stdout)
"""


def test_iris_raw_rows_through_the_saved_model_in_a_fresh_process(tmp_path):
    csv = iris_csv()
    (tmp_path / "iris.csv").write_bytes(csv)
    data = trainer.Dataset.from_csv(csv, target="species")
    config = trainer.RunConfig(dataset="csv", learning_rate=0.1, epochs=30)  # the app's start
    end = list(trainer.train(config, data))[-1]
    assert end.reason == "completed", end.message
    serving_model(end.model, data).save(tmp_path / "iris.keras")

    done = subprocess.run(
        [sys.executable, "-c", FRESH, str(tmp_path / "iris.keras"), str(tmp_path / "iris.csv")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},  # no PYTHONPATH: no trainer
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout)
    assert not got["trainer_loaded"]
    assert got["vocabulary"] == ["setosa", "versicolor", "virginica"]
    accuracy = np.mean(np.array(got["classes"]) == raw_rows(csv)["species"].to_numpy())
    assert accuracy >= 0.85, accuracy
    # The same numbers as the trained model on the rows as the engine encoded them.
    expected = softmax(keras.ops.convert_to_numpy(end.model(data.x_train)))
    np.testing.assert_allclose(got["probabilities"], expected, atol=1e-5)


def mixed_csv() -> bytes:
    """Numbers, a text column (an empty cell too) and a column whose name holds a slash."""
    rng = np.random.default_rng(0)
    colors = np.array(["red", "green", "blue"])[rng.integers(0, 3, 60)].astype(object)
    colors[5] = ""
    table = pd.DataFrame(
        {
            "size": rng.normal(50, 10, 60).round(2),
            "color": colors,
            "km/h": rng.integers(0, 120, 60),
            "label": np.where(rng.random(60) > 0.5, "yes", "no"),
        }
    )
    return table.to_csv(index=False).encode()


@pytest.mark.filterwarnings("ignore:When providing `inputs` as a dict")  # the "km/h" input
def test_text_columns_and_unseen_values_encode_as_in_training():
    csv = mixed_csv()
    data = trainer.Dataset.from_csv(csv, target="label")
    assert [c.name for c in data.columns] == ["size", "color", "km/h"]
    model = trainer.build_model(trainer.RunConfig(dataset="csv"), data)
    served = serving_model(model, data)
    rows = raw_rows(csv).fillna({"color": ""})
    out = served({name: rows[name] for name in served.input})
    expected = softmax(keras.ops.convert_to_numpy(model(data.x_train)))
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)
    names = [c.decode() for c in keras.ops.convert_to_numpy(out["class"])]
    assert names == [("no", "yes")[i] for i in expected.argmax(axis=1)]

    # A color never seen in training is none of the three, as the empty cell was.
    def row(color: str) -> dict:
        return {"size": np.array([50.0]), "color": np.array([color]), "km/h": np.array([60])}

    unseen, empty = served(row("purple")), served(row(""))
    np.testing.assert_allclose(unseen["probabilities"], empty["probabilities"], atol=1e-7)


def test_images_points_and_regressions_take_the_arrays_as_loaded():
    digits = trainer.load_dataset("digits")  # uint8 pixels 0..16, scale 1/16
    model = trainer.build_model(trainer.RunConfig(), digits)
    out = serving_model(model, digits)(digits.x_train[:50])
    expected = softmax(keras.ops.convert_to_numpy(model(digits.x_train[:50] / 16)))
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-6)
    assert out["class"].numpy()[0].decode() in digits.class_names

    plane = trainer.load_dataset("plane", num_samples=100)
    model = trainer.build_model(trainer.RunConfig(dataset="plane", task="regression"), plane)
    out = serving_model(model, plane)(plane.x_train)
    np.testing.assert_allclose(out["prediction"], model(plane.x_train), atol=1e-6)
    # A new regression model predicts the training targets' mean, in the target's units.
    np.testing.assert_allclose(out["prediction"], plane.y_train.mean(), atol=1e-5)


def test_a_stored_csv_dataset_keeps_what_the_model_needs():
    from service.records import pack_dataset, unpack_dataset

    data = trainer.Dataset.from_csv(mixed_csv(), target="label")
    back = unpack_dataset(pack_dataset(data))
    assert back.columns == data.columns
    assert serving_spec(back) == serving_spec(data)


def test_a_spec_that_does_not_match_the_data_is_an_error():
    import dataclasses

    data = trainer.Dataset.from_csv(mixed_csv(), target="label")
    broken = dataclasses.replace(data, columns=data.columns[:1])
    with pytest.raises(ValueError, match="describe 1 features but the data has 5"):
        serving_spec(broken)
