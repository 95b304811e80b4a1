"""Dataset.from_csv on hostile input: a clean Dataset or a ValueError that says what to fix."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainer.data import Dataset


def load(text: str | bytes, target: str = "y", **kwargs) -> Dataset:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return Dataset.from_csv(raw, target, **kwargs)


def assert_clean(ds: Dataset, rows: int, features: int) -> None:
    assert ds.x_train.shape == (rows, features)
    assert ds.x_train.dtype == np.float32
    assert np.isfinite(ds.x_train).all()
    assert len(ds.y_train) == rows
    assert ds.input_shape == (features,)
    assert len(ds.feature_names) == features
    assert ds.feature_mean.shape == ds.feature_std.shape == (features,)


# -- the happy path ----------------------------------------------------------------------------
def test_numeric_features_are_standardized_and_stats_kept():
    ds = load("a,b,y\n1,10,0\n2,10,1\n3,10,0\n")
    assert_clean(ds, 3, 2)
    assert ds.task == "classification"
    assert ds.class_names == ("0", "1")
    assert ds.y_train.tolist() == [0, 1, 0]
    np.testing.assert_allclose(ds.x_train[:, 0], [-1.2247449, 0, 1.2247449], rtol=1e-6)
    np.testing.assert_allclose(ds.feature_mean, [2, 10])
    np.testing.assert_allclose(ds.feature_std, [np.std([1, 2, 3]), 1.0])  # constant: std 1
    assert ds.x_train[:, 1].tolist() == [0, 0, 0]


def test_stats_transform_a_typed_in_row_like_the_training_rows():
    ds = load("a,b,y\n1,5,0\n4,7,1\n9,2,0\n")
    row = (np.array([4.0, 7.0]) - ds.feature_mean) / ds.feature_std
    np.testing.assert_allclose(row, ds.x_train[1], rtol=1e-6)


def test_reads_path_text_buffer_and_rewinds_a_read_upload(tmp_path):
    text = "a,y\n1,0\n2,1\n"
    path = tmp_path / "d.csv"
    path.write_text(text)
    upload = io.BytesIO(text.encode())  # Streamlit's UploadedFile is a BytesIO
    upload.read()  # a preview already consumed it
    for source in (str(path), path, io.StringIO(text), upload, bytearray(text.encode())):
        assert Dataset.from_csv(source, "y").y_train.tolist() == [0, 1]


def test_name_is_kept_and_target_name_is_stripped():
    ds = Dataset.from_csv(b" a , y \n1,0\n2,1\n", " y", name="upload.csv")
    assert ds.name == "upload.csv"
    assert ds.feature_names == ("a",)


# -- hostile: shape of the file ----------------------------------------------------------------
@pytest.mark.parametrize("raw", [b"", b"   \n\n", b"\xef\xbb\xbf"])
def test_empty_file(raw):
    with pytest.raises(ValueError, match="CSV file is empty"):
        load(raw)


def test_header_only():
    with pytest.raises(ValueError, match="0 data row"):
        load("a,b,y\n")


def test_one_row():
    with pytest.raises(ValueError, match="1 data row"):
        load("a,y\n1,0\n")


def test_missing_target_lists_available_columns():
    with pytest.raises(ValueError, match=r"no column 'label'\. Available columns: 'a', 'y'"):
        load("a,y\n1,0\n2,1\n", target="label")


def test_only_the_target_column():
    with pytest.raises(ValueError, match="only the target column 'y'"):
        load("y\n0\n1\n")


def test_blank_and_delimiter_only_lines_are_skipped():
    ds = load("a,y\n\n1,0\n,\n2,1\n\n")
    assert_clean(ds, 2, 1)


def test_file_over_max_bytes_names_size_and_limit(tmp_path):
    raw = b"a,y\n" + b"1,0\n" * 300  # 1204 bytes
    path = tmp_path / "big.csv"
    path.write_bytes(raw)
    for source in (raw, path, io.BytesIO(raw)):
        with pytest.raises(ValueError, match=r"over the 0\.0 MB limit \(max_bytes=1000\)"):
            Dataset.from_csv(source, "y", max_bytes=1000)
    with pytest.raises(ValueError, match="100.0 MB, over the 1.0 MB limit"):
        Dataset.from_csv(_Sized(b"a,y\n1,0\n2,1\n", size=100 * 2**20), "y", max_bytes=2**20)


class _Sized(io.BytesIO):
    """An upload that reports its size (as Streamlit's UploadedFile does) but is short."""

    def __init__(self, raw: bytes, size: int) -> None:
        super().__init__(raw)
        self.size = size

    def read(self, n: int = -1) -> bytes:
        return b"x" * n  # pretend there is always more


def test_missing_file_and_wrong_source_type(tmp_path):
    with pytest.raises(ValueError, match="Could not read CSV file"):
        Dataset.from_csv(tmp_path / "nope.csv", "y")
    with pytest.raises(ValueError, match="Expected `file_or_buffer` to be a path"):
        Dataset.from_csv(123, "y")


# -- hostile: rows and cells -------------------------------------------------------------------
def test_ragged_long_row_is_an_error_naming_the_line():
    with pytest.raises(ValueError, match=r"more fields than the header: .*line 3"):
        load("a,b,y\n1,2,0\n3,4,1,9\n5,6,0\n")


def test_ragged_short_row_counts_its_missing_cells_as_empty():
    ds = load("a,b,y\n1,2,0\n3,4,1\n5,1\n7,8,0\n")  # row 3 lacks y: dropped
    assert_clean(ds, 3, 2)
    assert any("1 row(s) with a missing or non-finite target 'y' dropped" in n for n in ds.notes)


def test_a_target_with_one_row_a_class_is_noted():
    rows = "".join(f"{i},{i % 7},name{i}\n" for i in range(100))  # a name per row
    ds = load("a,b,y\n" + rows, task="classification")
    assert ds.num_classes == 100
    assert "100 of 100 classes of target 'y' have a single row" in " ".join(ds.notes)
    fine = load("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    assert not any("single row" in n for n in fine.notes)


def test_unclosed_quote():
    with pytest.raises(ValueError, match="unclosed quote"):
        load('a,y\n1,0\n"2,1\n')


def test_quoted_delimiters_stay_in_one_cell():
    ds = load('a,y\n"1,5",x\n"2,5",z\n3,x\n')
    assert ds.feature_names == ("a=1,5", "a=2,5", "a=3")


def test_missing_nan_inf_cells_are_imputed_or_dropped():
    text = "a,b,y\n1,,0\nnan,4,1\ninf,6,\n3,-inf,1\n5,NA,0\n"
    ds = load(text)
    assert_clean(ds, 4, 2)  # the row without y is gone
    assert ds.y_train.tolist() == [0, 1, 1, 0]
    assert "column 'a': 1 empty cell(s) set to the median 3" in ds.notes
    assert "column 'b': 2 empty, 1 infinite cell(s) set to the median 4" in ds.notes
    assert "1 row(s) with a missing or non-finite target 'y' dropped" in ds.notes


def test_few_words_in_a_numeric_column_are_imputed():
    ds = load("age,y\n10,0\n20,1\nunknown,0\n30,1\n")
    assert_clean(ds, 4, 1)
    assert "column 'age': 1 non-numeric cell(s) set to the median 20" in ds.notes
    assert ds.feature_names == ("age",)


def test_mostly_text_column_is_one_hot_encoded():
    ds = load("color,y\nred,0\nblue,1\ngreen,0\n,1\n3,0\n")
    assert_clean(ds, 5, 4)
    assert ds.feature_names == ("color=3", "color=blue", "color=green", "color=red")
    assert ds.x_train[:, 3].tolist() == [1, 0, 0, 0, 0]
    assert ds.x_train[3].tolist() == [0, 0, 0, 0]  # empty cell: all zero
    assert "column 'color' one-hot encoded (4 values); 1 empty cell(s) left all-zero" in ds.notes
    np.testing.assert_array_equal(ds.feature_mean, 0)
    np.testing.assert_array_equal(ds.feature_std, 1)


def test_text_column_with_too_many_values_is_dropped_with_a_note():
    rows = "".join(f"id{i},{i % 7},{i % 2}\n" for i in range(60))
    ds = load("name,a,y\n" + rows)
    assert ds.feature_names == ("a",)
    assert any("column 'name' dropped: 60 distinct text values" in n for n in ds.notes)


def test_no_usable_feature_is_an_error():
    rows = "".join(f"id{i},,{i % 2}\n" for i in range(60))
    with pytest.raises(ValueError, match="no usable feature column: column 'name' dropped"):
        load("name,empty,y\n" + rows)


def test_huge_numbers_end_finite():
    ds = load("a,b,y\n1e308,-1e308,0\n-1e308,1e308,1\n1e308,1e400,0\n0,5,1\n")
    assert_clean(ds, 4, 2)
    assert np.isfinite(ds.feature_mean).all() and np.isfinite(ds.feature_std).all()
    assert "column 'b': 1 infinite cell(s) set to the median 5" in ds.notes
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-6)


def test_huge_regression_target_is_rejected():
    with pytest.raises(ValueError, match="values up to 1e\\+308.*Rescale"):
        load("a,y\n1,1e308\n2,0.5\n3,7.25\n", task="regression")


# -- hostile: the target -----------------------------------------------------------------------
def test_single_class():
    with pytest.raises(ValueError, match="single class \\('cat'\\).*at least 2 classes"):
        load("a,y\n1,cat\n2,cat\n3,\n")


def test_string_labels_are_encoded_in_sorted_order():
    ds = load("a,species\n1,virginica\n2,setosa\n3,versicolor\n4,setosa\n", target="species")
    assert ds.class_names == ("setosa", "versicolor", "virginica")
    assert ds.y_train.tolist() == [2, 0, 1, 0]
    assert "target 'species': setosa->0, versicolor->1, virginica->2" in ds.notes
    assert ds.class_counts() == {"setosa": 2, "versicolor": 1, "virginica": 1}


def test_numeric_labels_are_sorted_numerically():
    ds = load("a,y\n1,10\n2,9\n3,10\n4,-1\n")
    assert ds.class_names == ("-1", "9", "10")
    assert ds.y_train.tolist() == [2, 1, 2, 0]


def test_task_inference():
    few_ints = load("a,y\n" + "".join(f"{i},{i % 3}\n" for i in range(30)))
    many_ints = load("a,y\n" + "".join(f"{i},{i}\n" for i in range(30)))
    floats = load("a,y\n1,0.5\n2,1.5\n3,0.5\n")
    assert few_ints.task == "classification" and few_ints.num_classes == 3
    assert many_ints.task == "regression" and many_ints.class_names == ()
    assert floats.task == "regression" and floats.y_train.dtype == np.float32
    assert "task inferred from target 'y': regression" in floats.notes


def test_explicit_task_wins():
    ds = load("a,y\n1,0.5\n2,1.5\n3,0.5\n", task="classification")
    assert ds.class_names == ("0.5", "1.5")
    ds = load("a,y\n1,0\n2,1\n3,0\n", task="regression")
    assert ds.y_train.tolist() == [0.0, 1.0, 0.0] and ds.num_outputs == 1


def test_regression_on_a_text_target_is_an_error():
    with pytest.raises(ValueError, match="'y' is not numeric \\(e.g. 'cat'\\).*classification"):
        load("a,y\n1,cat\n2,dog\n", task="regression")


def test_too_many_classes_suggests_regression():
    rows = "".join(f"{i},c{i}\n" for i in range(201))
    with pytest.raises(ValueError, match="201 distinct values, too many classes.*regression"):
        load("a,y\n" + rows)


def test_invalid_task_and_target_arguments():
    with pytest.raises(ValueError, match="Expected `task` to be one of"):
        load("a,y\n1,0\n2,1\n", task="ranking")
    with pytest.raises(ValueError, match="Expected `target` to name a CSV column"):
        load("a,y\n1,0\n2,1\n", target="")


# -- hostile: duplicate names ------------------------------------------------------------------
def test_duplicate_feature_names_are_renamed_with_a_note():
    ds = load("a,a,a.1,y\n1,2,3,0\n4,5,6,1\n")
    assert ds.feature_names == ("a", "a.2", "a.1")
    assert "duplicate column name 'a': the repeat was renamed 'a.2'" in ds.notes


def test_duplicate_target_name_is_an_error():
    with pytest.raises(ValueError, match="more than one column named 'y'"):
        load("y,a,y\n1,2,0\n4,5,1\n")


def test_blank_header_cells_get_names():
    ds = load(",a,y\n1,2,0\n3,4,1\n")
    assert ds.feature_names == ("column_1", "a")


# -- hostile: encodings and delimiters ---------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",  # an .xlsx is a zip
        bytes(range(256)) * 4,
    ],
)
def test_binary_garbage_is_not_a_text_csv(raw):
    with pytest.raises(ValueError, match="not a text CSV"):
        load(raw)


def test_latin1_text_is_decoded_with_a_note():
    ds = load("ville,y\nParis,caf\xe9\nBrest,th\xe9\nLyon,caf\xe9\n".encode("latin-1"))
    assert ds.class_names == ("café", "thé")
    assert "file is not valid UTF-8: decoded as latin-1" in ds.notes


def test_utf8_bom_and_utf16_are_read():
    text = "a,y\n1,0\n2,1\n"
    assert load(b"\xef\xbb\xbf" + text.encode()).feature_names == ("a",)
    ds = load(text.encode("utf-16"))
    assert ds.feature_names == ("a",) and "file decoded as UTF-16" in ds.notes


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_delimiters_are_sniffed(sep):
    text = "\n".join(sep.join(row) for row in [["a", "b", "y"], ["1", "2", "0"], ["3", "4", "1"]])
    ds = load(text)
    assert_clean(ds, 2, 2)
    assert ds.feature_names == ("a", "b")
    assert f"delimiter {sep!r} detected" in ds.notes


def test_semicolon_file_with_decimal_commas_keeps_its_columns():
    ds = load("a;b;y\n1,5;2;0\n2,5;3;1\n")
    assert ds.feature_names == ("a=1,5", "a=2,5", "b")


# -- property: whatever the text, a clean Dataset or a ValueError --------------------------------
SAFE_TEXT = st.text(alphabet="abcxyz é", max_size=4)
NASTY_TEXT = st.text(alphabet='ab,;"\t|', max_size=4)  # delimiters and quotes: may break rows
CELLS = st.one_of(
    st.integers(-3, 3).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "inf", "-inf", "nan", "NA", "1e308", "-1e400", "  ", "?"]),
    SAFE_TEXT,
)


@st.composite
def csv_texts(draw):
    """Mostly well-formed tables with a 'y' column and messy cells; sometimes broken rows."""
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    features = draw(st.lists(st.sampled_from(["a", "b", "c", ""]), min_size=1, max_size=3))
    extra = draw(st.sampled_from([[]] * 8 + [["y"], ["a"]]))  # rarely: a duplicate name
    header = draw(st.permutations(["y", *features, *extra]))
    width = len(header)
    target_cells = draw(st.sampled_from([CELLS, st.integers(0, 2).map(str), SAFE_TEXT]))
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        row = [draw(target_cells if name == "y" else CELLS) for name in header]
        if draw(st.integers(0, 19)) == 0:  # 1 in 20 rows: ragged or with quotes/delimiters
            row = draw(st.lists(st.one_of(CELLS, NASTY_TEXT), max_size=width + 1))
        rows.append(row)
    lines = [sep.join(header)] + [sep.join(row) for row in rows]
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))


def assert_dataset_or_value_error(raw: bytes, **kwargs) -> None:
    try:
        # Overflow or NaN arithmetic anywhere is a bug even if the result looks fine: raise it.
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            ds = Dataset.from_csv(raw, "y", **kwargs)
    except ValueError:
        return
    n = len(ds.y_train)
    assert n >= 2
    assert ds.x_train.dtype == np.float32 and ds.x_train.shape[0] == n
    assert np.isfinite(ds.x_train).all()
    assert ds.x_train.shape[1] == len(ds.feature_names) == len(ds.feature_mean) >= 1
    assert np.isfinite(ds.feature_mean).all() and (ds.feature_std > 0).all()
    if ds.task == "classification":
        assert ds.y_train.dtype == np.int32
        assert 2 <= ds.num_classes <= 200
        assert ds.y_train.min() >= 0 and ds.y_train.max() < ds.num_classes
    else:
        assert ds.y_train.dtype == np.float32 and np.isfinite(ds.y_train).all()


# database=None: the tests write no .hypothesis folder into the repository.
@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=csv_texts(), task=st.sampled_from([None, "classification", "regression"]))
def test_any_csv_text_gives_a_clean_dataset_or_a_value_error(text, task):
    assert_dataset_or_value_error(text.encode("utf-8"), task=task)


@settings(max_examples=50, deadline=None, database=None)
@given(raw=st.binary(max_size=300))
def test_any_bytes_give_a_clean_dataset_or_a_value_error(raw):
    assert_dataset_or_value_error(raw)
