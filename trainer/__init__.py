"""Tapeboard's training engine: the Keras guide's GradientTape loop as a fast generator.

Pure TensorFlow / NumPy / pandas: nothing here imports Streamlit or Altair, so the same engine
serves the dashboard, the CLI (`python -m trainer`), notebooks and tests.

    import trainer
    config = trainer.RunConfig(dataset="digits", epochs=2)
    for event in trainer.train(config):
        if isinstance(event, trainer.BatchEnd):
            print(event.step, event.loss)
"""

from trainer.config import RunConfig
from trainer.data import Dataset, split_validation
from trainer.datasets import DATASETS, DatasetInfo, dataset_for, load_dataset
from trainer.events import STOP, BatchEnd, EpochEnd, Event, TrainingEnd
from trainer.history import History
from trainer.loop import train
from trainer.model import build_model, learning_rate_curve, make_optimizer

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
    "TrainingEnd",
    "build_model",
    "dataset_for",
    "learning_rate_curve",
    "load_dataset",
    "make_optimizer",
    "split_validation",
    "train",
]
