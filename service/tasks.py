"""Work that needs TensorFlow, done in a worker process on the web server's behalf.

The web server never imports TensorFlow: an import takes seconds of the GIL that every visitor
would feel, and Streamlit clears a loaded Keras' session (a full garbage collection over
TensorFlow's objects) after every script run, which made each live redraw cost ~100 ms. So the
Evaluate page's predictions and the dataset downloads are calls to these functions, run by the
service's task worker (`RunService.call`). Arguments and results are plain data: a model travels
as `(key, .keras bytes)`, data as `(config dict, trainer.Dataset or None)` (None: the registry
set the config names, loaded here).
"""

from __future__ import annotations

import functools
import json
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

ModelRef = tuple[Any, bytes]  # (a key that changes whenever the bytes do, the .keras file)
DataRef = tuple[dict, Any]  # (RunConfig.to_dict(), a trainer.Dataset or None)

_models: OrderedDict[Any, Any] = OrderedDict()
MODELS_KEPT = 4


def load_model(ref: ModelRef) -> Any:
    """The keras.Model of `ref`, loaded once per key (the few newest are kept)."""
    key, data = ref
    if key in _models:
        _models.move_to_end(key)
        return _models[key]
    import keras

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        path.write_bytes(data)
        model = keras.saving.load_model(path, compile=False)
    _models[key] = model
    while len(_models) > MODELS_KEPT:
        _models.popitem(last=False)
    return model


def dataset(ref: DataRef) -> Any:
    """The data as the run trained on it: validation split held out."""
    config, given = ref
    if given is not None:
        return given
    return _registry_split(json.dumps(config, sort_keys=True))


@functools.lru_cache(maxsize=4)
def _registry_split(config_json: str) -> Any:
    import trainer
    from trainer.data import split_validation

    config = trainer.RunConfig.from_json(config_json)
    return split_validation(trainer.dataset_for(config), config.validation_split, config.seed)


# -- the calls -------------------------------------------------------------------------------------
def classify(model: ModelRef, data: DataRef) -> Any:
    from trainer.evaluate import classify

    return classify(load_model(model), dataset(data))


def regression_frame(model: ModelRef, data: DataRef) -> Any:
    from trainer.evaluate import regression_frame

    return regression_frame(load_model(model), dataset(data))


def decision_values(model: ModelRef, data: DataRef, resolution: int) -> Any:
    from trainer.evaluate import decision_values, grid_axes

    ds = dataset(data)
    return decision_values(load_model(model), ds, grid_axes(ds, resolution=resolution))


def predict(model: ModelRef, x: Any, scale: float) -> Any:
    from trainer.evaluate import predict

    return predict(load_model(model), x, scale)


def serving_model(model: ModelRef, data: DataRef) -> bytes:
    """The run's model to take away, as `.keras` bytes: its trained model behind the
    preprocessing of its data, so that it takes raw rows and gives class names and probabilities
    (or the prediction): `trainer.serving`. The run's own model bytes stay as they are (the
    Evaluate page feeds that one the data as the engine prepared it)."""
    from trainer.serving import serving_model

    wrapped = serving_model(load_model(model), dataset(data))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        wrapped.save(path)
        return path.read_bytes()


def download(name: str, cache_dir: str, origin: str) -> None:
    """Fill the Keras download cache for a registry set (a ValueError, in words, offline)."""
    from trainer.datasets import download

    download(name, cache_dir, origin)


def tensorboard_zip(runs: list[tuple[str, dict, Any, Any, list[dict]]]) -> bytes:
    """Runs as one TensorBoard log folder, zipped: a subfolder per run (name, config, steps,
    losses, epoch rows). Unzip and `tensorboard --logdir` it."""
    import io
    import zipfile

    import trainer
    from trainer.tensorboard import write_run

    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(buffer, "w") as archive:
        for name, config, steps, losses, epochs in runs:
            logdir = Path(folder) / "tapeboard-runs" / name.replace(" ", "-")
            write_run(logdir, trainer.RunConfig.from_dict(config), steps, losses, epochs, name)
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


CALLS = {
    f.__name__: f
    for f in (
        classify,
        regression_frame,
        decision_values,
        predict,
        serving_model,
        download,
        tensorboard_zip,
    )
}
