"""`export_script(config)`: the run as a standalone script in the Keras guide's own shape.

The script imports only TensorFlow/Keras, NumPy and the dataset's own loader (scikit-learn for
digits, keras.datasets for MNIST; the Playground generators are embedded as source). It builds
the same tf.data pipeline, functional model, optimizer and loss, and runs the guide's
GradientTape loop under `tf.function` with logging every `log_every` batches and a validation
loop. Run with the same seed, it reproduces the dashboard's per-batch losses within 1e-4:
`tests/unit/test_export.py` runs it in a subprocess and compares. At the end it saves the model
to take away, as the dashboard's download and the CLI do: raw rows in, class names and
probabilities (or the prediction) out (`trainer.serving`, whose builder it embeds as source).

Nothing here is written per dataset, optimizer or schedule: the data lines come from the
dataset's registry entry (`trainer.datasets.DATASETS`), the optimizer and its learning rate from
their tables (`trainer.optimizers`, `trainer.schedules`), the same entries the engine builds.
"""

from __future__ import annotations

import inspect
import io
import json
import textwrap

import numpy as np

from trainer import playground, serving
from trainer.config import RunConfig
from trainer.data import Dataset
from trainer.datasets import DATASETS, DatasetInfo
from trainer.features import FEATURES, RAW, feature_layer_type, label
from trainer.optimizers import optimizer_spec
from trainer.schedules import schedule_spec


def export_script(config: RunConfig) -> str:
    """Python source of a standalone training script for `config`.

    For a CSV (or any caller-given data: `config.dataset` not in the registry) the script reads
    the arrays from an `.npz` file made by `export_arrays(dataset)`, passed as `--data`.
    """
    if not isinstance(config, RunConfig):
        raise ValueError(f"config must be a trainer.RunConfig. Received: config={config!r}")
    parts = [
        _header(config),
        _load_section(config),
        _SPLIT,
        _pipeline_section(config),
        _model_section(config),
        _loop_section(config),
        _serving_section(),
    ]
    return "\n\n".join(textwrap.dedent(p).strip("\n") for p in parts) + "\n"


def export_arrays(dataset: Dataset) -> bytes:
    """The dataset's arrays as `.npz` bytes (no pickle), for an exported CSV script's `--data`,
    with what the script's saved model needs to take raw rows (`trainer.serving.serving_spec`,
    as JSON text in "serving")."""
    arrays = {"x_train": dataset.x_train, "y_train": dataset.y_train}
    if dataset.x_val is not None:
        arrays.update(x_val=dataset.x_val, y_val=dataset.y_val)
    arrays["scale"] = np.float64(dataset.scale)
    spec = json.dumps(serving.serving_spec(dataset)).encode()
    arrays["serving"] = np.frombuffer(spec, dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _header(config: RunConfig) -> str:
    # The settings as a link spells them (learning_rate=0.1), not as quoted strings.
    summary = ", ".join(f"{k}={v}" for k, v in config.to_params().items()) or "the defaults"
    return f'''
        """Tapeboard run, exported as a standalone script: {config.dataset}, {summary}.

        The training loop of the Keras guide "Writing a training loop from scratch": forward pass
        and loss inside tf.GradientTape, gradient and apply_gradients outside, compiled with
        tf.function. With the same seed it reproduces the dashboard's per-batch losses.

            python this_script.py [--losses-out losses.csv] [--model-out model.keras]{" --data data.npz" if _is_csv(config) else ""}

        It saves the trained model to take away: raw inputs in, class names and probabilities
        (or the prediction, in the target's units) out.
        """

        import argparse
        import json

        import keras
        import numpy as np
        import tensorflow as tf

        SEED = {config.seed}
        EPOCHS = {config.epochs}
        BATCH_SIZE = {config.batch_size}
        LOG_EVERY = {config.log_every}
        VALIDATION_SPLIT = {config.validation_split!r}

        parser = argparse.ArgumentParser()
        parser.add_argument("--losses-out", help="write every batch's loss to this CSV file")
        parser.add_argument("--model-out", default="model.keras", help="where to save the model")
        {'parser.add_argument("--data", required=True, help=".npz with x_train, y_train")' if _is_csv(config) else ""}
        args = parser.parse_args()
        keras.utils.set_random_seed(SEED)
    '''


def _is_csv(config: RunConfig) -> bool:
    return config.dataset not in DATASETS


def _load_section(config: RunConfig) -> str:
    """The script's data lines, as the registry entry declares them (CSV: from `--data`)."""
    info = DATASETS.get(config.dataset)
    if info is None:
        return _CSV_LOAD
    if info.generator is not None:
        code = _points_code(info, config)
    elif info.export_code:
        code = textwrap.dedent(info.export_code).strip("\n")
    else:
        raise ValueError(
            f"DATASETS[{info.name!r}] declares neither a generator nor export_code, so a script "
            f"cannot load it. Received: dataset={config.dataset!r}"
        )
    return f"{code}\nTASK = {info.task!r}\nSPEC = None  # the data as loaded: see the end\n"


def _points_code(info: DatasetInfo, config: RunConfig) -> str:
    """The Playground module's source, the entry's generator (when defined elsewhere), and the
    call that draws the run's points."""
    generator = info.generator
    source = _playground_source()
    if generator.__module__ != playground.__name__:
        source += "\n\n\n" + textwrap.dedent(inspect.getsource(generator)).strip()
    return (
        "# Data: the TensorFlow Playground generators (ported from its dataset.ts).\n"
        + source
        + f"""


x_all, y_all = make_points({generator.__name__}, {info.task!r}, num_samples={config.num_samples}, noise={config.noise!r}, seed=SEED)
x_val = y_val = None
SCALE = 1.0"""
    )


_CSV_LOAD = """
    # Data: the arrays the dashboard trained on (Runs page: "data.npz"), no pickle.
    with np.load(args.data, allow_pickle=False) as saved:
        x_all, y_all = saved["x_train"], saved["y_train"]
        x_val = saved["x_val"] if "x_val" in saved else None
        y_val = saved["y_val"] if "y_val" in saved else None
        SCALE = float(saved["scale"])
        # How the CSV's raw columns become the features above: the saved model does it.
        SPEC = json.loads(bytes(saved["serving"]).decode()) if "serving" in saved else None
    TASK = "regression" if y_all.dtype.kind == "f" else "classification"
    CLASS_NAMES = SPEC["class_names"] if SPEC else []
"""


def _playground_source() -> str:
    """The generator module's own source minus its docstring and `__future__` import."""
    lines = inspect.getsource(playground).splitlines()
    body = "\n".join(line for line in lines if not line.startswith("from __future__"))
    doc = inspect.getdoc(playground) or ""
    return body.replace(f'"""{doc}"""', "", 1).strip() if doc in body else body


_SPLIT = '''
    def split_validation(x, y, fraction, seed, stratify):
        """Hold out round(fraction * n) samples (stratified by class), both parts in order."""
        n = len(x)
        n_val = min(max(round(fraction * n), 1), n - 1)
        rng = np.random.default_rng(seed)
        if stratify:
            classes, counts = np.unique(y, return_counts=True)
            take, remainder = np.divmod(counts * n_val, n)
            take[np.argsort(-remainder, kind="stable")[: n_val - int(take.sum())]] += 1
            picked = [rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take)]
            val_index = np.sort(np.concatenate(picked))
        else:
            val_index = np.sort(rng.permutation(n)[:n_val])
        is_val = np.zeros(n, dtype=bool)
        is_val[val_index] = True
        return x[~is_val], y[~is_val], x[is_val], y[is_val]


    if x_val is None and VALIDATION_SPLIT > 0:
        x_train, y_train, x_val, y_val = split_validation(
            x_all, y_all, VALIDATION_SPLIT, SEED, stratify=TASK == "classification"
        )
    else:
        x_train, y_train = x_all, y_all
'''


def _pipeline_section(config: RunConfig) -> str:
    shuffle = f".shuffle(buffer_size={config.shuffle_buffer}, seed=SEED)" if config.shuffle else ""
    return f"""
        # Pipeline: as the guide's, with the uint8 -> float32 scaling done in the pipeline.
        def prepare(x, y):
            x = tf.cast(x, tf.float32) * SCALE
            if TASK == "regression":
                y = tf.reshape(tf.cast(y, tf.float32), (-1, 1))
            return x, y


        train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train))
        train_dataset = train_dataset{shuffle}.batch(BATCH_SIZE).map(prepare)
        val_dataset = None
        if x_val is not None and len(x_val):
            val_dataset = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(1024).map(prepare)
    """


def _model_section(config: RunConfig) -> str:
    # trainer.model.kernel_regularizer, written out.
    regularizer = (
        f"keras.regularizers.L1L2(l1={config.l1!r}, l2={config.l2!r})"
        if config.l1 or config.l2
        else "None"
    )
    layers = _features_code(config)
    for i, units in enumerate(config.hidden_units, start=1):
        layers.append(
            f'x = keras.layers.Dense({units}, activation="{config.activation}", '
            f'kernel_regularizer={regularizer}, name="dense_{i}")(x)'
        )
        if config.dropout > 0:
            layers.append(
                f"x = keras.layers.Dropout({config.dropout!r}, seed={config.seed + i}, "
                f'name="dropout_{i}")(x)'
            )
    body = "\n".join(layers)
    return f"""
        # Model: the guide's functional MLP; a linear output layer (logits). A regression learns
        # the standardized target: its output layer starts at zero (a new model predicts the
        # mean) and a fixed Rescaling maps its output back to the target's units.
        keras.utils.set_random_seed(SEED)  # the same initial weights as the dashboard's run
        input_shape = x_train.shape[1:]
        num_outputs = 1 if TASK == "regression" else int(max(y_train.max(), y_val.max() if y_val is not None else 0)) + 1
        inputs = keras.Input(shape=input_shape, name="inputs")
        x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
{textwrap.indent(body, " " * 8)}
        outputs = keras.layers.Dense(
            num_outputs,
            kernel_initializer="zeros" if TASK == "regression" else "glorot_uniform",
            kernel_regularizer={regularizer},
            name="predictions",
        )(x)
        if TASK == "regression":
            y = y_train.astype(np.float64)
            TARGET_STD = float(y.std()) or 1.0
            outputs = keras.layers.Rescaling(TARGET_STD, offset=float(y.mean()), name="target_units")(outputs)
        model = keras.Model(inputs=inputs, outputs=outputs, name="tapeboard_mlp")

        optimizer = {_optimizer_code(config)}
        LOSS_UNIT = 1.0  # losses are shown times this: a regression's in the target's units
        if TASK == "regression":
            def loss_fn(y, prediction):
                # The standardized target's squared error: the gradients of a model trained on
                # (y - mean) / std, whatever the target's units.
                return tf.reduce_mean(tf.square((prediction - y) / TARGET_STD))

            LOSS_UNIT = TARGET_STD**2  # the mean squared error in the target's units
            train_metric, val_metric = keras.metrics.MeanAbsoluteError(), keras.metrics.MeanAbsoluteError()
        else:
            loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            train_metric = keras.metrics.SparseCategoricalAccuracy()
            val_metric = keras.metrics.SparseCategoricalAccuracy()
    """


def _features_code(config: RunConfig) -> list[str]:
    """trainer.features.feature_layer, written out for the chosen features."""
    if config.features == RAW:
        return []
    columns = [FEATURES[name][1] for name in config.features]
    kind = feature_layer_type(config.features)
    taken = f"[{', '.join(columns)}]" if kind == "Concatenate" else columns[0]
    labels = ", ".join(label(name) for name in config.features)
    return [
        f"# TensorFlow Playground's input features, computed in the model: {labels}",
        "x1, x2 = x[:, 0:1], x[:, 1:2]",
        f'x = keras.layers.{kind}(name="features")({taken})',
    ]


def _optimizer_code(config: RunConfig) -> str:
    # The same table entries trainer.model builds from: one source for both.
    learning_rate = schedule_spec(config.lr_schedule).code(config)
    return optimizer_spec(config.optimizer).code(learning_rate)


def _loop_section(config: RunConfig) -> str:
    return """
        # The training loop: the guide's, with tf.function on the step.
        @tf.function
        def train_step(x, y):
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                loss_value = loss_fn(y, logits)
                # Add any extra losses created during the forward pass (the L2 penalties).
                if model.losses:
                    loss_value += tf.add_n(model.losses)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            train_metric.update_state(y, logits)
            return loss_value


        @tf.function
        def test_step(x, y):
            val_logits = model(x, training=False)
            val_metric.update_state(y, val_logits)


        losses = []
        seen = 0
        for epoch in range(EPOCHS):
            print(f"\\nStart of epoch {epoch}")
            for step, (x_batch_train, y_batch_train) in enumerate(train_dataset):
                loss_value = float(train_step(x_batch_train, y_batch_train)) * LOSS_UNIT
                losses.append(loss_value)
                seen += len(x_batch_train)
                if not np.isfinite(loss_value):
                    raise SystemExit(f"Loss became {loss_value} at step {step}: stopping.")
                if step % LOG_EVERY == 0:
                    print(f"Training loss (for 1 batch) at step {step}: {loss_value:.4f}")
                    print(f"Seen so far: {seen} samples")
            print(f"Training metric over epoch: {float(train_metric.result()):.4f}")
            train_metric.reset_state()
            if val_dataset is not None:
                for x_batch_val, y_batch_val in val_dataset:
                    test_step(x_batch_val, y_batch_val)
                print(f"Validation metric: {float(val_metric.result()):.4f}")
                val_metric.reset_state()

        if args.losses_out:
            np.savetxt(args.losses_out, np.array(losses), header="loss", comments="")
    """


def _serving_section() -> str:
    source = "\n\n\n".join(
        textwrap.dedent(inspect.getsource(f)).strip() for f in serving.SCRIPT_CODE
    )
    return (
        "# The model to take away: raw inputs in (a CSV's columns by name, else the arrays as\n"
        "# loaded), class names and probabilities out (a regression: the prediction), as the\n"
        "# dashboard's download. Built by trainer/serving.py's code:\n"
        + source
        + """


if SPEC is None:  # no CSV: only the scaling of integer pixels to undo
    SPEC = {
        "task": TASK,
        "class_names": (list(CLASS_NAMES) or [str(i) for i in range(num_outputs)])
        if TASK == "classification"
        else [],
        "input_shape": list(x_train.shape[1:]),
        "scale": SCALE,
        "columns": [],
        "feature_mean": None,
        "feature_std": None,
    }
build_serving(model, SPEC).save(args.model_out)
print(f"Saved {args.model_out}: keras.saving.load_model it and call it on raw inputs.")"""
    )
