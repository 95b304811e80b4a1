"""The run store's tables, their version, and the migrations that bring an older store up to
date. SQLAlchemy Core: the same schema on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

SCHEMA_VERSION = 2
# A run still open in the store but not written for this long was on a server that stopped:
# a training run is written every second, a paused or waiting one touched every 15 s.
STALE_S = {"running": 5.0, "stepping": 5.0}
STALE_QUIET_S = 45.0


def is_stale(row: Mapping[str, Any], now: float | None = None) -> bool:
    """True when a stored run that never ended belongs to a server that is gone."""
    if row["end"]:
        return False
    limit = STALE_S.get(row["status"], STALE_QUIET_S)
    return (now or time.time()) - row["updated"] > limit


metadata = sa.MetaData()
meta_table = sa.Table(
    "tapeboard_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
runs_table = sa.Table(
    "tapeboard_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Column("config", sa.Text, nullable=False),  # RunConfig JSON
    sa.Column("data_title", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # JSON: what the data was (and a CSV's digest)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("end", sa.Text, nullable=True),  # JSON: reason, message, step, epoch, metrics
    sa.Column("steps", sa.Integer, nullable=False),
    sa.Column("training_s", sa.Float, nullable=False),
    sa.Column("steps_per_epoch", sa.Integer, nullable=False),
    sa.Column("num_train", sa.Integer, nullable=False),
    sa.Column("num_val", sa.Integer, nullable=False),
    sa.Column("replicas", sa.Integer, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),  # JSON: the last epoch's metrics
    sa.Column("best", sa.Float, nullable=True),  # the ranking metric's best, for listing
    sa.Column("model", sa.LargeBinary, nullable=True),
    sa.Column("model_step", sa.Integer, nullable=False),
    sa.Index("tapeboard_runs_owner", "owner", "created"),
)
batches_table = sa.Table(
    "tapeboard_batches",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("first_step", sa.Integer, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("loss", sa.LargeBinary, nullable=False),  # float32, little-endian
    sa.Column("elapsed", sa.LargeBinary, nullable=False),  # float32 seconds of training
)
epochs_table = sa.Table(
    "tapeboard_epochs",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("epoch", sa.Integer, primary_key=True),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("elapsed_s", sa.Float, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),
)
datasets_table = sa.Table(
    "tapeboard_datasets",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),  # .npz of the arrays + a JSON header
)
checkpoints_table = sa.Table(
    "tapeboard_checkpoints",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("epoch", sa.Integer, nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),  # service.checkpoints.pack bytes
)
RUN_TABLES = (batches_table, epochs_table, checkpoints_table)


class SchemaError(Exception):
    """The store's schema is newer than this app's."""


def migrate(conn: sa.Connection) -> None:
    """Create the tables of an empty database; bring an older store up to SCHEMA_VERSION;
    refuse a newer one (its data would be misread)."""
    inspector = sa.inspect(conn)
    if not inspector.has_table(meta_table.name):
        metadata.create_all(conn)
        conn.execute(meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        return
    version = int(
        conn.execute(
            sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
        ).scalar_one()
    )
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"TAPEBOARD_DB holds a store of schema version {version}, newer than this app's "
            f"({SCHEMA_VERSION}): update the app, or point TAPEBOARD_DB at another database."
        )
    if version == SCHEMA_VERSION:
        return  # nothing to write: a read-only store still opens for reading
    for step in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[step](conn)
    metadata.create_all(conn)  # tables added since, created empty
    conn.execute(
        meta_table.update()
        .where(meta_table.c.key == "schema_version")
        .values(value=str(SCHEMA_VERSION))
    )


# Version n -> the changes from n-1. Add an entry (and bump SCHEMA_VERSION) with each change.
MIGRATIONS: dict[int, Callable[[sa.Connection], Any]] = {
    2: lambda conn: None,  # tapeboard_checkpoints, a new table: create_all adds it
}
