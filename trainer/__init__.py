"""Tapeboard's training engine: the Keras guide's GradientTape loop as a fast generator.

Pure TensorFlow / NumPy / pandas: nothing here imports Streamlit or Altair, so the same engine
serves the dashboard, the CLI (`python -m trainer`), notebooks and tests.

    import trainer
    config = trainer.RunConfig(dataset="digits", epochs=2)
    for event in trainer.train(config):
        if isinstance(event, trainer.BatchEnd):
            print(event.step, event.loss)
"""

import importlib
from typing import TYPE_CHECKING

# Lazy exports (PEP 562): `trainer.RunConfig` or `trainer.DATASETS` must not import TensorFlow,
# so the dashboard's first paint stays fast; `trainer.train` loads it on first use.
_EXPORTS = {
    "RunConfig": "trainer.config",
    "Dataset": "trainer.data",
    "split_validation": "trainer.data",
    "DATASETS": "trainer.datasets",
    "DatasetInfo": "trainer.datasets",
    "dataset_for": "trainer.datasets",
    "load_dataset": "trainer.datasets",
    "STOP": "trainer.events",
    "BatchEnd": "trainer.events",
    "EpochEnd": "trainer.events",
    "Event": "trainer.events",
    "TrainingEnd": "trainer.events",
    "History": "trainer.history",
    "train": "trainer.loop",
    "prepare": "trainer.loop",
    "Training": "trainer.loop",
    "steps_per_epoch": "trainer.budget",
    "build_model": "trainer.model",
    "learning_rate_curve": "trainer.model",
    "make_optimizer": "trainer.model",
    "export_script": "trainer.export",
    "export_arrays": "trainer.export",
    "serving_model": "trainer.serving",
}

if TYPE_CHECKING:
    from trainer.budget import steps_per_epoch
    from trainer.config import RunConfig
    from trainer.data import Dataset, split_validation
    from trainer.datasets import DATASETS, DatasetInfo, dataset_for, load_dataset
    from trainer.events import STOP, BatchEnd, EpochEnd, Event, TrainingEnd
    from trainer.export import export_arrays, export_script
    from trainer.history import History
    from trainer.loop import Training, prepare, train
    from trainer.model import build_model, learning_rate_curve, make_optimizer
    from trainer.serving import serving_model


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'trainer' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = [
    "DATASETS",
    "STOP",
    "BatchEnd",
    "Dataset",
    "DatasetInfo",
    "EpochEnd",
    "Event",
    "History",
    "RunConfig",
    "Training",
    "TrainingEnd",
    "build_model",
    "export_arrays",
    "export_script",
    "dataset_for",
    "learning_rate_curve",
    "load_dataset",
    "make_optimizer",
    "prepare",
    "serving_model",
    "split_validation",
    "steps_per_epoch",
    "train",
]
