"""An epoch checkpoint as bytes: what a worker sends the server, and the store keeps, so an
interrupted run resumes on any server (a Community Cloud app keeps no local disk: the
checkpoint must live in the database with the run).

A `tf.train.CheckpointManager` folder holds the last two checkpoints and an index file; only
the latest travels, with an index naming it alone. Plain file work: no TensorFlow here.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

INDEX = "checkpoint"  # the manager's index file: which checkpoint is the latest
_LATEST = re.compile(r'^model_checkpoint_path:\s*"([^"]+)"', re.MULTILINE)


def latest_name(folder: str | Path) -> str | None:
    """The latest checkpoint's prefix in `folder` ("ckpt-3"), or None before the first."""
    try:
        found = _LATEST.search((Path(folder) / INDEX).read_text())
    except OSError:
        return None
    return Path(found.group(1)).name if found else None


def pack(folder: str | Path) -> bytes | None:
    """The latest checkpoint in `folder` as one zip (stored, not compressed: float weights
    barely compress, and the worker packs while the run trains)."""
    name = latest_name(folder)
    if name is None:
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(Path(folder).glob(f"{name}.*")):
            archive.write(path, path.name)
        archive.writestr(INDEX, _index(name))
    return buffer.getvalue()


def unpack(blob: bytes, folder: str | Path) -> None:
    """Write a packed checkpoint into `folder`, where the manager finds it as its latest."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        for member in archive.namelist():
            if "/" in member or "\\" in member or member.startswith("."):
                raise ValueError(f"A checkpoint holds an unexpected file: {member!r}")
            (folder / member).write_bytes(archive.read(member))


def _index(name: str) -> str:
    return f'model_checkpoint_path: "{name}"\nall_model_checkpoint_paths: "{name}"\n'
