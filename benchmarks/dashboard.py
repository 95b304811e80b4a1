"""Training through the dashboard vs headless trainer.train, same config, in one run.

Starts `streamlit run app.py` on a loopback port, opens the Train page with the config in the
link in Debian's Chromium (Playwright), presses Train and waits for the run to finish; then runs
the same config headless. Both first do a small warm-up run (the TensorFlow import), then are
timed from the first pull to the final event (tracing included): headless around the loop,
in the app by the Train page itself (time spent pulling and drawing, which it shows when the
run finishes). The click-to-finished time in the browser is printed too. First it reports
what one chart update costs after 100 to 1,000,000 steps (bounded by decimation).

    python benchmarks/dashboard.py                 # seed model, xor 100k points, 8 epochs
    python benchmarks/dashboard.py --epochs 4 --samples 50000

Both the browser and the server share this machine's cores here; on Streamlit Community Cloud
the browser runs on the visitor's machine, so this is the harder case.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log: Path) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    # The benchmark's run is bigger than a public server's default budget allows.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TAPEBOARD_MAX_SAMPLE_EPOCHS": str(10**9)}
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as reply:
                if reply.read() == b"ok":
                    return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"streamlit did not start:\n{log.read_text()[-3000:]}")


def run_in_browser(page, port: int, query: str) -> float:
    from playwright.sync_api import expect

    page.goto(f"http://127.0.0.1:{port}/train?{query}")
    train = page.get_by_role("button", name="Train", exact=True)
    expect(train).to_be_enabled(timeout=60_000)
    started = time.perf_counter()
    train.click()
    page.get_by_text(re.compile(r"run \d+ finished")).wait_for(timeout=600_000)
    return time.perf_counter() - started


def browser_cpu_s() -> float:
    """CPU seconds used so far by Chromium's renderer processes (Linux /proc): the page's
    JavaScript, layout and painting, which share this machine's cores with the training."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if b"--type=renderer" not in (stat.parent / "cmdline").read_bytes():
                continue
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def browser_round(page, port: int, query: str) -> tuple[float, float, int, float]:
    """One run in the app: (click-to-finished s, the page's own training s, steps, browser
    CPU s from click to finished)."""
    cpu = browser_cpu_s()
    seconds = run_in_browser(page, port, query)
    cpu = browser_cpu_s() - cpu
    status = page.get_by_text(re.compile(r"run \d+ finished")).first.inner_text()
    found = re.search(r"([\d,]+) steps in ([\d.]+) s of training", status)
    return seconds, float(found.group(2)), int(found.group(1).replace(",", "")), cpu


def headless_round(query: str) -> tuple[float, int]:
    """The same run headless, timed from the first pull to the end as the page times it."""
    import trainer
    from ui.share import STARTER

    config = trainer.RunConfig.from_query(query, base=STARTER)
    data = trainer.split_validation(trainer.dataset_for(config), config.validation_split, 0)
    model = trainer.build_model(config, data)  # as the page does before it pulls
    events = trainer.train(config, data, model=model)
    start = time.perf_counter()
    steps = sum(isinstance(e, trainer.BatchEnd) for e in events)
    return time.perf_counter() - start, steps


def redraw_cost(steps: int, repeats: int = 20) -> tuple[float, int]:
    """Server-side cost of one loss-chart update after `steps` batches, as the Train page draws
    it: decimate the history, smooth, take the cached spec, and serialize the two tables as
    Arrow IPC (what Streamlit sends). Returns (ms, bytes sent)."""
    import json

    import pyarrow as pa

    from trainer.events import BatchEnd, EpochEnd
    from trainer.history import History
    from ui import charts
    from ui.state import Run

    history = History(capacity=steps, steps_per_epoch=1000)
    rng = np.random.default_rng(0)
    losses = np.exp(-np.arange(steps) / (steps / 5)) + rng.random(steps) * 0.1
    for step, loss in enumerate(losses):
        history.record(BatchEnd(step, step // 1000, step % 1000, float(loss), 64 * (step + 1), 0.0))
        if step % 1000 == 999:
            history.record(EpochEnd(step // 1000, {"loss": float(loss), "val_loss": 1.0}, step, 0))
    run = Run(id=1, config=None, data_title="", num_train=0, num_val=0, steps_per_epoch=1000,
              history=history)  # fmt: skip
    started = time.perf_counter()
    for _ in range(repeats):
        batches, epochs = run.curves(600, 0.6)
        spec = json.dumps(charts.live_loss_spec(hover=False))  # as while a run trains
        tables = [
            pa.Table.from_pandas(frame).to_batches()
            for frame in charts.loss_frames(batches, epochs).values()
        ]
        sent = len(spec) + sum(b.nbytes for t in tables for b in t)
    return (time.perf_counter() - started) / repeats * 1000, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="xor", help="a registry name (default: xor)")
    parser.add_argument("--samples", type=int, default=100_000, help="Playground sets only")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redraw-only", action="store_true", help="only the redraw-cost rows")
    parser.add_argument(
        "--tf-threads",
        help="TAPEBOARD_TF_THREADS for both sides (default: the app's, 1; 0: TF's default)",
    )
    args = parser.parse_args()
    if args.tf_threads is not None:
        os.environ["TAPEBOARD_TF_THREADS"] = args.tf_threads
    from ui.limits import Limits, tensorflow_environment

    # The app sizes TensorFlow's pools from TAPEBOARD_TF_THREADS before TensorFlow starts; the
    # headless side starts TensorFlow here with the same sizes (the server inherits them too).
    limits = Limits.from_env()
    tf_threads = limits.tf_threads
    for name, value in tensorflow_environment(limits).items():
        os.environ.setdefault(name, value)
    print(f"{'chart update after':<22}{'ms':>8}{'bytes sent':>12}")
    for steps in (100, 10_000, 100_000, 1_000_000):
        ms, size = redraw_cost(steps)
        print(f"{steps:>10,} steps{'':<6}{ms:>8.1f}{size:>12,}")
    if args.redraw_only:
        return
    from ui.share import STARTER

    # The app reads a link relative to its starting config (ui.share.STARTER), so the query is
    # written relative to it too, and read back the same way for the headless runs.
    config = STARTER.replace(dataset=args.dataset, num_samples=args.samples, epochs=args.epochs)
    query = config.to_query(STARTER)
    warmup = config.replace(num_samples=500, epochs=1).to_query(STARTER)
    port = free_port()
    log = Path(tempfile.mkdtemp()) / "streamlit.log"
    server = start_server(port, log)
    from playwright.sync_api import sync_playwright

    rounds: list[tuple[float, float, float, float]] = []  # (click s, app s, headless s, cpu s)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            run_in_browser(page, port, warmup)  # TensorFlow import in the server
            headless_round(warmup)  # ...and here
            for _ in range(args.rounds):  # interleaved: a noisy moment hits both alike
                click_s, app_s, steps, cpu_s = browser_round(page, port, query)
                headless_s, headless_steps = headless_round(query)
                assert steps == headless_steps, (steps, headless_steps)
                rounds.append((click_s, app_s, headless_s, cpu_s))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    click_s, app_s, headless_s, cpu_s = (statistics.median(r[i] for r in rounds) for i in range(4))
    ours, theirs = steps / app_s, steps / headless_s
    # Each round's pair ran back to back; the median of their ratios is the least troubled by
    # this machine's drifts (a 2-vCPU VM whose speed moves by 30% from one minute to the next).
    ratios = [h / a for _, a, h, _ in rounds]
    ratio = statistics.median(ratios)
    low, _, high = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratio,) * 3
    print(f"\nconfig: {query}  ({steps:,} steps, log_every={config.log_every}), "
          f"median of {args.rounds} interleaved rounds")  # fmt: skip
    print(f"TensorFlow threads per pool, both sides: {tf_threads or 'TF default'} "
          "(TAPEBOARD_TF_THREADS)")  # fmt: skip
    print(f"{'training time, first pull to end':<40}{'seconds':>9}{'steps/s':>10}")
    print(f"{'headless trainer.train':<40}{headless_s:>9.2f}{theirs:>10.0f}")
    print(f"{'dashboard in Chromium (pulling+drawing)':<40}{app_s:>9.2f}{ours:>10.0f}")
    print(
        f"dashboard / headless: {ratio:.2f}x, median of the rounds' ratios (quartiles "
        f"{low:.2f}-{high:.2f}x; bar 0.90x); per round: " + ", ".join(f"{r:.2f}x" for r in ratios)
    )
    print(f"browser CPU while training (renderer processes): {cpu_s:.2f} s, "
          f"{cpu_s / click_s:.0%} of a core")  # fmt: skip
    print(f"click on Train -> 'finished' shown in the browser: {click_s:.2f} s (page reruns, "
          "model build and the last render included)")  # fmt: skip


if __name__ == "__main__":
    main()
