"""The optimizer and learning-rate schedule tables: each entry builds its Keras class with its
arguments, the Model page's NumPy preview is Keras' schedule, and no name falls back silently.

(tests/unit/test_export.py trains and exports every entry.)"""

import keras
import pytest

import trainer
from trainer.config import RunConfig
from trainer.model import make_learning_rate, make_optimizer
from trainer.optimizers import OPTIMIZERS, optimizer_spec
from trainer.schedules import LR_SCHEDULES, learning_rate_points, learning_rates, schedule_spec


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_builds_its_keras_class_with_its_arguments(name):
    spec = OPTIMIZERS[name]
    optimizer = make_optimizer(RunConfig(optimizer=name, learning_rate=0.02))
    assert type(optimizer) is getattr(keras.optimizers, spec.keras_class)
    assert float(optimizer.learning_rate) == pytest.approx(0.02)
    for argument, value in spec.kwargs.items():
        assert getattr(optimizer, argument) == pytest.approx(value)
    extra = "".join(f", {k}={v!r}" for k, v in spec.kwargs.items())
    assert spec.code("0.02") == f"keras.optimizers.{spec.keras_class}(learning_rate=0.02{extra})"


@pytest.mark.parametrize("name", LR_SCHEDULES)
def test_every_schedule_builds_its_keras_class_with_its_arguments(name):
    spec = LR_SCHEDULES[name]
    config = RunConfig(lr_schedule=name, learning_rate=0.3, decay_steps=70, decay_rate=0.4)
    built = make_learning_rate(config)
    if spec.keras_class is None:
        assert built == 0.3 and spec.code(config) == "0.3"
        return
    assert type(built) is getattr(keras.optimizers.schedules, spec.keras_class)
    assert built.get_config()["initial_learning_rate"] == pytest.approx(0.3)
    for argument, value in spec.arguments(config).items():
        assert built.get_config()[argument] == pytest.approx(value)
    assert spec.code(config).startswith(f"keras.optimizers.schedules.{spec.keras_class}(0.3")


@pytest.mark.parametrize("name", LR_SCHEDULES)
def test_the_schedule_preview_is_keras_schedule(name):
    config = RunConfig(learning_rate=0.3, lr_schedule=name, decay_steps=70, decay_rate=0.4)
    ours = learning_rate_points(config, 500, points=50)
    keras_curve = trainer.learning_rate_curve(config, 500, points=50)
    assert [s for s, _ in ours] == [s for s, _ in keras_curve]
    assert [v for _, v in ours] == pytest.approx([v for _, v in keras_curve], rel=1e-5)
    assert learning_rates(config, [0, 10]).shape == (2,)


def test_the_config_accepts_exactly_the_tables_names():
    for name in OPTIMIZERS:
        assert RunConfig(optimizer=name).optimizer == name
    for name in LR_SCHEDULES:
        assert RunConfig(lr_schedule=name).lr_schedule == name
    with pytest.raises(ValueError, match="RunConfig.optimizer must be one of sgd, momentum"):
        RunConfig(optimizer="adagrad")
    with pytest.raises(ValueError, match="lr_schedule='linear'"):
        RunConfig(lr_schedule="linear")


def test_an_unknown_name_is_an_error_not_a_fallback():
    with pytest.raises(ValueError, match="Received: optimizer='adagrad'"):
        optimizer_spec("adagrad")
    with pytest.raises(ValueError, match="Received: lr_schedule='linear'"):
        schedule_spec("linear")
