"""The run service's side of the store: what to write as a run goes, and runs read back.

Never in the way of training: with no usable store every method is a no-op (reads return
nothing), and `problem` says why in one sentence that names the setting.
"""

from __future__ import annotations

import functools
import hashlib
import json
import weakref
from collections.abc import Collection
from typing import Any

from service import protocol as p
from service import records
from service.runs import Run
from service.store import Store, StoreError, default_url
from service.writer import StoreWriter
from trainer.config import RunConfig

OFF = "none"  # TAPEBOARD_DB=none: runs live in memory only, as before the store


class Keeper:
    def __init__(self, url: str | None = None) -> None:
        self.store: Store | None = None
        self.writer: StoreWriter | None = None
        self._error: str | None = None
        self._digests: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.off = (url or default_url()).strip().lower() == OFF
        if self.off:
            return  # asked to keep nothing (a throwaway demo box, a benchmark's baseline)
        try:
            self.store = Store(url)
            self.writer = StoreWriter(self.store)
        except StoreError as err:
            self._error = f"{err} Runs are not saved."
            print(f"tapeboard: {self._error}", flush=True)

    @property
    def problem(self) -> str | None:
        """Why runs are not being saved (a sentence naming the setting), or None."""
        return self._error or (self.writer.problem if self.writer else None)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.store is not None:
            self.store.close()

    # -- writing (cheap: the writer thread does the database work) -------------------------------
    def save(self, run: Run, *, with_model: bool) -> None:
        """The run's row as it stands (call under its lock)."""
        if (self.writer is None and not self.off) or self.problem:
            run.saved = False
        if self.writer is not None:
            self.writer.put_run(records.run_row(run, with_model=with_model))

    def record(self, run: Run, message: Any) -> None:
        """What a worker reported (under the run's lock): batches and epochs as rows, the run's
        row updated, with the model when it just came (a pause, the end)."""
        if self.writer is None:
            run.saved = self.off
            return
        if isinstance(message, p.Batches):
            columns = message.columns
            self.writer.put_batches(
                run.id, int(columns["step"][0]), columns["loss"], columns["elapsed_s"]
            )
        elif isinstance(message, p.Epoch):
            self.writer.put_epoch(
                run.id, message.epoch, message.step, message.elapsed_s, message.metrics
            )
        elif isinstance(message, p.Checkpoint):
            self.writer.put_checkpoint(run.id, (message.epoch, message.step, message.data))
        elif isinstance(message, (p.Ended, p.Failed)):
            self.writer.put_checkpoint(run.id, None)  # only an interrupted run resumes
        self.save(run, with_model=isinstance(message, (p.Paused, p.Ended)))

    def keep_data(self, run: Run, dataset: Any) -> None:
        """An uploaded CSV's arrays go into the store once (by content), so the run's link
        can show Evaluate tomorrow; registry sets are loaded again by name."""
        if run.config.dataset != "csv" or self.writer is None:
            return
        digest = self._digests.get(dataset)
        if digest is None:  # packed once per upload, however many runs train on it
            blob = records.pack_dataset(dataset)
            digest = hashlib.sha256(blob).hexdigest()
            self._digests[dataset] = digest
            self.writer.put_dataset(digest, blob)
        run.data_info["digest"] = digest

    def rewind(self, run: Run, last_step: int, last_epoch: int) -> None:
        """The stored run as of its checkpoint: what it recorded after that is dropped."""
        if self.writer is not None:
            self.writer.truncate(run.id, last_step, last_epoch)

    def delete(self, run_id: str) -> None:
        """Gone from the store before this returns: the next listing must not show it."""
        if self.writer is not None:
            self.writer.delete(run_id)
            self.writer.flush()

    # -- reading -----------------------------------------------------------------------------------
    def load(self, run_id: str) -> tuple[Run, bool] | None:
        """(the run as stored, whether it was left open by a server that is gone), or None."""
        if self.store is None:
            return None
        try:
            stored = self.store.load(run_id)
        except StoreError:
            return None
        if stored is None:
            return None
        from service.schema import is_stale

        run = records.run_from_stored(stored, self._dataset(stored.row))
        return run, is_stale(stored.row)

    def load_checkpoint(self, run_id: str) -> tuple[int, int, bytes] | None:
        """(epoch, step, packed checkpoint) the run can resume from, or None."""
        if self.store is None:
            return None
        try:
            return self.store.load_checkpoint(run_id)
        except StoreError:
            return None

    def summaries(self, owner: str, limit: int) -> list[records.RunSummary]:
        if self.store is None:
            return []
        try:
            return [records.summary_from_row(row) for row in self.store.list_runs(owner, limit)]
        except StoreError:
            return []  # `problem` says why; the runs in memory are still listed

    def count_runs(self, owner: str, leaving_out: Collection[str] = ()) -> int:
        """How many runs `owner` has in the store, the ids in `leaving_out` not counted."""
        try:
            return self.store.count_runs(owner, leaving_out) if self.store else 0
        except Exception:  # unreadable: `problem` says why
            return 0

    def runs_started(self, owner: str) -> int:
        """The highest run number `owner` has used (their next run gets the one after)."""
        try:
            return self.store.owners_count(owner) if self.store else 0
        except Exception:  # an unreadable store: numbering starts over, nothing breaks
            return 0

    def _dataset(self, row: dict) -> Any:
        """The data a stored run trained on: an upload from the store, a registry set loaded
        by name (None when that needs a download first, or cannot be read)."""
        info = json.loads(row["data"])
        try:
            if "digest" in info:
                blob = self.store.load_dataset(info["digest"])
                return records.unpack_dataset(blob) if blob else None
            from trainer.datasets import is_cached

            config = RunConfig.from_json(row["config"])
            if not is_cached(config.dataset):
                return None  # downloaded again on the Data page; until then no Evaluate
            return _registry_split(
                config.dataset,
                config.noise,
                config.num_samples,
                config.seed,
                config.validation_split,
            )
        except (ValueError, OSError, StoreError):
            return None


@functools.lru_cache(maxsize=8)
def _registry_split(name: str, noise: float, num_samples: int, seed: int, fraction: float) -> Any:
    """A registry set as runs trained on it, shared by every stored run on the same data."""
    from trainer.data import split_validation
    from trainer.datasets import load_dataset

    data = load_dataset(name, noise=noise, num_samples=num_samples, seed=seed)
    return split_validation(data, fraction, seed)
