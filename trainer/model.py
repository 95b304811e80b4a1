"""Model, optimizer, schedule, loss and metrics for a RunConfig: the guide's pieces."""

from __future__ import annotations

from typing import TYPE_CHECKING

import keras
import numpy as np

from trainer.features import RAW, check_features, feature_layer
from trainer.optimizers import optimizer_spec
from trainer.schedules import schedule_spec

if TYPE_CHECKING:
    from trainer.config import RunConfig
    from trainer.data import Dataset


def build_model(config: RunConfig, dataset: Dataset) -> keras.Model:
    """The seed's functional model: Dense(units, activation) per hidden layer, linear output.

    Two-feature data goes in as its two columns; with `config.features` other than x1,x2 the
    first Dense layer sees those features instead, computed in the model (trainer.features).

    Images are flattened first (the seed reshapes MNIST to 784 features). The output layer is
    linear: logits for classification (the loss applies softmax), one value for regression.
    A regression model ends in a fixed `Rescaling` ("target_units") that maps the output layer's
    standardized value to the target's own units (times the training targets' std, plus their
    mean), so its predictions need no un-scaling; its output kernel starts at zero, so a new
    model predicts the mean.
    Seeded from `config.seed`, so a config always starts from the same weights, whatever was
    built before it (Keras draws initializer seeds from Python's global `random`).
    """
    keras.utils.set_random_seed(config.seed)
    regularizer = kernel_regularizer(config)
    check_features(config.features, dataset.input_shape, dataset.name)
    inputs = keras.Input(shape=tuple(dataset.input_shape), name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(dataset.input_shape) > 1 else inputs
    if config.features != RAW:  # TensorFlow Playground's features, computed in the model
        x = feature_layer(x, config.features)
    for i, units in enumerate(config.hidden_units, start=1):
        x = keras.layers.Dense(
            units,
            activation=config.activation,
            kernel_regularizer=regularizer,
            name=f"dense_{i}",
        )(x)
        if config.dropout > 0:
            x = keras.layers.Dropout(config.dropout, seed=config.seed + i, name=f"dropout_{i}")(x)
    regression = dataset.task == "regression"
    outputs = keras.layers.Dense(
        dataset.num_outputs,
        # A regression starts out predicting the training targets' mean (see below), exactly:
        # any learning then shows as beating the mean, the baseline a person compares with.
        kernel_initializer="zeros" if regression else "glorot_uniform",
        kernel_regularizer=regularizer,
        name="predictions",
    )(x)
    if regression:
        mean, std = target_scale(dataset)
        outputs = keras.layers.Rescaling(std, offset=mean, name="target_units")(outputs)
    return keras.Model(inputs=inputs, outputs=outputs, name="tapeboard_mlp")


def kernel_regularizer(config: RunConfig):
    """The Dense kernels' penalty, l1 * sum(|w|) + l2 * sum(w**2), or None. Keras' L1L2 skips
    a zero term, so an L2-only penalty is exactly L2's."""
    return keras.regularizers.L1L2(l1=config.l1, l2=config.l2) if config.l1 or config.l2 else None


def target_scale(dataset: Dataset) -> tuple[float, float]:
    """The mean and standard deviation of the training targets of a regression (std 1 when they
    are constant); (0, 1) for classification. A regression model learns the standardized target
    (`build_model`'s "target_units" layer maps it back) and its loss is computed on that scale
    (`make_loss`), so the starting settings work whatever the target's units (diabetes' 25-346,
    trained as they are, diverge under SGD at learning rate 0.1)."""
    if dataset.task != "regression" or not len(dataset.y_train):
        return 0.0, 1.0
    y = np.asarray(dataset.y_train, dtype=np.float64)
    std = float(y.std())
    return float(y.mean()), std if np.isfinite(std) and std > 0 else 1.0


def make_learning_rate(
    config: RunConfig,
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The learning rate `config.lr_schedule` names in `trainer.schedules.LR_SCHEDULES`: a float,
    or a Keras LearningRateSchedule."""
    spec = schedule_spec(config.lr_schedule)
    if spec.keras_class is None:
        return config.learning_rate
    schedule_class = getattr(keras.optimizers.schedules, spec.keras_class)
    return schedule_class(config.learning_rate, **spec.arguments(config))


def make_optimizer(config: RunConfig) -> keras.optimizers.Optimizer:
    """The optimizer `config.optimizer` names in `trainer.optimizers.OPTIMIZERS`, on its
    learning-rate schedule."""
    spec = optimizer_spec(config.optimizer)
    optimizer_class = getattr(keras.optimizers, spec.keras_class)
    return optimizer_class(learning_rate=make_learning_rate(config), **spec.kwargs)


def learning_rate_curve(
    config: RunConfig, total_steps: int, points: int = 200
) -> list[tuple[int, float]]:
    """(step, learning rate) pairs over a run of `total_steps`, for a preview plot."""
    steps = np.unique(np.linspace(0, max(total_steps - 1, 0), num=max(points, 2)).astype(int))
    lr = make_learning_rate(config)
    if not callable(lr):
        return [(int(s), float(lr)) for s in steps]
    values = keras.ops.convert_to_numpy(lr(keras.ops.convert_to_tensor(steps, dtype="float32")))
    return [(int(s), float(v)) for s, v in zip(steps, np.broadcast_to(values, steps.shape))]


def make_loss(task: str, target_std: float = 1.0) -> keras.losses.Loss:
    """Per-example loss (no reduction): averaged over the global batch in the train step, which
    is what tf.distribute needs and equals the guide's mean loss on one device.

    Regression: the squared error of the standardized target, ((y - prediction) / target_std)^2,
    where y and the prediction are in the target's units (`target_scale`). Its gradients are
    those of a model trained on a standardized target; the loop reports it times target_std^2,
    the mean squared error in the target's own units.
    """
    if task == "regression":
        return StandardizedSquaredError(target_std)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)


class StandardizedSquaredError(keras.losses.Loss):
    """Mean squared error of `y_true / std` and `y_pred / std`, per example (no reduction)."""

    def __init__(self, std: float = 1.0, name: str = "standardized_squared_error") -> None:
        super().__init__(name=name, reduction=None)
        self.std = float(std)

    def call(self, y_true, y_pred):
        # Divided before squaring: the squares stay near 1 whatever the target's magnitude.
        error = (keras.ops.cast(y_pred, "float32") - keras.ops.cast(y_true, "float32")) / self.std
        return keras.ops.mean(keras.ops.square(error), axis=-1)

    def get_config(self) -> dict:
        return {"name": self.name, "std": self.std}


def make_metrics(task: str, prefix: str = "") -> dict[str, keras.metrics.Metric]:
    """Keras metric objects, as in the guide: updated per batch, read and reset per epoch."""
    metrics: dict[str, keras.metrics.Metric] = {f"{prefix}loss": keras.metrics.Mean()}
    if task == "regression":
        metrics[f"{prefix}mae"] = keras.metrics.MeanAbsoluteError()
    else:
        metrics[f"{prefix}accuracy"] = keras.metrics.SparseCategoricalAccuracy()
    return metrics
