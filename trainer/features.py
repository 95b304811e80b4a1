"""TensorFlow Playground's input features for two-feature data: the first layer can see X1, X2,
their squares, their product and their sines instead of the two coordinates alone.

A circle is then one ring in X1² + X2², a spiral a handful of units over sin(X1), sin(X2); the
network built on them is smaller, and a demo shows why feature engineering matters. The
features are computed inside the model (`feature_layer`, from Keras ops in the functional
graph): the saved `.keras` file takes the raw two columns and loads in plain Keras, and the
decision boundary, Evaluate and the exported model need nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# name -> (label as TensorFlow Playground writes it, the formula the exported script shows)
FEATURES: dict[str, tuple[str, str]] = {
    "x1": ("X₁", "x1"),
    "x2": ("X₂", "x2"),
    "x1sq": ("X₁²", "x1 * x1"),
    "x2sq": ("X₂²", "x2 * x2"),
    "x1x2": ("X₁X₂", "x1 * x2"),
    "sinx1": ("sin(X₁)", "keras.ops.sin(x1)"),
    "sinx2": ("sin(X₂)", "keras.ops.sin(x2)"),
}
RAW = ("x1", "x2")  # the data's own two columns: no feature layer


def label(name: str) -> str:
    return FEATURES[name][0]


def in_order(names: Sequence[str]) -> tuple[str, ...]:
    """`names` in FEATURES' order (unknown names last, as given): "x2,x1" is the config
    "x1,x2", so two links that pick the same features are the same setup."""
    order = {name: i for i, name in enumerate(FEATURES)}
    return tuple(sorted(names, key=lambda n: order.get(n, len(order))))


def check_features(features: Sequence[str], input_shape: Sequence[int], data_name: str) -> None:
    """ValueError unless `features` fit the data: anything but the raw two columns needs data
    of two features (the TensorFlow Playground sets, a two-column CSV)."""
    if tuple(features) != RAW and tuple(input_shape) != (2,):
        shape = "x".join(map(str, input_shape))
        raise ValueError(
            f"RunConfig.features applies to two-feature data (TensorFlow Playground sets, a "
            f"two-column CSV); {data_name!r} has inputs of shape {shape}. Received: "
            f"features={','.join(features)!r}. Use features='x1,x2'."
        )


def feature_layer(inputs: Any, features: Sequence[str]) -> Any:
    """The chosen features of a (batch, 2) Keras tensor as one (batch, len(features)) tensor,
    in the functional graph (saved with the model, no custom layer to register). It comes out
    of a layer named "features" (`feature_layer_type`), which the model's summary lists."""
    import keras

    x1, x2 = inputs[:, 0:1], inputs[:, 1:2]
    columns = {
        "x1": lambda: x1,
        "x2": lambda: x2,
        "x1sq": lambda: x1 * x1,
        "x2sq": lambda: x2 * x2,
        "x1x2": lambda: x1 * x2,
        "sinx1": lambda: keras.ops.sin(x1),
        "sinx2": lambda: keras.ops.sin(x2),
    }
    chosen = [columns[name]() for name in features]
    if len(chosen) == 1:
        return keras.layers.Identity(name="features")(chosen[0])
    return keras.layers.Concatenate(name="features")(chosen)


def feature_layer_type(features: Sequence[str]) -> str:
    """The Keras class of `feature_layer`'s layer (for a summary that builds nothing)."""
    return "Identity" if len(features) == 1 else "Concatenate"
