"""The registry of built-in datasets, and loading one by name (`load_dataset`, `dataset_for`).

`digits` (the default) ships with scikit-learn: offline and instant. `mnist` and
`fashion_mnist` come from the Keras download cache (downloaded once when missing), and the
TensorFlow Playground's 2-D sets are generated from a seed (`trainer.playground`). CSV data is
not in the registry: the caller builds it with `Dataset.from_csv` and passes it in.

`DATASETS` is the one place a built-in set is declared: its title, task, description, and how
the exported script loads it (`trainer.export` reads the entry). A Playground set is one
`playground_set(...)` entry naming its generator.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import numbers
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainer import playground
from trainer.data import Dataset


@dataclass(frozen=True)
class DatasetInfo:
    """A registry entry: what the dashboard shows before loading it, and how the exported
    script loads it. The one place a built-in dataset is declared."""

    name: str
    title: str
    task: str  # "classification" | "regression"
    kind: str  # "image" | "points" | "table"
    description: str
    needs_download: bool  # False: works offline
    # Playground sets: draws the points (`trainer.playground`); the exported script embeds it.
    generator: playground.Generator | None = None
    # Other sets: the exported script's lines that set x_all, y_all, x_val, y_val, SCALE and
    # CLASS_NAMES (the Playground module the script embeds sets its own CLASS_NAMES).
    export_code: str = ""


def playground_set(
    name: str, title: str, task: str, description: str, generator: playground.Generator
) -> DatasetInfo:
    """A registry entry for TensorFlow Playground-style 2-D points drawn by `generator`."""
    return DatasetInfo(
        name, title, task, "points", description, needs_download=False, generator=generator
    )


FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DIGIT_CLASSES = tuple(str(i) for i in range(10))


def _keras_images_code(name: str, class_names: tuple[str, ...]) -> str:
    return f"""
        # Data: keras.datasets (downloaded once, cached); the test split validates.
        (x_all, y_all), (x_val, y_val) = keras.datasets.{name}.load_data()
        y_all, y_val = y_all.astype(np.int32), y_val.astype(np.int32)
        SCALE = 1 / 255
        CLASS_NAMES = {list(class_names)!r}
    """


_DIGITS_CODE = """
    # Data: scikit-learn's handwritten digits (8x8, values 0-16), kept uint8.
    from sklearn.datasets import load_digits

    digits = load_digits()
    x_all, y_all = digits.images.astype(np.uint8), digits.target.astype(np.int32)
    x_val = y_val = None
    SCALE = 1 / 16
    CLASS_NAMES = [str(i) for i in range(10)]
"""

DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "digits",
            "Digits (8x8)",
            "classification",
            "image",
            "1,797 handwritten digits, 8x8 pixels, from scikit-learn. Offline and instant.",
            needs_download=False,
            export_code=_DIGITS_CODE,
        ),
        DatasetInfo(
            "mnist",
            "MNIST",
            "classification",
            "image",
            "70,000 handwritten digits, 28x28 pixels (60,000 train, 10,000 test).",
            needs_download=True,
            export_code=_keras_images_code("mnist", DIGIT_CLASSES),
        ),
        DatasetInfo(
            "fashion_mnist",
            "Fashion-MNIST",
            "classification",
            "image",
            "70,000 clothing images in 10 classes, 28x28 pixels (60,000 train, 10,000 test).",
            needs_download=True,
            export_code=_keras_images_code("fashion_mnist", FASHION_CLASSES),
        ),
        playground_set(
            "circle",
            "Circle",
            "classification",
            "Playground: a disc inside a ring.",
            playground.classify_circle,
        ),
        playground_set(
            "xor",
            "Exclusive or",
            "classification",
            "Playground: opposite quadrants match.",
            playground.classify_xor,
        ),
        playground_set(
            "gauss",
            "Gaussian",
            "classification",
            "Playground: two gaussian blobs.",
            playground.classify_two_gauss,
        ),
        playground_set(
            "spiral",
            "Spiral",
            "classification",
            "Playground: two interleaved spirals.",
            playground.classify_spiral,
        ),
        playground_set(
            "plane",
            "Plane",
            "regression",
            "Playground: a tilted plane, (x1 + x2) / 10.",
            playground.regress_plane,
        ),
        playground_set(
            "multi_gauss",
            "Multi Gaussian",
            "regression",
            "Playground: six signed gaussian bumps.",
            playground.regress_gaussian,
        ),
    )
}

# Where Keras downloads from, and the files its loaders cache, relative to the datasets folder
# (`~/.keras/datasets` or `$KERAS_HOME/datasets`). Hashes as in keras.datasets (fashion has none).
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CACHE_FILES = {
    "mnist": ("mnist.npz",),
    "fashion_mnist": tuple(
        f"fashion-mnist/{f}"
        for f in (
            "train-labels-idx1-ubyte.gz",
            "train-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
        )
    ),
}
FILE_HASHES = {"mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"}

MAX_SAMPLES = 1_000_000


def load_dataset(
    name: str,
    *,
    noise: float = 0.0,
    num_samples: int = 500,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> Dataset:
    """A fresh `Dataset` for the registry entry `name` (see `DATASETS`).

    `noise` (percent, 0-50), `num_samples` and `seed` shape the Playground sets and are ignored
    by the image sets. `cache_dir` is the folder holding Keras' downloads (`mnist.npz`,
    `fashion-mnist/`); by default `$KERAS_HOME/datasets` or `~/.keras/datasets`.
    """
    _check_name(name)
    info = DATASETS[name]
    if info.generator is not None:
        _check_playground_args(noise, num_samples, seed)
        return _load_points(info, noise, num_samples, seed)
    if name in CACHE_FILES:
        return _load_keras_images(name, _datasets_dir(cache_dir))
    if name == "digits":
        return _load_digits()
    raise ValueError(f"DATASETS[{name!r}] has no loader in trainer.datasets. Received: {name=}")


def dataset_for(config: Any) -> Dataset:
    """The registry dataset a `RunConfig` names, generated with its noise, size and seed."""
    return load_dataset(
        config.dataset, noise=config.noise, num_samples=config.num_samples, seed=config.seed
    )


def is_cached(name: str, cache_dir: str | os.PathLike | None = None) -> bool:
    """True when loading `name` needs no download (always for the sets that ship or are
    generated)."""
    if name not in CACHE_FILES:
        return True
    directory = _datasets_dir(cache_dir)
    return all((directory / relative).is_file() for relative in CACHE_FILES[name])


def download(
    name: str, cache_dir: str | os.PathLike | None = None, origin: str | None = None
) -> Path:
    """Fill the Keras download cache for `name` (through `keras.utils.get_file`, with its
    hash checks); offline, a ValueError that says where to put the files. Returns the folder.
    `origin` replaces the download address (a mirror)."""
    _check_name(name)
    directory = _datasets_dir(cache_dir)
    for relative in CACHE_FILES.get(name, ()):
        _fetch(name, relative, directory, origin or ORIGIN)
    return directory


def _check_name(name: str) -> None:
    if name == "csv":
        raise ValueError(
            "A CSV run needs its data passed in: Dataset.from_csv(...), then "
            "trainer.train(config, dataset=...)."
        )
    if name not in DATASETS:
        raise ValueError(
            f"Unknown dataset {name!r}. Known datasets: {', '.join(DATASETS)} (or 'csv' with "
            "the data passed in)."
        )


def _check_playground_args(noise: float, num_samples: int, seed: int) -> None:
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not 0 <= noise <= 50:
        raise ValueError(
            "Expected `noise` to be a percentage in [0, 50] as in the TensorFlow Playground. "
            f"Received: noise={noise!r}"
        )
    if not _is_int(num_samples) or not 2 <= num_samples <= MAX_SAMPLES:
        raise ValueError(
            f"Expected `num_samples` to be an integer in [2, {MAX_SAMPLES}]. "
            f"Received: num_samples={num_samples!r}"
        )
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"Expected `seed` to be a non-negative integer. Received: seed={seed!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    # Cached arrays are shared by every Dataset handed out: nobody may change them in place.
    for array in arrays:
        array.setflags(write=False)
    return arrays


# -- digits ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits  # lazy: scikit-learn takes a while to import

    bunch = load_digits()
    return _read_only(bunch.images.astype(np.uint8), bunch.target.astype(np.int32))


def _load_digits() -> Dataset:
    x, y = _digits_arrays()
    # Pixel values are 0..16, so 1/16 maps them to [0, 1] like 1/255 does for MNIST.
    return Dataset.from_arrays(x, y, class_names=DIGIT_CLASSES, name="digits", scale=1 / 16)


# -- mnist, fashion_mnist ----------------------------------------------------------------------
def datasets_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The folder of Keras' downloads: `cache_dir`, else `$KERAS_HOME/datasets` or
    `~/.keras/datasets`."""
    return _datasets_dir(cache_dir)


def _datasets_dir(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "datasets"


def _load_keras_images(name: str, directory: Path) -> Dataset:
    paths = [directory / relative for relative in CACHE_FILES[name]]
    # Look in the cache first: Keras' get_file would re-download a file failing its hash check.
    if not all(path.is_file() for path in paths):
        paths = [_fetch(name, relative, directory, ORIGIN) for relative in CACHE_FILES[name]]
    stamp = tuple(path.stat().st_mtime_ns for path in paths)
    (x, y), (x_test, y_test) = _read_images(name, tuple(str(p) for p in paths), stamp)
    classes = FASHION_CLASSES if name == "fashion_mnist" else DIGIT_CLASSES
    return Dataset.from_arrays(x, y, x_test, y_test, class_names=classes, name=name)


def _fetch(name: str, relative: str, directory: Path, origin: str) -> Path:
    """Path of a cache file, downloading it when missing; offline, a ValueError saying how."""
    path = directory / relative
    if path.is_file():
        return path
    try:
        return Path(_download_file(relative, directory, origin))
    except Exception as err:  # get_file raises bare Exception (and URLError, OSError...)
        raise DatasetUnavailable(name, directory, err) from None


def _download_file(relative: str, directory: Path, origin: str) -> str:
    """Keras' own downloader (same URLs and hash checks as keras.datasets); returns the path."""
    from keras.utils import get_file  # lazy: importing Keras takes seconds

    # get_file falls back to /tmp/.keras when the folder is not there yet (not writable).
    directory.mkdir(parents=True, exist_ok=True)
    subdir, fname = os.path.split(relative)
    return get_file(
        fname,
        origin=origin + fname,
        file_hash=FILE_HASHES.get(fname),
        cache_dir=str(directory),
        cache_subdir=subdir or ".",
    )


class DatasetUnavailable(ValueError):
    """A dataset that has to be downloaded could not be. `str()` speaks to a Python user;
    `for_people()` to someone in a web page, who cannot pass arguments."""

    def __init__(self, name: str, directory: Path, err: Exception) -> None:
        self.name = name
        self.reason = f"{type(err).__name__}: {err}"
        self.files = [(f"{ORIGIN}{os.path.basename(f)}", directory / f) for f in CACHE_FILES[name]]
        wanted = "; ".join(f"{url} -> {path}" for url, path in self.files)
        super().__init__(
            f"The {name!r} dataset could not be downloaded ({self.reason}). Without internet, "
            f"download the file(s) elsewhere and put them here: {wanted}. (Or pass cache_dir=, "
            "or set KERAS_HOME to the folder that holds 'datasets'.) The built-in 'digits' "
            "dataset works offline."
        )

    def for_people(self) -> str:
        title = DATASETS[self.name].title
        folder = self.files[0][1].parent
        names = ", ".join(path.name for _, path in self.files)
        return (
            f"{title} has to be downloaded once, and this server could not reach the internet "
            f"to do it. Whoever runs the server can copy {names} into {folder} (the files "
            "Keras downloads). Meanwhile, Digits works without a download."
        )


@functools.lru_cache(maxsize=2)
def _read_images(name: str, paths: tuple[str, ...], stamp: tuple[int, ...]) -> tuple:
    """((x_train, y_train), (x_test, y_test)) as read-only uint8 arrays, read as Keras does.

    `stamp` (file modification times) is only part of the cache key: a replaced file is reread.
    """
    try:
        parts = _read_npz(paths[0]) if name == "mnist" else _read_idx_files(paths)
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"The cached {name!r} file(s) {', '.join(paths)} could not be read "
            f"({type(err).__name__}: {err}). Delete them to download again, or replace them "
            "with good copies."
        ) from None
    return tuple(_read_only(*pair) for pair in parts)


def _read_npz(path: str) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def _read_idx_files(paths: tuple[str, ...]) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    y_train = _read_gzip_bytes(paths[0], offset=8)  # IDX headers: 8 bytes labels, 16 images
    x_train = _read_gzip_bytes(paths[1], offset=16).reshape(len(y_train), 28, 28)
    y_test = _read_gzip_bytes(paths[2], offset=8)
    x_test = _read_gzip_bytes(paths[3], offset=16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)


def _read_gzip_bytes(path: str, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


# -- TensorFlow Playground sets ----------------------------------------------------------------
def _load_points(info: DatasetInfo, noise: float, num_samples: int, seed: int) -> Dataset:
    x, y = playground.make_points(info.generator, info.task, num_samples, noise, seed)
    names = playground.CLASS_NAMES if info.task == "classification" else None
    dataset = Dataset.from_arrays(x, y, task=info.task, class_names=names, name=info.name)
    return dataclasses.replace(dataset, feature_names=playground.FEATURE_NAMES)
