"""The run store: every run kept in a real database, so a run's link works tomorrow.

SQLAlchemy Core over the database `TAPEBOARD_DB` names (any SQLAlchemy URL; PostgreSQL with
`postgresql+psycopg://...`), by default a SQLite file in `TAPEBOARD_HOME` (`~/.tapeboard`).
Kept per run: config, the data it trained on (described; an uploaded CSV's arrays, once per
content), state and end, timings, epoch metrics, every batch's loss and training time (float32
arrays, one row per write rather than one per batch), the `.keras` model. The schema carries a
version and is migrated forward when an older store is opened.

Writes go through `service.writer.StoreWriter`, one thread that writes whatever piled up at
most about once a second in one transaction: a crash loses at most the last second, and a page
never waits on the database. A store that cannot be opened or written (a wrong URL, an
unreachable server, a read-only or full disk, a corrupt file) never stops training:
`StoreError` says which setting failed and why, and the runs say "not saved".
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from service.schema import (
    RUN_TABLES,
    SchemaError,
    batches_table,
    checkpoints_table,
    datasets_table,
    epochs_table,
    migrate,
    runs_table,
)


class StoreError(Exception):
    """The store cannot be used: the message names the setting and says why."""


def default_url(env: Mapping[str, str] | None = None) -> str:
    """TAPEBOARD_DB, else a SQLite file in TAPEBOARD_HOME (default ~/.tapeboard)."""
    env = os.environ if env is None else env
    if env.get("TAPEBOARD_DB", "").strip():
        return env["TAPEBOARD_DB"].strip()
    home = Path(env.get("TAPEBOARD_HOME", "").strip() or "~/.tapeboard").expanduser()
    return f"sqlite:///{home / 'tapeboard.db'}"


def describe_url(url: str) -> str:
    """The URL without a password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: say it as given, it has no parsable password
        return url


@dataclass
class StoredRun:
    """A run as the store has it: the row, its epochs and every batch recorded."""

    row: dict[str, Any]
    epochs: list[dict[str, Any]]
    steps: np.ndarray
    loss: np.ndarray
    elapsed: np.ndarray


class Store:
    """One database: open (creating or migrating its tables), read, and write in a batch."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        self.where = f"TAPEBOARD_DB ({describe_url(self.url)})"
        try:
            self.engine = _make_engine(self.url)
            with self.engine.begin() as conn:
                migrate(conn)
        except (StoreError, SchemaError) as err:
            raise StoreError(str(err)) from None
        except Exception as err:
            raise StoreError(f"{self.where} could not be opened: {_reason(err)}") from None

    def close(self) -> None:
        self.engine.dispose()

    # -- writing (the writer thread calls these inside one transaction) --------------------
    def write(self, work: Any) -> None:
        """Everything in a `service.writer.WriteBatch`, in one transaction."""
        try:
            with self.engine.begin() as conn:
                for run_id, (last_step, last_epoch) in work.truncations.items():
                    _truncate(conn, run_id, last_step, last_epoch)
                for row in work.runs.values():
                    _upsert(conn, runs_table, {"id": row["id"]}, row)
                for run_id, parts in work.batches.items():
                    _insert_batches(conn, run_id, parts)
                for row in work.epochs:
                    _upsert(
                        conn, epochs_table, {"run_id": row["run_id"], "epoch": row["epoch"]}, row
                    )
                for run_id, saved in work.checkpoints.items():
                    _put_checkpoint(conn, run_id, saved)
                for digest, blob in work.datasets.items():
                    if (
                        conn.execute(
                            sa.select(datasets_table.c.digest).where(
                                datasets_table.c.digest == digest
                            )
                        ).first()
                        is None
                    ):
                        conn.execute(datasets_table.insert().values(digest=digest, data=blob))
                for run_id in work.deletes:
                    for table in RUN_TABLES:
                        conn.execute(table.delete().where(table.c.run_id == run_id))
                    conn.execute(runs_table.delete().where(runs_table.c.id == run_id))
        except Exception as err:
            raise StoreError(f"{self.where} could not be written: {_reason(err)}") from None

    # -- reading ----------------------------------------------------------------------------
    def load(self, run_id: str) -> StoredRun | None:
        try:
            with self.engine.connect() as conn:
                row = (
                    conn.execute(sa.select(runs_table).where(runs_table.c.id == run_id))
                    .mappings()
                    .first()
                )
                if row is None:
                    return None
                epochs = _rows_of(conn, epochs_table, run_id, epochs_table.c.epoch)
                parts = _rows_of(conn, batches_table, run_id, batches_table.c.first_step)
        except Exception as err:
            raise StoreError(f"{self.where} could not be read: {_reason(err)}") from None
        steps, loss, elapsed = _join_batches(parts)
        epoch_rows = [
            {
                "epoch": e["epoch"],
                "step": e["step"],
                "elapsed_s": e["elapsed_s"],
                **json.loads(e["metrics"]),
            }
            for e in epochs
        ]
        return StoredRun(dict(row), epoch_rows, steps, loss, elapsed)

    def load_checkpoint(self, run_id: str) -> tuple[int, int, bytes] | None:
        """(epoch, step, packed checkpoint) of the run's latest checkpoint, or None."""
        table = checkpoints_table
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    sa.select(table.c.epoch, table.c.step, table.c.data).where(
                        table.c.run_id == run_id
                    )
                ).first()
        except Exception as err:
            raise StoreError(f"{self.where} could not be read: {_reason(err)}") from None
        return None if row is None else (int(row[0]), int(row[1]), bytes(row[2]))

    def list_runs(self, owner: str, limit: int = 1000) -> list[dict[str, Any]]:
        """`owner`'s runs, newest first: every column but the model (nothing per batch).
        Nor the columns after it: SQLite keeps a large blob inline, so reading a column that
        follows it walks the blob's overflow pages (tens of KB a row, seconds for 1,000 rows)."""
        columns = [c for c in runs_table.c if c.name not in ("model", "model_step")]
        query = (
            sa.select(*columns, (runs_table.c.model.is_not(None)).label("has_model"))
            .where(runs_table.c.owner == owner)
            .order_by(runs_table.c.created.desc())
            .limit(limit)
        )
        try:
            with self.engine.connect() as conn:
                return [dict(r) for r in conn.execute(query).mappings()]
        except Exception as err:
            raise StoreError(f"{self.where} could not be read: {_reason(err)}") from None

    def count_runs(self, owner: str, leaving_out: Collection[str] = ()) -> int:
        """How many runs `owner` has here, the ids in `leaving_out` not counted."""
        query = (
            sa.select(sa.func.count())
            .select_from(runs_table)
            .where(runs_table.c.owner == owner, runs_table.c.id.not_in(list(leaving_out)))
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def load_dataset(self, digest: str) -> bytes | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(datasets_table.c.data).where(datasets_table.c.digest == digest)
            ).first()
        return None if row is None else bytes(row[0])

    def owners_count(self, owner: str) -> int:
        """The highest run number `owner` has used (their next run gets the one after)."""
        query = sa.select(sa.func.max(runs_table.c.number)).where(runs_table.c.owner == owner)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)


# -- helpers ---------------------------------------------------------------------------------
def _make_engine(url: str) -> sa.Engine:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        # A SQLite URI ("file:...?uri=true") names its file after "file:"; making the folder of
        # the raw name would leave a stray "file:" folder in the working directory.
        if parsed.query.get("uri") == "true" and database.startswith("file:"):
            database = database.removeprefix("file:")
        if database and database != ":memory:":
            folder = Path(database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(
                    f"TAPEBOARD_DB ({url}): its folder {folder} could not be created "
                    f"({err.strerror or err})."
                ) from None
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            # WAL: readers (pages) never wait for the writer thread, nor it for them.
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            except Exception:  # a read-only file: reading still works, writes say why
                pass
            finally:
                cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, connect_args=_connect_args(parsed))


def _connect_args(parsed: sa.URL) -> dict[str, Any]:
    # An unreachable PostgreSQL must not hang the app's start for minutes.
    return {"connect_timeout": 5} if parsed.get_backend_name() == "postgresql" else {}


def _upsert(conn: sa.Connection, table: sa.Table, key: dict, row: dict) -> None:
    where = sa.and_(*(table.c[name] == value for name, value in key.items()))
    if conn.execute(table.update().where(where).values(**row)).rowcount == 0:
        conn.execute(table.insert().values(**row))


def _insert_batches(conn: sa.Connection, run_id: str, parts: list) -> None:
    """The batches of one run since the last write, as one row: consecutive steps."""
    parts.sort(key=lambda part: part[0])
    first = parts[0][0]
    loss = np.concatenate([p[1] for p in parts])
    elapsed = np.concatenate([p[2] for p in parts])
    conn.execute(
        batches_table.insert().values(
            run_id=run_id,
            first_step=first,
            count=len(loss),
            loss=loss.tobytes(),
            elapsed=elapsed.tobytes(),
        )
    )


def _put_checkpoint(conn: sa.Connection, run_id: str, saved: tuple[int, int, bytes] | None) -> None:
    table = checkpoints_table
    conn.execute(table.delete().where(table.c.run_id == run_id))
    if saved is not None:
        epoch, step, blob = saved
        conn.execute(table.insert().values(run_id=run_id, epoch=epoch, step=step, data=blob))


def _truncate(conn: sa.Connection, run_id: str, last_step: int, last_epoch: int) -> None:
    """Drop what a run recorded after its checkpoint: whole rows after it, and the tail of
    the row that spans it."""
    b, e = batches_table, epochs_table
    conn.execute(e.delete().where(e.c.run_id == run_id, e.c.epoch > last_epoch))
    conn.execute(b.delete().where(b.c.run_id == run_id, b.c.first_step > last_step))
    spanning = (
        conn.execute(
            sa.select(b).where(
                b.c.run_id == run_id,
                b.c.first_step <= last_step,
                b.c.first_step + b.c.count - 1 > last_step,
            )
        )
        .mappings()
        .all()
    )
    for row in spanning:
        keep = last_step - row["first_step"] + 1
        conn.execute(
            b.update()
            .where(b.c.run_id == run_id, b.c.first_step == row["first_step"])
            .values(
                count=keep,
                loss=bytes(row["loss"])[: 4 * keep],
                elapsed=bytes(row["elapsed"])[: 4 * keep],
            )
        )


def _rows_of(conn: sa.Connection, table: sa.Table, run_id: str, order: sa.Column) -> list:
    """A run's rows of a per-run table (epochs, batch arrays), in `order`."""
    query = sa.select(table).where(table.c.run_id == run_id).order_by(order)
    return list(conn.execute(query).mappings().all())


def _join_batches(parts: Iterable[Mapping]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    steps, losses, elapsed = [], [], []
    next_step = 0
    for part in parts:
        first, count = part["first_step"], part["count"]
        if first < next_step:  # a row written twice (a retried write): keep the first
            continue
        steps.append(np.arange(first, first + count, dtype=np.int64))
        losses.append(np.frombuffer(part["loss"], dtype="<f4"))
        elapsed.append(np.frombuffer(part["elapsed"], dtype="<f4"))
        next_step = first + count
    if not steps:
        empty = np.zeros(0)
        return empty.astype(np.int64), empty, empty
    return (
        np.concatenate(steps),
        np.concatenate(losses).astype(np.float64),
        np.concatenate(elapsed).astype(np.float64),
    )


def _reason(err: Exception) -> str:
    """The database's own words, shortest form (SQLAlchemy wraps them with SQL and links)."""
    orig = getattr(err, "orig", None) or err
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return f"{text} ({type(orig).__name__})"
