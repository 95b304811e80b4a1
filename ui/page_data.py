"""Getting the data a config names: registry sets through a process-wide cache, an uploaded CSV
from this session only. Plus small pure helpers that turn a Dataset into things to draw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import trainer.datasets
from trainer.config import RunConfig
from trainer.data import Dataset, split_validation
from trainer.datasets import DATASETS, datasets_dir, is_cached, load_dataset
from ui import state


@st.cache_resource(show_spinner="Loading the dataset...", max_entries=16)
def _load_registry(name: str, noise: float, num_samples: int, seed: int) -> Dataset:
    # cache_resource, not cache_data: the arrays are shared read-only (no copy per session).
    return load_dataset(name, noise=noise, num_samples=num_samples, seed=seed)


def load_registry(name: str, noise: float = 0.0, num_samples: int = 500, seed: int = 0) -> Dataset:
    """A registry dataset; only the Playground sets depend on noise / size / seed, so the image
    sets share one cache entry whatever those are. Raises ValueError (e.g. offline download)."""
    info = DATASETS.get(name)
    if info is not None and info.kind != "points":
        noise, num_samples, seed = 0.0, 500, 0
    if info is not None and not is_cached(name):
        # Keras downloads it, in the run service's task worker: this process never imports
        # TensorFlow. A ValueError (offline) says where to put the files.
        with st.spinner(f"Downloading {info.title}..."):
            origin = trainer.datasets.ORIGIN  # read at call time: a test points it at loopback
            state.service().call("download", name, str(datasets_dir()), origin)
    return _load_registry(name, float(noise), int(num_samples), int(seed))


def dataset_for(config: RunConfig) -> Dataset:
    """The data `config` trains on. Raises ValueError with a message for people."""
    if config.dataset == "csv":
        upload = state.csv_upload()
        if upload is None:
            raise ValueError("This config uses an uploaded CSV: upload it on the Data page.")
        return upload.dataset
    return load_registry(config.dataset, config.noise, config.num_samples, config.seed)


def has_two_features(draft: dict) -> bool:
    """Whether the draft's data is points in the plane (a TensorFlow Playground set, a
    two-column CSV), known without loading it: the data TensorFlow Playground's input
    features apply to."""
    if draft["dataset"] == "csv":
        upload = state.csv_upload()
        return upload is not None and upload.dataset.is_2d
    info = DATASETS.get(draft["dataset"])
    return info is not None and info.kind == "points"


def with_validation(dataset: Dataset, config: RunConfig) -> Dataset:
    """The dataset as training will see it: the config's validation split held out. For a
    registry set the split is shared: every run on the same data holds the same arrays (a
    server keeps hundreds of runs, and a 100,000-point set split anew is 1 MB a run)."""
    if config.dataset == "csv":
        return split_validation(dataset, config.validation_split, config.seed)
    noise, num_samples = config.noise, config.num_samples
    if DATASETS[config.dataset].kind != "points":  # only the Playground sets use these
        noise, num_samples = 0.0, 500
    return _registry_split(config.dataset, noise, num_samples, config.seed, config.validation_split)


def data_at_hand(config: RunConfig) -> Dataset | None:
    """The data as `config` trains on it, if loading it downloads nothing; else None (data to
    download, an upload missing, a bad CSV: pressing Train says why). The pages check a run's
    size against the server's limits on it before Train is pressed."""
    if not is_cached(config.dataset):
        return None
    try:
        return with_validation(dataset_for(config), config)
    except ValueError:
        return None


@st.cache_resource(max_entries=16, show_spinner=False)
def _registry_split(
    name: str, noise: float, num_samples: int, seed: int, fraction: float
) -> Dataset:
    return split_validation(load_registry(name, noise, num_samples, seed), fraction, seed)


def class_counts_frame(dataset: Dataset) -> pd.DataFrame:
    """Tidy counts per class and split (columns class, split, count)."""
    rows = [
        {"class": name, "split": split_name, "count": count}
        for split, split_name in (("train", "train"), ("val", "validation"))
        for name, count in dataset.class_counts(split).items()
    ]
    return pd.DataFrame(rows, columns=["class", "split", "count"])


def points_frame(dataset: Dataset, max_points: int = 2000, seed: int = 0) -> pd.DataFrame:
    """2-D points of both splits (columns x1, x2, label, split); a seeded sample of at most
    `max_points` rows, so a 100,000-point set does not ship 100,000 marks to the browser."""
    parts = []
    splits = (
        ("train", dataset.x_train, dataset.y_train),
        ("validation", dataset.x_val, dataset.y_val),
    )
    for split, x, y in splits:
        if x is None:
            continue
        x = np.asarray(x, dtype=np.float64) * dataset.scale
        if dataset.task == "classification":
            labels = np.asarray(dataset.class_names, dtype=object)[np.asarray(y)]
        else:
            labels = np.asarray(y, dtype=np.float64)
        parts.append(pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "label": labels, "split": split}))
    if not parts:
        return pd.DataFrame(columns=["x1", "x2", "label", "split"])
    frame = pd.concat(parts, ignore_index=True)
    if len(frame) > max_points:
        frame = frame.sample(n=max_points, random_state=seed).sort_index()
    return frame


def target_domain(dataset: Dataset) -> tuple[float, float, float]:
    """A regression target's (lowest, mean, highest) over both splits: the stops of its colour
    scale wherever it is drawn (`ui.data_charts.target_scale`); the Playground's (-1, 0, 1) for
    classification, where it is not used."""
    from ui.data_charts import target_range

    if dataset.task != "regression":
        return (-1.0, 0.0, 1.0)
    parts = [np.asarray(y, dtype=np.float64).ravel() for y in (dataset.y_train, dataset.y_val)
             if y is not None]  # fmt: skip
    return target_range(np.concatenate(parts) if parts else np.zeros(0))


def image_samples(
    dataset: Dataset, count: int = 24, size: int = 84
) -> tuple[list[np.ndarray], list[str]]:
    """The first `count` training images as uint8 grey-scale arrays upscaled (nearest) to about
    `size` pixels, with their class names as captions."""
    images, captions = [], []
    n = min(count, dataset.num_train)
    for i in range(n):
        pixels = np.asarray(dataset.x_train[i], dtype=np.float64) * dataset.scale
        if pixels.ndim == 3 and pixels.shape[-1] == 1:
            pixels = pixels[..., 0]
        if pixels.ndim != 2:
            break
        grey = np.clip(pixels * 255.0, 0, 255).astype(np.uint8)
        factor = max(1, size // max(grey.shape))
        images.append(np.kron(grey, np.ones((factor, factor), dtype=np.uint8)))
        label = int(dataset.y_train[i])
        captions.append(dataset.class_names[label] if dataset.class_names else str(label))
    return images, captions
