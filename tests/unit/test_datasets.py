"""The dataset registry: digits, the Keras image sets (from a fake cache, never the network),
the TensorFlow Playground sets, and dataset_for."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import trainer.datasets as datasets
from trainer.config import RunConfig
from trainer.datasets import DATASETS, FASHION_CLASSES, dataset_for, load_dataset
from trainer.playground import CLASS_NAMES

POINT_SETS = ("circle", "xor", "gauss", "spiral", "plane", "multi_gauss")


def test_registry_entries():
    assert list(DATASETS) == ["digits", "mnist", "fashion_mnist", *POINT_SETS]
    for name, info in DATASETS.items():
        assert info.name == name and info.title and info.description
        assert info.task in ("classification", "regression")
        assert info.kind in ("image", "points", "table")
        # The entry says how the exported script loads it: a generator or its own code.
        assert (info.generator is not None) == (info.kind == "points")
        assert info.generator is not None or info.export_code.strip()
    assert [n for n, i in DATASETS.items() if i.needs_download] == ["mnist", "fashion_mnist"]
    assert [n for n, i in DATASETS.items() if i.task == "regression"] == ["plane", "multi_gauss"]


# -- digits ------------------------------------------------------------------------------------
def test_digits():
    ds = load_dataset("digits")
    assert ds.x_train.shape == (1797, 8, 8) and ds.x_train.dtype == np.uint8
    assert ds.x_train.max() == 16 and ds.scale == 1 / 16
    assert ds.y_train.dtype == np.int32 and ds.class_names == tuple("0123456789")
    assert ds.x_val is None and ds.is_image and ds.name == "digits"
    assert not ds.x_train.flags.writeable  # shared, cached arrays


def test_digits_returns_a_fresh_dataset_over_cached_arrays():
    a, b = load_dataset("digits"), load_dataset("digits")
    assert a is not b and a.x_train is b.x_train


# -- mnist / fashion_mnist from a fake Keras cache ---------------------------------------------
def write_mnist_cache(directory: Path, n_train: int = 20, n_test: int = 10) -> None:
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        directory / "mnist.npz",
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        y_train=(np.arange(n_train) % 10).astype(np.uint8),
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=(np.arange(n_test) % 10).astype(np.uint8),
    )


def write_idx(path: Path, array: np.ndarray) -> None:
    """IDX as the fashion-mnist .gz files hold it: magic, sizes (big-endian int32), bytes."""
    magic = 2049 if array.ndim == 1 else 2051
    header = np.array([magic, *array.shape], dtype=">i4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def write_fashion_cache(directory: Path, n_train: int = 20, n_test: int = 10) -> None:
    folder = directory / "fashion-mnist"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))


@pytest.fixture
def no_network(monkeypatch):
    """Downloads fail as they do offline (Keras' get_file raises a bare Exception)."""

    def fail(relative, directory, origin):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(datasets, "_download_file", fail)


def test_mnist_from_cache(tmp_path, no_network):
    write_mnist_cache(tmp_path)
    ds = load_dataset("mnist", cache_dir=tmp_path)
    assert ds.x_train.shape == (20, 28, 28) and ds.x_val.shape == (10, 28, 28)
    assert ds.x_train.dtype == np.uint8 and ds.scale == pytest.approx(1 / 255)
    assert ds.y_train.dtype == ds.y_val.dtype == np.int32
    assert ds.class_names == tuple("0123456789") and ds.name == "mnist"
    assert ds.y_val.tolist() == list(range(10))


def test_fashion_mnist_from_cache(tmp_path, no_network):
    write_fashion_cache(tmp_path)
    ds = load_dataset("fashion_mnist", cache_dir=tmp_path)
    assert ds.x_train.shape == (20, 28, 28) and ds.x_val.shape == (10, 28, 28)
    assert ds.class_names == FASHION_CLASSES and ds.class_names[9] == "Ankle boot"
    assert ds.class_counts("val")["T-shirt/top"] == 1


def test_default_cache_dir_is_keras_home_datasets(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    write_mnist_cache(tmp_path / "datasets", n_train=12)
    assert load_dataset("mnist").num_train == 12


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mnist", "tf-keras-datasets/mnist.npz -> {dir}/mnist.npz"),
        ("fashion_mnist", "t10k-images-idx3-ubyte.gz -> {dir}/fashion-mnist/t10k-images"),
    ],
)
def test_offline_without_cache_says_which_file_goes_where(tmp_path, no_network, name, expected):
    with pytest.raises(ValueError) as info:
        load_dataset(name, cache_dir=tmp_path)
    message = str(info.value)
    assert f"The {name!r} dataset could not be downloaded" in message
    assert "Temporary failure in name resolution" in message
    assert expected.format(dir=tmp_path) in message
    assert "'digits' dataset works offline" in message


def test_missing_files_are_fetched_with_keras_names(tmp_path, monkeypatch):
    fetched = []

    def fake_download(relative, directory, origin):  # stands in for keras.utils.get_file
        fetched.append(relative)
        write_fashion_cache(directory)
        return str(directory / relative)

    write_fashion_cache(tmp_path)
    (tmp_path / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setattr(datasets, "_download_file", fake_download)
    assert load_dataset("fashion_mnist", cache_dir=tmp_path).num_val == 10
    assert fetched == ["fashion-mnist/t10k-labels-idx1-ubyte.gz"]


def test_download_fetches_through_keras_from_the_given_origin(tmp_path):
    # A loopback HTTP server plays the dataset host: keras.utils.get_file downloads for real.
    import functools
    import http.server
    import threading

    served = tmp_path / "served"
    write_fashion_cache(served)
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(served / "fashion-mnist")
    )
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        cache = tmp_path / "cache"
        assert not datasets.is_cached("fashion_mnist", cache)
        origin = f"http://127.0.0.1:{httpd.server_address[1]}/"
        assert datasets.download("fashion_mnist", cache, origin=origin) == cache
        assert datasets.is_cached("fashion_mnist", cache)
        assert load_dataset("fashion_mnist", cache_dir=cache).num_train == 20
    finally:
        httpd.shutdown()
    assert datasets.is_cached("digits") and datasets.is_cached("spiral")


def test_corrupt_cache_file_is_a_value_error(tmp_path, no_network):
    (tmp_path / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="could not be read .* Delete them to download again"):
        load_dataset("mnist", cache_dir=tmp_path)


# -- TensorFlow Playground sets ----------------------------------------------------------------
@pytest.mark.parametrize("name", POINT_SETS)
def test_point_sets_shapes_dtypes_and_names(name):
    ds = load_dataset(name, num_samples=101, noise=10, seed=3)
    assert ds.x_train.shape == (101, 2) and ds.x_train.dtype == np.float32
    assert ds.is_2d and ds.x_val is None and ds.name == name
    assert ds.feature_names == ("x1", "x2") and ds.task == DATASETS[name].task
    assert np.isfinite(ds.x_train).all()
    if ds.task == "classification":
        assert ds.y_train.dtype == np.int32 and ds.class_names == CLASS_NAMES == ("-1", "+1")
        assert set(ds.y_train.tolist()) == {0, 1}
    else:
        assert ds.y_train.dtype == np.float32 and ds.class_names == ()
        assert ds.y_train.min() >= -1 and ds.y_train.max() <= 1


@pytest.mark.parametrize("name", POINT_SETS)
def test_point_sets_are_deterministic_by_seed_and_noise_moves_them(name):
    a = load_dataset(name, seed=1, noise=20)
    b = load_dataset(name, seed=1, noise=20)
    c = load_dataset(name, seed=2, noise=20)
    d = load_dataset(name, seed=1, noise=0)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_train, c.x_train)
    assert not (np.array_equal(a.x_train, d.x_train) and np.array_equal(a.y_train, d.y_train))


def test_noise_free_labels_follow_the_playground_rules():
    circle = load_dataset("circle", num_samples=400)
    inside = np.hypot(*circle.x_train.T) < 2.5
    np.testing.assert_array_equal(circle.y_train, inside)
    assert circle.class_counts() == {"-1": 200, "+1": 200}

    xor = load_dataset("xor", num_samples=400)
    np.testing.assert_array_equal(xor.y_train, xor.x_train[:, 0] * xor.x_train[:, 1] >= 0)
    assert np.abs(xor.x_train).min() >= 0.3  # the padding off the axes

    plane = load_dataset("plane", num_samples=400)
    expected = np.clip(plane.x_train.sum(axis=1) / 10, -1, 1)
    np.testing.assert_allclose(plane.y_train, expected, atol=1e-6)

    gauss = load_dataset("gauss", num_samples=400)
    agree = (gauss.x_train.sum(axis=1) > 0) == (gauss.y_train == 1)
    assert agree.mean() > 0.95


def test_multi_gauss_peaks():
    ds = load_dataset("multi_gauss", num_samples=2000)
    near = np.linalg.norm(ds.x_train - np.array([-4, 2.5]), axis=1) < 0.5
    assert near.any() and (ds.y_train[near] > 0.7).all()  # a +1 bump
    near = np.linalg.norm(ds.x_train - np.array([0, 2.5]), axis=1) < 0.5
    assert (ds.y_train[near] < -0.7).all()  # a -1 bump


def test_point_sets_are_shuffled():
    ds = load_dataset("spiral", num_samples=200)
    assert 0 < ds.y_train[:100].sum() < 100


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"noise": 60}, r"`noise` to be a percentage in \[0, 50\]"),
        ({"noise": -1}, "Received: noise=-1"),
        ({"num_samples": 1}, r"`num_samples` to be an integer in \[2, "),
        ({"num_samples": 10.5}, "num_samples=10.5"),
        ({"seed": -3}, "`seed` to be a non-negative integer"),
    ],
)
def test_point_set_arguments_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_dataset("circle", **kwargs)


# -- names and dataset_for ---------------------------------------------------------------------
def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown dataset 'iris'. Known datasets: digits, mnist"):
        load_dataset("iris")


def test_csv_needs_its_data_passed_in():
    with pytest.raises(ValueError, match=r"CSV run needs its data passed in: Dataset.from_csv"):
        dataset_for(RunConfig(dataset="csv"))


def test_dataset_for_uses_the_config():
    config = RunConfig(dataset="xor", noise=15, num_samples=60, seed=4)
    ds = dataset_for(config)
    expected = load_dataset("xor", noise=15, num_samples=60, seed=4)
    np.testing.assert_array_equal(ds.x_train, expected.x_train)
    assert dataset_for(RunConfig()).name == "digits"
