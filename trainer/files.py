"""Atomic writes: a reader, a crash or a kill sees the old file or the new one, never half."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write` on a temporary file in the same folder, then rename it over `path`.

    Same folder, so the rename is atomic (one filesystem); the temporary name keeps the suffix,
    because some writers pick the format from it (`model.save(...)` needs `.keras`). If `write`
    fails, the temporary file is removed and the old `path` stays as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text))
