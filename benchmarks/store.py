"""What keeping runs costs: training time with the store on and off, bytes kept, and the Runs
page over a store of 10,000 runs.

1. Cost. Two run services side by side, each with one warm worker: one keeps its runs in a
   SQLite file (the default store), the other keeps nothing (TAPEBOARD_DB=none). The same run
   (xor, 100,000 points, 16 epochs, the run-service issue's config) is started on each in turn,
   rounds interleaved so a noisy minute hits both; per run the wall time from `start` to
   finished (what the page's "press Train -> finished" adds to the loop) and the engine's
   training time. Ratio: off / on (bar >= 0.98, at most 2% slower with the store). A third
   service keeps a checkpoint after every epoch (TAPEBOARD_CHECKPOINT_S=0) to show what the
   default period (10 s) saves.
2. Bytes. For the runs of part 1 and for a digits run: bytes per 1,000 steps (the per-batch
   arrays), and per run: batches, epochs, the row, the model, a checkpoint.
3. The Runs page over 10,000 stored runs of one browser: a SQLite store filled with 10,000 runs
   (rows as the service writes them, 200 batches and 5 epochs each, a real model's bytes);
   then (a) the listing the page asks for (`RunService.summaries`, the newest LIST_LIMIT) on
   a fresh service, and (b) as a user lives it: `streamlit run app.py` on that store,
   Chromium with the browser's cookie opens /runs: seconds from the navigation's start to the
   first frame with the table, by the page's clock (checked every frame); then the same tab
   opens it again (the app's scripts in its cache, as for any browser that has used the app,
   which one with runs kept has). Bar < 2 s. Beside it, in the same visits, a second browser
   whose 5 runs are in the same store opens the same page: the difference is what 10,000 runs
   cost; the rest is what the page's elements cost whatever the number of runs (each visit
   also prints when the title appeared, and the time as this script saw it).

    python benchmarks/store.py                 # everything
    python benchmarks/store.py --parts 1 --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from service import RunService, Settings  # noqa: E402
from service.records import run_row  # noqa: E402
from service.store import Store  # noqa: E402
from service.writer import StoreWriter  # noqa: E402
from trainer.config import RunConfig  # noqa: E402
from ui.state import LIST_LIMIT  # noqa: E402

OWNER = "benchmark-browser-key-0123456789"
MANY = 10_000
FEW = 5
VISITS = {
    "first": "first visit (empty cache)",
    "again": "visit again (the app's scripts cached)",
}


def xor_config() -> RunConfig:
    return RunConfig(dataset="xor", num_samples=100_000, epochs=16)


def split_of(config: RunConfig):
    from trainer.data import split_validation
    from trainer.datasets import dataset_for

    return split_validation(dataset_for(config), config.validation_split, config.seed)


def run_once(service: RunService, config: RunConfig, data) -> tuple[float, float, str]:
    """(wall seconds start -> finished, the engine's training seconds, run id)."""
    started = time.perf_counter()
    run = service.start(config, data, owner=OWNER)
    while not run.finished:
        time.sleep(0.005)
    wall = time.perf_counter() - started
    assert run.end.reason == "completed", run.end.message
    return wall, run.training_s, run.id


def quiet(seconds: float = 1.0) -> None:
    time.sleep(seconds)  # the store's writer and the worker's reports settle


# -- 1. cost ------------------------------------------------------------------------------------
def measure_cost(folder: Path, rounds: int) -> dict:
    config = xor_config()
    data = split_of(config)
    services = {
        "off": RunService(Settings(max_concurrent=1), store_url="none"),
        "on": RunService(Settings(max_concurrent=1), store_url=f"sqlite:///{folder / 'on.db'}"),
        "every epoch": RunService(
            Settings(max_concurrent=1, checkpoint_s=0),
            store_url=f"sqlite:///{folder / 'every.db'}",
        ),
    }
    try:
        for service in services.values():
            assert service.wait_until_ready(180), "a worker did not warm up"
            run_once(service, config, data)  # the first run of a worker traces the step
        walls = {name: [] for name in services}
        engine = {name: [] for name in services}
        ids = []
        for _ in range(rounds):
            for name, service in services.items():
                quiet()
                wall, trained, run_id = run_once(service, config, data)
                walls[name].append(wall)
                engine[name].append(trained)
                if name == "on":
                    ids.append(run_id)
        quiet(2)
        return {"walls": walls, "engine": engine, "ids": ids}
    finally:
        for service in services.values():
            service.close()


def report_cost(measured: dict) -> None:
    walls, engine = measured["walls"], measured["engine"]
    print("\n1. Cost of the store (xor, 100,000 points, 16 epochs; medians)")
    for name in walls:
        print(
            f"   store {name:<12} start -> finished {statistics.median(walls[name]):6.3f} s   "
            f"engine training {statistics.median(engine[name]):6.3f} s"
        )
    ratios = [off / on for off, on in zip(walls["off"], walls["on"], strict=True)]
    ratio = statistics.median(ratios)
    every = statistics.median(walls["off"]) / statistics.median(walls["every epoch"])
    print(
        f"   ratio off / on (wall): median {ratio:.3f} "
        f"(rounds {', '.join(f'{r:.3f}' for r in ratios)}) -> "
        f"{'meets' if ratio >= 0.98 else 'MISSES'} the bar >= 0.98"
    )
    print(f"   a checkpoint every epoch instead of every 10 s: off / on {every:.3f}")


# -- 2. bytes -----------------------------------------------------------------------------------
def bytes_of(url: str, run_id: str) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:

        def one(sql: str) -> int:
            return int(conn.execute(sa.text(sql), {"id": run_id}).scalar() or 0)

        sizes = {
            "steps": one("SELECT SUM(count) FROM tapeboard_batches WHERE run_id = :id"),
            "batches": one(
                "SELECT SUM(LENGTH(loss) + LENGTH(elapsed) + 40) FROM tapeboard_batches "
                "WHERE run_id = :id"
            ),
            "batch rows": one("SELECT COUNT(*) FROM tapeboard_batches WHERE run_id = :id"),
            "epochs": one(
                "SELECT SUM(LENGTH(metrics) + 40) FROM tapeboard_epochs WHERE run_id = :id"
            ),
            "model": one("SELECT LENGTH(model) FROM tapeboard_runs WHERE id = :id"),
            "row": one(
                "SELECT LENGTH(config) + LENGTH(data) + LENGTH(COALESCE(\"end\", '')) "
                "+ LENGTH(metrics) + 200 FROM tapeboard_runs WHERE id = :id"
            ),
        }
    engine.dispose()
    return sizes


def measure_digits_with_checkpoint(folder: Path) -> dict:
    url = f"sqlite:///{folder / 'digits.db'}"
    service = RunService(Settings(max_concurrent=1, checkpoint_s=0), store_url=url)
    try:
        assert service.wait_until_ready(180)
        config = RunConfig(epochs=20)
        data = split_of(config)
        run = service.start(config, data, owner=OWNER)
        checkpoint = None
        while checkpoint is None and not run.finished:  # the writer stores it within a second
            time.sleep(0.05)
            checkpoint = service.keeper.load_checkpoint(run.id)
        while not run.finished:
            time.sleep(0.01)
        quiet(2)
        sizes = bytes_of(url, run.id)
        sizes["checkpoint"] = len(checkpoint[2]) if checkpoint else 0
        return sizes
    finally:
        service.close()


def report_bytes(folder: Path, ids: list[str], digits: dict) -> None:
    print("\n2. Bytes kept")
    runs = {"xor 100k x 16 epochs": bytes_of(f"sqlite:///{folder / 'on.db'}", ids[0])}
    runs["digits x 20 epochs"] = digits
    for name, sizes in runs.items():
        per_1000 = 1000 * sizes["batches"] / max(sizes["steps"], 1)
        total = sizes["batches"] + sizes["epochs"] + sizes["model"] + sizes["row"]
        print(
            f"   {name:<22} {sizes['steps']:>7,} steps in {sizes['batch rows']:,} batch rows: "
            f"{per_1000:,.0f} B per 1,000 steps; per run: batches {sizes['batches']:,} B, "
            f"epochs {sizes['epochs']:,} B, row {sizes['row']:,} B, model {sizes['model']:,} B"
            f" = {total / 1024:,.0f} KiB"
            + (
                f"; a checkpoint while training {sizes['checkpoint']:,} B"
                if "checkpoint" in sizes
                else ""
            )
        )


# -- 3. the Runs page over 10,000 runs ---------------------------------------------------------
def fill(url: str, count: int, model: bytes, owner: str, prefix: str = "run") -> float:
    """`count` finished runs of `owner`, written as the service writes them; seconds taken."""
    from service.runs import Run
    from trainer.events import EpochEnd, TrainingEnd
    from trainer.history import History

    started = time.perf_counter()
    store = Store(url)
    writer = StoreWriter(store, interval=3600)
    rng = np.random.default_rng(0)
    config = RunConfig(dataset="xor", num_samples=500, epochs=5, batch_size=10)
    for i in range(count):
        history = History(capacity=8, steps_per_epoch=40)
        for epoch in range(5):
            metrics = {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.4, "val_accuracy": 0.9}
            history.record(EpochEnd(epoch, metrics, 40 * epoch + 39, 0.1 * epoch))
        run = Run(
            id=f"{prefix}{i:06d}", owner=owner, number=i + 1, config=config, data_title="XOR",
            steps_per_epoch=40, num_train=400, num_val=100, history=history,
            status="finished", model_bytes=model, model_step=199, created=1.7e9 + i,
        )  # fmt: skip
        run.end = TrainingEnd("completed", 199, 4, 1.0, metrics, "Completed 5 epochs.")
        # The history above holds epochs only; its 200 batches are written below.
        writer.put_run({**run_row(run, with_model=True), "steps": 200})
        writer.put_batches(run.id, 0, rng.random(200), np.linspace(0, 1, 200))
        for epoch in range(5):
            writer.put_epoch(run.id, epoch, 40 * epoch + 39, 0.1 * epoch, metrics)
        if i % 1000 == 999:
            writer.flush(timeout=600)
    writer.close()
    store.close()
    return time.perf_counter() - started


def a_model() -> bytes:
    service = RunService(Settings(max_concurrent=1), store_url="none")
    try:
        assert service.wait_until_ready(180)
        config = RunConfig(dataset="xor", num_samples=500, epochs=5, batch_size=10)
        run = service.start(config, split_of(config), owner=OWNER)
        while not run.finished:
            time.sleep(0.01)
        return run.model_bytes
    finally:
        service.close()


def time_listing(url: str, owner: str) -> tuple[float, float, int]:
    """(seconds to the first listing on a fresh service, a second listing, runs listed)."""
    from ui import downloads

    service = RunService(Settings(max_concurrent=1), store_url=url)
    try:
        started = time.perf_counter()
        summaries = service.summaries(owner, LIST_LIMIT)
        downloads.runs_table(summaries, lambda s: s.name)
        first = time.perf_counter() - started
        started = time.perf_counter()
        service.summaries(owner, LIST_LIMIT)
        again = time.perf_counter() - started
        return first, again, len(summaries)
    finally:
        service.close()


@contextlib.contextmanager
def stopping(server, stop):
    try:
        yield server
    finally:
        stop(server)


def browser_key_of(browser, url: str) -> tuple[str, dict]:
    """A new browser's key as the app gives it (its cookie), and the browser's state to carry
    it into later visits."""
    from dashboard import VIEWPORT
    from playwright.sync_api import expect

    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(f"{url}/runs")
    expect(page.get_by_text("No runs yet")).to_be_visible(timeout=120_000)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        if "tapeboard_browser" in cookies:
            state = context.storage_state()
            context.close()
            return cookies["tapeboard_browser"], state
        time.sleep(0.1)
    raise RuntimeError("the app did not give this browser a key")


def visit_runs_page(
    browser, url: str, state: dict, caption: str | None
) -> list[tuple[float, dict]]:
    """A new browser tab (its own, empty cache) opens /runs, then opens it again (its cache
    warm, as for anybody who has used the app before: a browser with runs kept has). Per
    visit: seconds from navigation to the table (and `caption`) shown, as this script saw it,
    and when the title and the table appeared in the page (ms from the navigation's start)."""
    from dashboard import APPEARED, VIEWPORT

    context = browser.new_context(viewport=VIEWPORT, storage_state=state)
    context.add_init_script(APPEARED)
    page = context.new_page()
    visits = []
    for _ in ("first", "again"):
        started = time.perf_counter()
        page.goto(f"{url}/runs")
        # Checked every frame in the page: Playwright's own waits poll at growing intervals
        # (up to a second), which measured the poll, not the page.
        page.wait_for_function(
            """(caption) => window.__appeared.stDataFrame !== undefined
                && (!caption || document.body.textContent.includes(caption))""",
            arg=caption,
            polling="raf",
            timeout=120_000,
        )
        visits.append((time.perf_counter() - started, page.evaluate("window.__appeared")))
    context.close()
    return visits


def time_runs_page(folder: Path, visits: int, model: bytes) -> tuple[dict, dict]:
    """Per visit, seconds from navigation to the Runs page's table (and caption) for a browser
    whose 10,000 runs are stored and for one whose 5 are, in turns; what the listing inside the
    server costs."""
    from dashboard import CHROMIUM, CHROMIUM_ARGS, server_env, start_server, stop_server, wait_quiet
    from playwright.sync_api import sync_playwright

    url = f"sqlite:///{folder / 'many.db'}"
    # Not dashboard.running_server: that one gives each server a new store of its own.
    server = start_server(folder / "server.log", {**server_env(None), "TAPEBOARD_DB": url})
    times = {(count, visit): [] for count in (MANY, FEW) for visit in VISITS}
    facts = {}
    with stopping(server, stop_server), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        many_owner, many_state = browser_key_of(browser, server.url)
        few_owner, few_state = browser_key_of(browser, server.url)
        facts["filled_s"] = fill(url, MANY, model, many_owner)
        fill(url, FEW, model, few_owner, prefix="few")
        facts["size_mb"] = (folder / "many.db").stat().st_size / 2**20
        facts["listing"] = time_listing(url, many_owner)
        wait_quiet(server.process.pid, 120)
        caption = f"of {MANY:,} kept runs are listed"
        for visit in range(visits + 1):  # the first visit warms the server's imports
            for count, state in ((MANY, many_state), (FEW, few_state)):
                shown = visit_runs_page(
                    browser, server.url, state, caption if count == MANY else None
                )
                for kind, measured in zip(VISITS, shown, strict=True):
                    if visit:
                        times[(count, kind)].append(measured)
        browser.close()
    return times, facts


def report_runs_page(folder: Path, visits: int) -> None:
    times, facts = time_runs_page(folder, visits, a_model())
    first, again, listed = facts["listing"]
    print(
        f"\n3. The Runs page over {MANY:,} stored runs "
        f"(filled in {facts['filled_s']:.0f} s, {facts['size_mb']:,.0f} MB)"
    )
    print(
        f"   listing (RunService.summaries + the table): {first:.3f} s fresh, "
        f"{again:.3f} s again; {listed:,} runs listed"
    )
    medians = {}
    for (count, kind), visited in times.items():
        # The page's own clock, from the navigation's start to the first frame with the table.
        shown = [a.get("stDataFrame", math.nan) / 1000 for _, a in visited]
        medians[(count, kind)] = statistics.median(shown)
        title = statistics.median(a.get("stHeading", math.nan) for _, a in visited) / 1000
        seen = statistics.median(t for t, _ in visited)
        print(
            f"   in Chromium, {count:,} runs, {VISITS[kind]}: navigation -> table shown: "
            f"median {medians[(count, kind)]:.2f} s (visits "
            f"{', '.join(f'{t:.2f}' for t in shown)}); title at {title:.2f} s; as this "
            f"script saw it (goto -> table and caption found): {seen:.2f} s"
        )
    for kind, words in VISITS.items():
        worst = max(a.get("stDataFrame", math.nan) / 1000 for _, a in times[(MANY, kind)])
        print(
            f"   {words}: {MANY:,} runs cost {medians[(MANY, kind)] - medians[(FEW, kind)]:+.2f} s "
            f"over {FEW}; the slowest {MANY:,}-run visit {worst:.2f} s -> "
            f"{'meets' if worst < 2 else 'MISSES'} the bar < 2 s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="1,2,3")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--visits", type=int, default=5)
    args = parser.parse_args()
    parts = {int(p) for p in args.parts.split(",")}
    os.environ.setdefault("TAPEBOARD_TF_THREADS", "1")
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="tapeboard-store-bench-") as name:
        folder = Path(name)
        print(f"stores in {folder}")
        if parts & {1, 2}:
            measured = measure_cost(folder, args.rounds)
            report_cost(measured)
            if 2 in parts:
                report_bytes(folder, measured["ids"], measure_digits_with_checkpoint(folder))
        if 3 in parts:
            report_runs_page(folder, args.visits)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
