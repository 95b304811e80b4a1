"""TensorFlow Playground's input features: the config field, the model's feature layer, what the
Model page's summary says of it, and what the features let a small network learn."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import trainer
from trainer.features import FEATURES, RAW, feature_layer

ALL = tuple(FEATURES)


def test_the_config_keeps_features_in_one_order_and_round_trips():
    config = trainer.RunConfig(dataset="spiral", features="sinx2, x1 ,x1sq")
    assert config.features == ("x1", "x1sq", "sinx2")  # "x2,x1" and "x1,x2" are one setup
    assert trainer.RunConfig.from_query(config.to_query()) == config
    assert trainer.RunConfig.from_json(config.to_json()) == config
    assert trainer.RunConfig().to_params() == {}  # the default (x1,x2) stays out of links
    old = trainer.RunConfig().to_dict()
    del old["features"]  # a run stored before the field existed
    assert trainer.RunConfig.from_dict(old).features == RAW


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "must name at least one feature"),
        ("x1,cos", "'cos' is not one"),
        ("x1,x1", "must name each feature once"),
        (3, "must be a list of names"),
    ],
)
def test_a_bad_feature_list_names_the_field_and_the_value(value, problem):
    with pytest.raises(ValueError, match="RunConfig.features") as err:
        trainer.RunConfig(features=value)
    assert problem in str(err.value)


def test_each_features_formula_is_what_the_model_computes():
    """The exported script writes each feature as FEATURES' formula; the model computes it in
    `feature_layer`: the same numbers."""
    points = np.random.default_rng(0).uniform(-6, 6, size=(50, 2)).astype("float32")
    inputs = keras.Input((2,))
    model = keras.Model(inputs, feature_layer(inputs, ALL))
    columns = keras.ops.convert_to_numpy(model(points))
    x1, x2 = points[:, 0:1], points[:, 1:2]
    for i, (_, formula) in enumerate(FEATURES.values()):
        expected = eval(formula, {"keras": keras, "x1": x1, "x2": x2})  # noqa: S307 (our table)
        np.testing.assert_allclose(columns[:, i : i + 1], expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("features", [ALL, ("x1sq",), ("x1", "x2")])
def test_the_first_layer_takes_as_many_inputs_as_features(features):
    data = trainer.load_dataset("circle", num_samples=100)
    config = trainer.RunConfig(dataset="circle", features=features, hidden_units=(5,))
    model = trainer.build_model(config, data)
    assert model.get_layer("dense_1").kernel.shape == (len(features), 5)
    assert model.count_params() == (len(features) + 1) * 5 + 6 * 2


def test_features_need_two_feature_data():
    data = trainer.load_dataset("digits")
    with pytest.raises(ValueError, match="RunConfig.features applies to two-feature data") as err:
        trainer.build_model(trainer.RunConfig(features="x1sq,x2sq"), data)
    assert "'digits' has inputs of shape 8x8" in str(err.value)
    assert "features='x1sq,x2sq'" in str(err.value)


def test_the_saved_model_takes_the_raw_points_in_plain_keras(tmp_path):
    data = trainer.load_dataset("spiral", num_samples=100)
    config = trainer.RunConfig(dataset="spiral", features=ALL, hidden_units=(4,))
    model = trainer.build_model(config, data)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")  # no custom object to register
    np.testing.assert_allclose(loaded(data.x_train[:20]), model(data.x_train[:20]), atol=1e-6)


def val_accuracy(features: str) -> float:
    """A linear model (no hidden layer) on TensorFlow Playground's circle."""
    config = trainer.RunConfig(
        dataset="circle",
        num_samples=300,
        features=features,
        hidden_units=(),
        optimizer="adam",
        learning_rate=0.1,
        batch_size=16,
        epochs=15,
    )
    end = [e for e in trainer.train(config) if isinstance(e, trainer.EpochEnd)][-1]
    return end.metrics["val_accuracy"]


def test_squares_let_a_linear_model_separate_the_circle():
    """TensorFlow Playground's lesson: no line splits a disc from the ring around it in X1, X2;
    in X1², X2² one does."""
    assert val_accuracy("x1,x2") < 0.75
    assert val_accuracy("x1sq,x2sq") > 0.95


def test_the_cli_takes_features(tmp_path, capsys):
    from trainer.cli import main

    flags = ["--dataset", "circle", "--num_samples", "100", "--hidden_units", "", "--quiet"]
    assert main([*flags, "--features", "x2sq,x1sq", "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "config.json").read_text())["features"] == ["x1sq", "x2sq"]
    assert main(["--features", "x1sq", "--quiet", "--out", str(tmp_path / "digits")]) == 2
    err = capsys.readouterr().err
    assert "RunConfig.features applies to two-feature data" in err and "Traceback" not in err
