"""Dataset.from_arrays (validation at the boundary), its properties, and split_validation."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.data import Dataset, split_validation


def make_blobs(n_per_class=(30, 20, 10), features=3) -> Dataset:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    x = rng.normal(size=(len(y), features)) + y[:, None]
    return Dataset.from_arrays(x, y)


# -- from_arrays -------------------------------------------------------------------------------
def test_float_features_become_float32_and_labels_int32():
    ds = Dataset.from_arrays(np.ones((4, 3), np.float64), [0, 1, 2, 1])
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert ds.input_shape == (3,) and ds.scale == 1.0
    assert ds.class_names == ("0", "1", "2")
    assert (ds.num_train, ds.num_val, ds.num_classes, ds.num_outputs) == (4, 0, 3, 3)
    assert not ds.is_image and not ds.is_2d


def test_uint8_images_stay_uint8_with_scale_1_over_255():
    x = np.zeros((5, 28, 28), np.uint8)
    ds = Dataset.from_arrays(x, np.arange(5), x[:2], [0, 1], class_names=list("abcde"))
    assert ds.x_train.dtype == ds.x_val.dtype == np.uint8
    assert ds.scale == pytest.approx(1 / 255)
    assert ds.is_image and ds.input_shape == (28, 28)
    assert ds.class_names == ("a", "b", "c", "d", "e")
    assert ds.num_val == 2 and ds.class_counts("val") == {"a": 1, "b": 1, "c": 0, "d": 0, "e": 0}


def test_uint8_train_with_float_val_becomes_float32():
    ds = Dataset.from_arrays(np.zeros((2, 2), np.uint8), [0, 1], np.zeros((1, 2)), [1])
    assert ds.x_train.dtype == ds.x_val.dtype == np.float32 and ds.scale == 1.0


def test_regression_targets_and_outputs():
    ds = Dataset.from_arrays(np.ones((3, 2)), [0.5, 1.5, -2.0], task="regression")
    assert ds.y_train.dtype == np.float32
    assert ds.class_names == () and ds.num_classes == 0 and ds.num_outputs == 1
    assert ds.is_2d and ds.class_counts() == {}


def test_integer_valued_float_labels_and_column_labels_are_accepted():
    ds = Dataset.from_arrays(np.ones((3, 1)), np.array([[0.0], [2.0], [1.0]]))
    assert ds.y_train.tolist() == [0, 2, 1]


def test_constructor_fills_input_shape():
    ds = Dataset(x_train=np.zeros((3, 4, 5)), y_train=np.zeros(3, np.int32))
    assert ds.input_shape == (4, 5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": np.ones(3), "y": [0, 1, 0]}, r"`x` to have shape .* Received: x.shape=\(3,\)"),
        ({"x": np.ones((0, 2)), "y": []}, r"`x` to hold data, not be empty"),
        ({"x": np.ones((3, 2)), "y": [0, 1]}, r"one label per sample of `x` \(3\)\. .*len\(y\)=2"),
        ({"x": [[1, 2], [3]], "y": [0, 1]}, "`x` to be a rectangular numeric array"),
        ({"x": [["a", "b"]], "y": [0]}, r"`x` to be numeric\. Received: x.dtype=<U1"),
        ({"x": [[np.nan, 1.0]], "y": [0]}, r"`x` to be finite; .*x.flat\[0\]=nan"),
        ({"x": [[1e300]], "y": [0]}, "`x` to fit in float32"),
        ({"x": np.ones((2, 1)), "y": [0.5, 1]}, r"integer class ids .* Received: y\[0\]=0.5"),
        ({"x": np.ones((2, 1)), "y": [0, -1]}, r"class ids 0, 1, 2, \.\.\. Received: y\[1\]=-1"),
        ({"x": np.ones((2, 1)), "y": np.ones((2, 2))}, r"`y` to have shape \(num_samples,\)"),
        ({"x": np.ones((2, 1)), "y": [0, np.inf]}, "`y` to be finite"),
        ({"x": np.ones((2, 1)), "y": [0, 1], "task": "ranking"}, "`task` to be one of"),
        ({"x": np.ones((2, 1)), "y": [0, 3], "class_names": ["a"]}, r"name every class id.*0\.\.3"),
        ({"x": np.ones((2, 1)), "y": [0, 1], "scale": 0}, "`scale` to be a positive number"),
        ({"x": np.ones((2, 1)), "y": [0, 1], "x_val": np.ones((1, 1))}, "given together"),
        (
            {"x": np.ones((2, 1)), "y": [0, 1], "x_val": np.ones((1, 2)), "y_val": [0]},
            r"per-sample shape of `x` \(1,\)\. Received: x_val.shape=\(1, 2\)",
        ),
        (
            {"x": np.ones((2, 1)), "y": [0.5, 1], "task": "regression", "class_names": ["a"]},
            "no `class_names` for task='regression'",
        ),
    ],
)
def test_from_arrays_rejects_bad_input_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Dataset.from_arrays(**kwargs)


def test_class_counts_rejects_unknown_split():
    with pytest.raises(ValueError, match="`split` to be one of"):
        make_blobs().class_counts("test")


# -- split_validation --------------------------------------------------------------------------
def test_split_sizes_and_stratification():
    ds = make_blobs((30, 20, 10))
    split = split_validation(ds, 0.2, seed=0)
    assert (split.num_train, split.num_val) == (48, 12)
    assert split.class_counts("val") == {"0": 6, "1": 4, "2": 2}
    assert split.class_counts("train") == {"0": 24, "1": 16, "2": 8}
    assert split.class_names == ds.class_names and split.input_shape == ds.input_shape


def test_split_keeps_every_sample_exactly_once():
    ds = make_blobs()
    split = split_validation(ds, 0.3, seed=3)
    merged = np.concatenate([split.x_train, split.x_val])
    assert sorted(map(tuple, merged.tolist())) == sorted(map(tuple, ds.x_train.tolist()))


def test_split_is_deterministic_by_seed():
    ds = make_blobs()
    a, b, c = (split_validation(ds, 0.25, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.x_val, b.x_val)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_val, c.x_val)


def test_split_rounds_leftovers_to_largest_remainders():
    ds = make_blobs((5, 3, 2))
    split = split_validation(ds, 0.5, seed=0)  # quotas 2.5, 1.5, 1.0 -> 5 in all
    assert split.num_val == 5
    assert split.class_counts("val") == {"0": 3, "1": 1, "2": 1}


def test_regression_split():
    x = np.arange(20, dtype=np.float32)[:, None]
    ds = Dataset.from_arrays(x, x[:, 0] * 2, task="regression")
    split = split_validation(ds, 0.1, seed=0)
    assert (split.num_train, split.num_val) == (18, 2)
    np.testing.assert_array_equal(split.y_val, split.x_val[:, 0] * 2)
    assert np.all(np.diff(split.x_train[:, 0]) > 0)  # dataset order kept


def test_split_gives_each_part_at_least_one_sample():
    ds = Dataset.from_arrays(np.ones((3, 1)), [0, 1, 0])
    assert split_validation(ds, 0.01, seed=0).num_val == 1
    assert split_validation(ds, 0.9, seed=0).num_train == 1


def test_split_returns_data_with_validation_or_zero_fraction_unchanged():
    ds = make_blobs()
    assert split_validation(ds, 0.0, seed=0) is ds
    with_val = Dataset.from_arrays(np.ones((2, 1)), [0, 1], np.ones((1, 1)), [0])
    assert split_validation(with_val, 0.5, seed=0) is with_val


def test_split_that_leaves_a_part_empty_is_an_error():
    one = Dataset.from_arrays(np.ones((1, 1)), [0])
    with pytest.raises(ValueError, match="validation_split=0.2 would leave .* empty"):
        split_validation(one, 0.2, seed=0)
    with pytest.raises(ValueError, match=r"validation_split.* Received: validation_split=1\.5"):
        split_validation(make_blobs(), 1.5, seed=0)
