"""What the Train page costs the browser: the main-thread time of Chromium's renderer (the
Chrome DevTools Protocol's Performance.getMetrics TaskDuration: every task it ran, script,
style, layout and paint) for the page's own work, as a visitor lives it.

1. Per short run: Train pressed on a run that ends at once (xor, 500 points, 1 epoch), from
   the click to 1.5 s after "finished" shows: the click's new run, a redraw or two and the
   run's end. The first press warms up and is not counted.
2. Per second of a live run (xor, batch 8, 2,000 epochs, stopped after the window): the live
   redraws, measured over --window seconds once the run has trained for 2 s.
3. Where a short run's browser time goes, on the run `dashboard.py` part 3 trains two at once
   (xor, 100,000 points, 6 epochs, about a second), the page opened anew before each press as
   there: from the click to the first step shown (Streamlit's rerun of the run's fragments:
   the buttons, status and the live view), from there to "finished" (the browser's polls of
   the run's feed, then Streamlit's rerun at the run's end), and the 1.5 s after. Each phase's
   renderer main-thread time and CPU seconds of all of Chromium's processes (the browser
   process and the GPU process's compositor too). On 2 cores this is what two visitors'
   tabs take from two runs at once.

On a 2-core box the browser shares the cores with the worker training the run; on Streamlit
Community Cloud the browser runs on the visitor's machine. The server is `streamlit run
app.py` from this checkout on a loopback port, with its own run store in a temporary folder.

    python benchmarks/browser_cost.py                 # 6 short runs, 4 live windows of 5 s
    python benchmarks/browser_cost.py --short 10 --live 0 --phases 0
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import dashboard
from dashboard import running_server, server_env  # the same server the dashboard measures
from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
SHORT = "dataset=xor&epochs=1"
LIVE = "dataset=xor&epochs=2000&batch_size=8"


def task_seconds(cdp) -> float:
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def open_train(page: Page, url: str, query: str):
    page.goto(f"{url}/train?{query}")
    train = page.get_by_role("button", name="Train", exact=True)
    train.wait_for()
    time.sleep(5)  # the page and its charts settle
    return train


def press_when_enabled(train) -> None:
    while not train.is_enabled():
        time.sleep(0.1)
    time.sleep(1.5)  # the last redraw has painted
    train.click()


def short_runs(page: Page, cdp, url: str, count: int) -> list[float]:
    train = open_train(page, url, SHORT)
    costs = []
    for index in range(count + 1):
        press_when_enabled(train)
        before = task_seconds(cdp) if index else 0.0
        page.get_by_text(f"run {index + 1} finished").wait_for(timeout=120_000)
        time.sleep(1.5)
        if index:
            costs.append(task_seconds(cdp) - before)
    return costs


def live_windows(page: Page, cdp, url: str, count: int, window: float) -> list[float]:
    train = open_train(page, url, LIVE)
    shares = []
    for index in range(count):
        press_when_enabled(train)
        page.get_by_text(f"run {index + 1}: Running").wait_for(timeout=120_000)
        time.sleep(2)
        before, started = task_seconds(cdp), time.perf_counter()
        time.sleep(window)
        shares.append((task_seconds(cdp) - before) / (time.perf_counter() - started))
        page.get_by_role("button", name="Stop", exact=True).click()
        page.get_by_text(f"run {index + 1} stopped").wait_for(timeout=120_000)
    return shares


PHASES = ("click -> first step", "first step -> finished", "the 1.5 s after")


def phases(browser, url: str, server_pid: int, count: int) -> list[list[tuple[float, float]]]:
    """`count` presses of part 3's run (after one that warms up): per phase (PHASES), the
    renderer's main-thread seconds and all of Chromium's CPU seconds."""
    query = dashboard.query_for("xor", 100_000, 6)
    page = dashboard.new_page(browser)  # with the dashboard's stopwatch (the page's stamps)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def mark() -> tuple[float, float]:
        chromium = [p for p in dashboard.process_tree(os.getpid()) if is_chromium(p)]
        return task_seconds(cdp), dashboard.cpu_s(chromium)

    rows = []
    for index in range(count + 1):
        dashboard.open_train(page, url, query)
        dashboard.wait_quiet(server_pid)
        time.sleep(1.5)  # the page has painted and gone still
        marks = [mark()]
        dashboard.press_train(page)
        for stamp in ("firstStep", "finished"):
            dashboard.wait_stamp(page, stamp)
            marks.append(mark())
        time.sleep(1.5)
        marks.append(mark())
        if index:
            rows.append([(b[0] - a[0], b[1] - a[1]) for a, b in zip(marks, marks[1:])])
    page.context.close()
    return rows


def is_chromium(pid: int) -> bool:
    return b"chromium" in dashboard.cmdline(pid)


def describe(values: list[float], unit: str) -> str:
    if not values:
        return "not measured"
    q = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return (
        f"median {statistics.median(values):.3f} {unit} (quartiles {q[0]:.3f}-{q[2]:.3f}; "
        + ", ".join(f"{v:.3f}" for v in values)
        + ")"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", type=int, default=6, help="short runs counted")
    parser.add_argument("--live", type=int, default=4, help="live windows")
    parser.add_argument("--window", type=float, default=5.0, help="seconds per live window")
    parser.add_argument("--phases", type=int, default=6, help="short runs split in phases")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()} at the start")
    with (
        tempfile.TemporaryDirectory(prefix="tapeboard-browser-cost-") as folder,
        running_server(Path(folder) / "server.log", server_env(None)) as server,
        sync_playwright() as playwright,
    ):
        time.sleep(10)  # the workers import TensorFlow and warm up
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page, cdp = new_page(browser)
        values = short_runs(page, cdp, server.url, args.short) if args.short else []
        print(
            f"1. per short run (click -> finished + 1.5 s): {describe(values, 's of main thread')}"
        )
        page.close()
        page, cdp = new_page(browser)
        values = live_windows(page, cdp, server.url, args.live, args.window)
        print(f"2. per second of a live run: {describe(values, 's of main thread a second')}")
        page.close()
        if args.phases:
            rows = phases(browser, server.url, server.process.pid, args.phases)
            print("3. a short run (xor, 100,000 points, 6 epochs), by phase:")
            for i, name in enumerate(PHASES):
                main_s = describe([row[i][0] for row in rows], "s of main thread")
                cpu = statistics.median(row[i][1] for row in rows)
                print(f"   {name}: {main_s}; Chromium {cpu:.3f} CPU-s")
            total = statistics.median(sum(cell[1] for cell in row) for row in rows)
            print(f"   in all: Chromium {total:.3f} CPU-s a run (median)")
        browser.close()
    print(f"load average {os.getloadavg()} at the end")


def new_page(browser) -> tuple[Page, object]:
    """A tab, and the CDP session that reports its renderer's task time."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    return page, cdp


if __name__ == "__main__":
    main()
