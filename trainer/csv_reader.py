"""Reading an uploaded CSV: bytes, a path or a file object to a header and a table of text.

The first half of `Dataset.from_csv` (`trainer.csv_encoder` turns the table into arrays). The
file's size is capped before it is read whole; the text is decoded as UTF-8, UTF-16 with a BOM or
latin-1; the delimiter is sniffed. Anything unusable raises a ValueError that says what is wrong
and how to fix it: the dashboard shows that message as it is. `preview_csv` reads a file's first
rows by the same rules, so a preview accepts exactly the files training accepts.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

MAX_CSV_BYTES = 50 * 2**20
MIN_ROWS = 2  # one row to train on and one to validate
MISSING = ("", "na", "n/a", "nan", "null", "none", "?")  # pandas' defaults catch most; plus "?"


def read_table(
    file_or_buffer: Any, target: str, max_bytes: int = MAX_CSV_BYTES
) -> tuple[list[str], pd.DataFrame, int, list[str]]:
    """Unique column names, the non-blank body rows as stripped text (NaN where missing), the
    target column's index, and a note per step taken (decoding, delimiter, renames)."""
    text, notes = _decode_text(_read_source(file_or_buffer, max_bytes))
    header, body, target_index = _read_table(text, target, notes)
    return header, body, target_index, notes


def preview_csv(
    file_or_buffer: Any, rows: int = 20, max_bytes: int = MAX_CSV_BYTES
) -> pd.DataFrame:
    """The first `rows` rows of a CSV as `Dataset.from_csv` reads it (same decoding, delimiter
    sniffing, quoting and header rules; cells as text), so a preview accepts exactly the files
    training accepts. Raises ValueError with the problem and the fix."""
    text, _ = _decode_text(_read_source(file_or_buffer, max_bytes))
    header, body, _ = _parse_table(text, nrows=rows + 1)
    header, _ = _rename_duplicates(header)
    body.columns = header
    return body


# -- reading and decoding ----------------------------------------------------------------------
def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _too_big(size: int | None, max_bytes: int) -> ValueError:
    what = f"is {_megabytes(size)}" if size is not None else "is larger than that"
    return ValueError(
        f"CSV file {what}, over the {_megabytes(max_bytes)} limit (max_bytes={max_bytes}). "
        "Upload a smaller file, e.g. a sample of its rows."
    )


def _read_source(source: Any, max_bytes: int) -> bytes:
    """The raw bytes of a path, bytes or file object, refusing more than `max_bytes`."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        raw = _read_path(Path(source), max_bytes)
    elif hasattr(source, "read"):
        raw = _read_file_object(source, max_bytes)
    else:
        raise ValueError(
            "Expected `file_or_buffer` to be a path, bytes or a file object. "
            f"Received: {type(source).__name__}"
        )
    if len(raw) > max_bytes:
        size = len(raw) if isinstance(source, (bytes, bytearray, memoryview)) else None
        raise _too_big(getattr(source, "size", None) or size, max_bytes)
    return raw


def _read_path(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_big(size, max_bytes)
        return path.read_bytes()
    except OSError as err:
        raise ValueError(f"Could not read CSV file {str(path)[:200]!r}: {err.strerror}") from None


def _read_file_object(source: Any, max_bytes: int) -> bytes:
    size = None
    try:
        # A page may have read the upload already (e.g. for a preview): start from the top.
        if getattr(source, "seekable", lambda: False)():
            if not isinstance(source, io.TextIOBase):  # a text stream's tell() is no size
                size = source.seek(0, io.SEEK_END)
            source.seek(0)
        data = b"" if size is not None and size > max_bytes else source.read(max_bytes + 1)
    except (OSError, ValueError) as err:
        raise ValueError(f"Could not read the CSV file object: {err}") from None
    if size is not None and size > max_bytes:
        raise _too_big(size, max_bytes)  # refused before reading it all
    if isinstance(data, str):
        return data.encode("utf-8", errors="replace")
    return bytes(data)


def _looks_binary(raw: bytes) -> bool:
    """NUL bytes or many control characters: a spreadsheet, archive or image, not text."""
    sample = raw[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13)) + sample.count(127)
    return controls > 0.05 * len(sample)


def _decode_text(raw: bytes) -> tuple[str, list[str]]:
    """Text of the file: UTF-8 (BOM allowed), UTF-16 with a BOM, else latin-1 (with a note)."""
    notes: list[str] = []
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export: UTF-16 with a byte-order mark (and NULs in every char).
        try:
            text = raw.decode("utf-16")
            notes.append("file decoded as UTF-16")
        except UnicodeDecodeError:
            raise _not_text() from None
    elif _looks_binary(raw):
        raise _not_text()
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
            notes.append("file is not valid UTF-8: decoded as latin-1")
    if not text.strip():
        raise ValueError(
            "CSV file is empty: it has no header and no rows. Upload a CSV with a header line "
            "and at least two data rows."
        )
    return text, notes


def _not_text() -> ValueError:
    return ValueError(
        "File is not a text CSV: it holds binary data (an Excel workbook, archive or image?). "
        "Save it as CSV (comma-separated text) and upload that."
    )


# -- parsing -----------------------------------------------------------------------------------
def _sniff_delimiter(text: str) -> str:
    """The delimiter among , ; tab | that the first lines use consistently; ',' by default."""
    sample = text[:16384]
    lines = [line for line in sample.splitlines()[:21] if line.strip()]
    if len(text) > len(sample):
        lines = lines[:-1]  # the last line of a cut sample may be partial
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] else ","


def _parse_table(text: str, nrows: int | None = None) -> tuple[list[str], pd.DataFrame, str]:
    """Header names and the body as a DataFrame of stripped strings (NaN where empty); with
    `nrows`, only that many lines (the header included) are parsed."""
    sep = _sniff_delimiter(text)
    try:
        # header=None keeps duplicate names unmangled and makes pandas hold every row to the
        # header's width; dtype=str leaves the numeric/text decision per column to us.
        table = pd.read_csv(
            io.StringIO(text), sep=sep, header=None, dtype=str, skipinitialspace=True, nrows=nrows
        )
    except pd.errors.EmptyDataError:
        raise ValueError("CSV file is empty: it has no header line. Add one.") from None
    except pd.errors.ParserError as err:
        raise _parser_error(err) from None
    table = table.apply(lambda column: column.str.strip()).replace(list(MISSING), np.nan)
    names = [str(v) if isinstance(v, str) else "" for v in table.iloc[0]]
    header = [name or f"column_{i + 1}" for i, name in enumerate(names)]
    return header, table.iloc[1:].reset_index(drop=True), sep


def _read_table(text: str, target: str, notes: list[str]) -> tuple[list[str], pd.DataFrame, int]:
    """Unique column names, the non-blank body rows and the target's index; notes appended."""
    header, body, sep = _parse_table(text)
    if sep != ",":
        notes.append(f"delimiter {sep!r} detected")
    target_index = _find_target(header, target)
    header, rename_notes = _rename_duplicates(header)
    notes += rename_notes
    body = _drop_blank_rows(body)
    if len(body) < MIN_ROWS:
        raise ValueError(
            f"CSV has {len(body)} data row(s) under its header; at least {MIN_ROWS} are "
            "needed (one to train on, one to validate). Add more rows."
        )
    return header, body, target_index


def _parser_error(err: Exception) -> ValueError:
    message = str(err).replace("Error tokenizing data. C error: ", "").strip()
    if "Expected" in message and "fields" in message:
        return ValueError(
            f"CSV row has more fields than the header: {message}. Every row needs one value per "
            "header column: fix that line (a stray delimiter or an unquoted text value?)."
        )
    if "EOF inside string" in message:
        return ValueError(f"CSV has an unclosed quote: {message}. Close or remove that quote.")
    return ValueError(f"Could not parse the CSV: {message}")


def _rename_duplicates(header: list[str]) -> tuple[list[str], list[str]]:
    """Later copies of a repeated name become name.1, name.2, ... (as pandas does), noted."""
    taken = set(header)
    seen: set[str] = set()
    renamed: list[str] = []
    notes: list[str] = []
    for name in header:
        if name not in seen:
            seen.add(name)
            renamed.append(name)
            continue
        suffix = 1
        while f"{name}.{suffix}" in taken:
            suffix += 1
        new = f"{name}.{suffix}"
        taken.add(new)
        renamed.append(new)
        notes.append(f"duplicate column name {name!r}: the repeat was renamed {new!r}")
    return renamed, notes


def _find_target(header: list[str], target: str) -> int:
    if target not in header:
        shown = ", ".join(repr(h) for h in header[:30]) + (" ..." if len(header) > 30 else "")
        raise ValueError(
            f"CSV has no column {target!r}. Available columns: {shown}. Pick one of these as the "
            "target (the first line of the file is read as the header)."
        )
    if header.count(target) > 1:
        raise ValueError(
            f"CSV has more than one column named {target!r}, so the target is ambiguous. "
            "Rename the columns so each name is unique."
        )
    if len(header) < 2:
        raise ValueError(
            f"CSV has only the target column {target!r}: add at least one feature column."
        )
    return header.index(target)


def _drop_blank_rows(body: pd.DataFrame) -> pd.DataFrame:
    # A line of bare delimiters (",,,") is an empty row, not a row of missing values.
    return body[body.notna().any(axis=1)].reset_index(drop=True)
