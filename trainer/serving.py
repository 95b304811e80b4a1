"""The model to take away: raw rows in; class names and probabilities (or the prediction) out.

A trained model (`trainer.model.build_model`'s) takes its inputs as the engine feeds them: a
CSV's numbers standardized and its text one-hot encoded, images times `Dataset.scale`; it
outputs logits. `serving_model` wraps it in Keras preprocessing layers that do that work, so
the saved file works on data as it comes, as Keras' guide on preprocessing layers advises:

    import keras, pandas as pd
    model = keras.saving.load_model("tapeboard-run-1.keras")
    rows = pd.read_csv("iris.csv")  # raw rows: the target column may be there or not
    out = model({name: rows[name] for name in model.input})  # CSV models: one input a column

- Inputs: a model trained on a CSV takes a dict, one entry per feature column (`model.input`
  lists them), numbers as numbers and text as text; a text value not seen in training counts
  as none of the categories, as an empty cell did in training. Empty cells (NaN to pandas)
  must be filled: "" for text, a number for numbers (training used the column's median).
  Other models take the array as the dataset holds it: images as uint8 pixels, Playground
  points as (x1, x2).
- Outputs: a classifier gives {"class": each row's class name (bytes), "probabilities": one
  column per class}, the columns in the order of
  `model.get_layer("class_names").get_vocabulary()`; a regression gives {"prediction": the
  value in the target's own units}. The trained model itself is
  `model.get_layer("tapeboard_mlp")`.

Only built-in Keras layers: the file loads with plain Keras, without this package. The builder
(`build_serving`) takes plain data (`serving_spec`, JSON-ready), so the exported training script
embeds its source and saves the same kind of model. Nothing here imports TensorFlow until a model
is built: the web server makes specs (`trainer.export.export_arrays`) and never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

    from trainer.data import Dataset


def serving_model(model: keras.Model, dataset: Dataset) -> keras.Model:
    """`model` (trained on `dataset` as the engine feeds it) behind the preprocessing that turns
    the dataset's raw rows into its inputs, ending in probabilities and class names (or the
    prediction): see the module docstring."""
    return build_serving(model, serving_spec(dataset))


def serving_spec(dataset: Dataset) -> dict[str, Any]:
    """What `build_serving` needs to know of `dataset`, as JSON-ready data."""
    width = int(np.prod(dataset.input_shape))
    columns = [[column.name, list(column.categories)] for column in dataset.columns]
    if columns and sum(len(c) or 1 for _, c in columns) != width:
        raise ValueError(
            f"Dataset.columns describe {sum(len(c) or 1 for _, c in columns)} features but the "
            f"data has {width}. Received: columns={[name for name, _ in columns]}"
        )

    def listed(array: np.ndarray | None) -> list[float] | None:
        return None if array is None else [float(v) for v in np.asarray(array).reshape(-1)]

    return {
        "task": dataset.task,
        "class_names": list(dataset.class_names),
        "input_shape": list(dataset.input_shape),
        "scale": float(dataset.scale),
        "columns": columns,
        "feature_mean": listed(dataset.feature_mean),
        "feature_std": listed(dataset.feature_std),
    }


# The functions below are embedded, as source, in the exported training script (`SCRIPT_CODE`):
# they use only NumPy and Keras.
def build_serving(model, spec):
    """`model` behind the preprocessing `spec` describes (a dict: `serving_spec`'s keys), with
    probabilities and class names out for a classifier, the prediction for a regression."""
    import keras

    names = _LayerNames(["tapeboard_serving", "probabilities", "class_names", model.name])
    if spec["columns"]:
        inputs, x = _column_inputs(spec["columns"], names)
    else:
        inputs = x = keras.Input(shape=tuple(spec["input_shape"]), name=names.take("inputs"))
    if spec["scale"] != 1.0:  # images held as integers: the pixels as the model saw them
        x = keras.layers.Rescaling(spec["scale"], name=names.take("scale"))(x)
    if spec["feature_mean"] is not None:  # the CSV's z-scores (one-hot columns: mean 0, std 1)
        mean = np.asarray(spec["feature_mean"], dtype=np.float64)
        std = np.asarray(spec["feature_std"], dtype=np.float64)
        x = keras.layers.Normalization(
            mean=mean, variance=np.square(std), name=names.take("standardize")
        )(x)
    outputs = model(x)
    if spec["task"] == "regression":  # the model's "target_units" layer un-scales the target
        outputs = {"prediction": outputs}
    else:
        probabilities = keras.layers.Softmax(name="probabilities")(outputs)
        class_names = keras.layers.StringLookup(
            vocabulary=[str(name) for name in spec["class_names"]],
            invert=True,
            num_oov_indices=0,
            name="class_names",
        )
        best = keras.ops.argmax(probabilities, axis=-1)
        outputs = {"class": class_names(best), "probabilities": probabilities}
    return keras.Model(inputs=inputs, outputs=outputs, name="tapeboard_serving")


def _column_inputs(columns, names):
    """One input per CSV column, keyed by its name, and the features they encode to: a number
    as it is (standardized next), text one-hot over its categories (anything else: zeros)."""
    import keras

    inputs, blocks = {}, []
    for column, categories in columns:
        # A layer's name cannot hold "/": such a column's input has another name, same key.
        name = names.take(column.replace("/", "_"))
        if not categories:
            inputs[column] = keras.Input(shape=(1,), dtype="float32", name=name)
            blocks.append(inputs[column])
            continue
        inputs[column] = keras.Input(shape=(1,), dtype="string", name=name)
        k = len(categories)
        # Index 0 of the lookup is every value outside the categories; cropped off, such a
        # value encodes as all zeros, as an empty cell did in training.
        x = keras.layers.StringLookup(
            vocabulary=list(categories),
            num_oov_indices=1,
            output_mode="one_hot",
            name=names.take(f"{name}.lookup"),
        )(inputs[column])
        x = keras.layers.Reshape((k + 1, 1), name=names.take(f"{name}.columns"))(x)
        x = keras.layers.Cropping1D((1, 0), name=names.take(f"{name}.known"))(x)
        blocks.append(keras.layers.Reshape((k,), name=names.take(f"{name}.one_hot"))(x))
    if len(blocks) == 1:
        return inputs, blocks[0]
    return inputs, keras.layers.Concatenate(name=names.take("features"))(blocks)


class _LayerNames:
    """Layer names that are unique in a model (Keras requires it), the wanted one when free."""

    def __init__(self, reserved):
        self.taken = set(reserved)

    def take(self, wanted):
        name, n = wanted, 1
        while name in self.taken:
            n += 1
            name = f"{wanted}_{n}"
        self.taken.add(name)
        return name


# What the exported training script embeds, as source, to save the same kind of model.
SCRIPT_CODE = (build_serving, _column_inputs, _LayerNames)
