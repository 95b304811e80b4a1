"""The dashboard as a user lives it, in Chromium, against the same work done as a script.

Every figure is measured through Debian's Chromium (Playwright) on `streamlit run app.py`
started here on a loopback port, the way a person starts it: its lifespan starts the run
service, whose worker processes import TensorFlow and warm up in the background, and every run
is trained by one of them. Times in the page are stamped by the page itself (a script added to
every page: the click on Train, the first "Step N of M" with N > 0, the status "run N
finished"), so Playwright's polling adds nothing to them. Each server has its own new run
store (TAPEBOARD_DB: a SQLite file) beside its log, in a temporary folder (printed).

1. Press Train -> "finished" vs the script. The config (xor, 100,000 points, 16 epochs) is
   put in the link; the server has trained it once first (warm). The script side is one
   subprocess with the same TensorFlow threads as the app's workers (TF_NUM_INTRAOP_THREADS /
   TF_NUM_INTEROP_THREADS from TAPEBOARD_TF_THREADS, 1 by default, set before TensorFlow is
   imported): it trains the config once to warm up, then, once per round, loads the data,
   builds the model (`trainer.prepare`) and consumes `.events` to the end. Rounds interleave
   (browser, script, browser, script, ...) so that a noisy minute hits both; before each
   press the server's processes are left to go quiet (the task worker that the app starts
   after a run, a replaced worker), as on a server that has been up a while. Ratio: script
   seconds / click-to-finished seconds (bar >= 0.9), median and quartiles.
2. The loop alone, same rounds: the engine's training time that the finish message reports (T:
   the compiled calls, the first one's tracing included, pauses excluded) vs the script's time
   to consume the events (perf_counter around the loop). Ratio script loop / T (bar >= 0.95);
   the script engine's own T is printed too.
3. Two runs at once: two browser contexts (two visitors) press Train together on the same,
   smaller config (xor, 100,000 points, 6 epochs); each one's click-to-finished vs the same
   run alone in that context, each press once the server is quiet. Ratio alone / together,
   per context (bar >= 0.8 each), and the cores each kind of process used meanwhile (the
   training workers, the server, Chromium). Then the same two runs through a RunService in
   this process with no browser (start() -> the run's end, alone and together): what the
   server itself does, as the issue measured its "today" (two runs in one process).
4. A fresh server: `streamlit run` started, 15 s after it answers /_stcore/health a visitor
   opens /train (the starter config) and presses Train: seconds from the click to the first
   step shown (the first loss on the chart; bar <= 2 s), split where the page shows the new
   run ("Step 0 of M": the server has it; then a worker builds and traces it). Meanwhile a
   second context opens /model: seconds to its heading, vs the same on an idle server of the
   same age (another fresh server, 15 s old, a visitor on /train who does not press Train)
   and on the settled idle server after the run (bar: about as quick as idle). Each visit
   is split by its websocket frames into the browser's part (loading Streamlit's frontend)
   and the server's (the page's request -> its script finished). At the same moments a
   visitor who has the app open already goes from Data to Model: seconds from the click on
   the sidebar's link to the Model heading (the issue's "other visitors' page changes"), and
   the server's part of it (the tab's rerun request -> its script finished, by the frames).
5. Memory: on a fresh server, Train pressed N times in a row (digits, the starter config with
   `?epochs=2`), each waiting for "finished"; after each, once the server's processes are
   quiet, the sum of VmRSS over the server and all its descendants (workers included).
   Least-squares slope over runs 10..N in MB a run (bar < 0.5), first and last totals.
6. Spectators: on the warm server, a visitor trains the config of parts 1-2 alone, then again
   while --spectators others (3) open the run's link as soon as it exists and watch it live;
   interleaved rounds. Ratios alone / watched of the run's training time T and of the owner's
   click -> finished (bar: nothing measurable, about 1.0), and the server process's CPU
   seconds during each run.

    python benchmarks/dashboard.py                          # everything, default sizes
    python benchmarks/dashboard.py --parts 1,2 --rounds 15  # only the script comparison
    python benchmarks/dashboard.py --rounds 1 --samples 20000 --memory-runs 12  # quick look

The browser, the server and its workers share this machine's cores; on Streamlit Community
Cloud the browser runs on the visitor's machine, so this is the harder case. Timing figures
from a machine whose cores someone else is using are not worth much: the load average is
printed at the start and at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [  # as tests/browser/conftest.py
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
START_TIMEOUT_S = 120.0  # streamlit answering /_stcore/health
RUN_TIMEOUT_MS = 900_000  # one run in the browser, on two busy cores
PAGE_TIMEOUT_MS = 120_000  # a page's first paint, a button enabled

# Added to every page before its own scripts: stamps (performance.now(), ms) the click on
# Train, then the new run's progress first shown ("Step 0 of M": the server has the run), its
# first step count > 0, and the first status naming an ended run other than the one shown at the
# click. Checked on every DOM mutation, with textContent only (no layout): it costs the page next
# to nothing.
STOPWATCH_JS = r"""
(() => {
  const progress = () => {
    const el = document.querySelector('[data-testid="tb-progress"]');
    const m = el && el.textContent.match(/Step ([\d,]+) of ([\d,]+)/);
    return m ? Number(m[1].replace(/,/g, '')) : null;
  };
  const ended = () => {
    for (const el of document.querySelectorAll('[data-testid="stAlert"]')) {
      const m = el.textContent.match(/(run \d+) (?:early )?(finished|failed|diverged|stopped)/);
      if (m) return [m[1], el.textContent.trim()];
    }
    return null;
  };
  window.__tbWatch = null;
  const check = () => {
    const w = window.__tbWatch;
    if (!w || w.finished !== null) return;
    const now = performance.now();
    const step = progress();
    if (step === null || step === 0) w.fresh = true;  // the new run's progress, not the old
    if (w.shown === null && w.fresh && step !== null) [w.shown, w.shownStep] = [now, step];
    if (w.firstStep === null && w.fresh && step !== null && step > 0) w.firstStep = now;
    const end = ended();
    if (end && end[0] !== w.before) {
      w.finished = now;
      w.text = end[1];
      if (w.firstStep === null) w.firstStep = now;
      if (w.shown === null) w.shown = now;
    }
  };
  document.addEventListener('click', (event) => {
    if (!event.target.closest || !event.target.closest('.st-key-btn_train')) return;
    const end = ended();
    window.__tbWatch = {click: performance.now(), clickEpochMs: Date.now(),
                        before: end && end[0], fresh: progress() === null,
                        shown: null, shownStep: null, firstStep: null, finished: null,
                        text: null};
  }, true);
  new MutationObserver(check).observe(document, {subtree: true, childList: true,
                                                 characterData: true});
})();
"""
# Polled every frame in the page: when (performance.now(), ms from the navigation's start) the
# first heading and the first table appeared. Playwright's own waits poll at growing intervals
# (up to a second): timed by them, a page's figure measured the poll.
APPEARED = """
window.__appeared = {};
(function poll() {
  for (const id of ["stHeading", "stDataFrame"]) {
    if (!(id in window.__appeared) && document.querySelector(`[data-testid="${id}"]`)) {
      window.__appeared[id] = performance.now();
    }
  }
  requestAnimationFrame(poll);
})();
"""
FINISHED = re.compile(r"(run \d+) finished: Completed (\d+) epochs?\. ([\d,]+) steps in ([\d.]+) s")


# -- servers -------------------------------------------------------------------------------------
@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path
    healthy_at: float  # time.monotonic() when /_stcore/health first answered


def server_env(tf_threads: str | None) -> dict[str, str]:
    """The server's environment: the benchmark's runs are bigger than a public server's default
    budget allows; TAPEBOARD_TF_THREADS only if asked (the app's default otherwise)."""
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONUNBUFFERED": "1",
        "TAPEBOARD_MAX_SAMPLE_EPOCHS": str(10**9),
    }
    if tf_threads is not None:
        env["TAPEBOARD_TF_THREADS"] = tf_threads
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    log: Path, env: dict[str, str], on_start: Callable[[int], None] | None = None
) -> Server:
    """`streamlit run app.py` on a free loopback port; returns once it answers its health URL.
    `on_start(pid)` is called as soon as the process exists, before it starts any other."""
    port = free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if on_start is not None:
        on_start(process.pid)  # Python and Streamlit take a second to import: still alone
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.read().strip() == b"ok":
                    return Server(process, url, log, time.monotonic())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)  # not listening yet: nothing to wait on but time
    stop_process(process)
    raise RuntimeError(f"streamlit did not start:\n{log.read_text(errors='replace')[-3000:]}")


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop_server(server: Server) -> None:
    """Terminate the server (kill it if it does not go); its workers exit when it goes. One
    that outlives it by 15 s is reported and killed by its id."""
    descendants = process_tree(server.process.pid)[1:]
    stop_process(server.process)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(alive(pid) for pid in descendants):
        time.sleep(0.1)
    for pid in filter(alive, descendants):
        print(f"  (process {pid} outlived the server by 15 s: killed)", flush=True)
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def running_server(
    log: Path, env: dict[str, str], on_start: Callable[[int], None] | None = None
) -> Iterator[Server]:
    """A server with its own run store: a new SQLite file beside its log (never the user's
    ~/.tapeboard store, nor a TAPEBOARD_DB of this shell)."""
    env = {**env, "TAPEBOARD_DB": f"sqlite:///{log.with_suffix('.db')}"}
    server = start_server(log, env, on_start)
    try:
        yield server
    finally:
        stop_server(server)


# -- processes, from /proc -------------------------------------------------------------------------
def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (each thread's children file: a child started by any
    thread of a process counts)."""
    tree, i = [pid], 0
    while i < len(tree):
        for children in Path(f"/proc/{tree[i]}/task").glob("*/children"):
            with suppress(OSError):  # the thread or process may have ended meanwhile
                tree.extend(int(child) for child in children.read_text().split())
        i += 1
    return tree


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0  # ended meanwhile (or a zombie: no VmRSS)


def cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def describe_process(pid: int) -> str:
    """A process's command, short: 'streamlit run app.py', 'service.worker'."""
    words = [w for w in cmdline(pid).decode(errors="replace").split("\0") if w]
    if "-m" in words:
        return " ".join(words[words.index("-m") + 1 :][:3])
    return Path(words[0]).name if words else f"pid {pid}"


def renderer_pids() -> list[int]:
    """Chromium's renderer processes started by this benchmark (the pages' JavaScript, layout
    and painting)."""
    return [pid for pid in process_tree(os.getpid()) if b"--type=renderer" in cmdline(pid)]


def quiet_tree(pid: int) -> list[int]:
    """The processes `wait_quiet` watches: the tree of `pid`, less Chromium and Playwright."""
    return [p for p in process_tree(pid) if not re.search(rb"chromium|playwright", cmdline(p))]


def runnable(pids: list[int]) -> bool:
    """True if a thread of these processes is running, waiting for a core, or in disk I/O; the
    thread asking does not count (it is running: asking)."""
    me = threading.get_native_id()
    for pid in pids:
        with suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                if int(task.name) == me:
                    continue
                with suppress(OSError, IndexError):
                    if (task / "stat").read_text().rsplit(")", 1)[1].split()[0] in "RD":
                        return True
    return False


def wait_quiet(pid: int, timeout: float = 60.0) -> float:
    """Wait until the process tree of `pid` is quiet: under 10% of a core over 0.5 s, and none
    of its processes runnable at either end (a worker being replaced imports TensorFlow for
    seconds, and on a busy machine it may be waiting for a core). Returns the seconds waited.
    This process's tree leaves out the browser and its Playwright driver, which are never
    still (waited on, they made every wait a 60-second timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        tree = quiet_tree(pid)
        before, busy = cpu_s(tree), runnable(tree)
        time.sleep(0.5)
        tree = quiet_tree(pid)
        if cpu_s(tree) - before < 0.05 and not busy and not runnable(tree):
            break
    return time.monotonic() - started


# -- the script side (a subprocess) --------------------------------------------------------------
def script_config(query: str):
    """The config a link with `query` gives in the app: relative to the app's starter, the
    task taken from the data, as the pages do."""
    from trainer.config import RunConfig
    from trainer.datasets import DATASETS
    from ui.share import STARTER

    config = RunConfig.from_query(query, base=STARTER)
    info = DATASETS.get(config.dataset)
    return config.replace(task=info.task) if info else config


def run_script_once(query: str) -> dict:
    """Load the data, build the model, consume every event: as a script would."""
    import trainer

    config = script_config(query)
    started = time.perf_counter()
    data = trainer.dataset_for(config)
    training = trainer.prepare(config, data)  # the validation split, the model
    loop_started = time.perf_counter()
    steps, end = 0, None
    for event in training.events:
        steps += isinstance(event, trainer.BatchEnd)
        end = event
    finished = time.perf_counter()
    assert isinstance(end, trainer.TrainingEnd) and end.reason == "completed", end
    return {
        "total_s": finished - started,
        "loop_s": finished - loop_started,
        "engine_s": end.elapsed_s,
        "steps": steps,
    }


def serve_script_side(query: str) -> None:
    """The subprocess: one warm-up run of `query`, then one timed run per query read on stdin,
    each answered with a JSON line."""
    run_script_once(query)
    threads = (os.environ.get("TF_NUM_INTRAOP_THREADS"), os.environ.get("TF_NUM_INTEROP_THREADS"))
    print(json.dumps({"ready": True, "threads": threads}), flush=True)
    for line in sys.stdin:
        print(json.dumps(run_script_once(line.strip())), flush=True)


class ScriptSide:
    """The warm script process: started (its warm-up runs meanwhile), then asked for rounds."""

    def __init__(self, query: str, tf_env: dict[str, str], log: Path) -> None:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **tf_env}
        self.log = log
        with log.open("wb") as stderr:  # TensorFlow's start-up lines
            self.process = subprocess.Popen(
                [sys.executable, __file__, "--script-side", query],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        self.threads: list[str | None] | None = None

    def wait_ready(self) -> None:
        self.threads = self._read()["threads"]

    def run(self, query: str) -> dict:
        self.process.stdin.write(query + "\n")
        self.process.stdin.flush()
        return self._read()

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the script side exited ({code}):\n{tail}")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            stop_process(self.process)


def tensorflow_env(tf_threads: str | None) -> dict[str, str]:
    """TF_NUM_*_THREADS as the app's workers get them (service.settings)."""
    from service.settings import Settings, tensorflow_environment

    env = dict(os.environ)
    if tf_threads is not None:
        env["TAPEBOARD_TF_THREADS"] = tf_threads
    return tensorflow_environment(Settings.from_env(env))


# -- the browser -----------------------------------------------------------------------------------
@dataclass
class Watch:
    """One press of Train as the page stamped it (seconds from the click)."""

    shown_s: float  # the page first shows the new run's progress (the server has the run)
    shown_step: int | None  # ...at this step: 0, unless the page took longer than a worker
    first_step_s: float
    finished_s: float | None
    click_epoch_ms: float
    text: str


def new_page(browser):
    """A new visitor: a fresh context (cookies, Streamlit session) with the stopwatch."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(STOPWATCH_JS)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    return context.new_page()


def train_button(page):
    return page.locator(".st-key-btn_train button").filter(visible=True)


def open_train(page, url: str, query: str) -> float:
    """Open /train?query; seconds until the Train button is enabled."""
    from playwright.sync_api import expect

    started = time.perf_counter()
    page.goto(f"{url}/train?{query}" if query else f"{url}/train")
    expect(train_button(page)).to_be_enabled(timeout=PAGE_TIMEOUT_MS)
    return time.perf_counter() - started


def press_train(page) -> None:
    train_button(page).click()


def press_train_together(pages) -> float:
    """Press Train in every page at the same moment: each page clicks its button itself at one
    wall-clock time (the pages share this machine's clock), not one after the other from here.
    Returns that time (epoch seconds)."""
    for page in pages:
        train_button(page).wait_for()
    at_ms = page.evaluate("() => Date.now()") + 250 * len(pages)
    for page in pages:
        page.evaluate(
            """(at) => {
                const button = [...document.querySelectorAll('.st-key-btn_train button')]
                    .find((b) => b.offsetParent !== null && !b.disabled);
                if (!button) throw new Error("no enabled Train button");
                setTimeout(() => button.click(), at - Date.now());
            }""",
            at_ms,
        )
    return at_ms / 1000


def wait_stamp(page, name: str, timeout_ms: float = RUN_TIMEOUT_MS) -> Watch:
    """Wait until the page has stamped `name` (firstStep or finished) since the last click."""
    page.wait_for_function(
        f"() => window.__tbWatch && window.__tbWatch.{name} !== null",
        polling=100,
        timeout=timeout_ms,
    )
    w = page.evaluate("() => window.__tbWatch")
    shown, first, finished = (
        None if w[name] is None else (w[name] - w["click"]) / 1000
        for name in ("shown", "firstStep", "finished")
    )
    return Watch(shown, w["shownStep"], first, finished, w["clickEpochMs"], w["text"])


def finish_figures(watch: Watch) -> tuple[int, float]:
    """(steps, T) from the finish message; fails on a run that did not complete."""
    found = FINISHED.search(watch.text or "")
    if not found:
        raise RuntimeError(f"the run did not complete: {watch.text!r}")
    return int(found[3].replace(",", "")), float(found[4])


def browser_run(page, server: Server, query: str) -> Watch:
    """Open the link, wait until the server's processes are quiet (a warm server: no worker
    still starting), press Train, wait for "finished"."""
    open_train(page, server.url, query)
    wait_quiet(server.process.pid)
    press_train(page)
    watch = wait_stamp(page, "finished")
    finish_figures(watch)
    return watch


@dataclass
class Visit:
    """A new visitor's /model, split where the server's work begins and ends (the websocket's
    frames, by this process's clock): the browser loads and starts Streamlit's frontend
    (`boot_s`: navigation -> its first request on the websocket), the server runs the page
    (`server_s`: that request -> the script-finished message), and the heading shows
    (`heading_s`: navigation -> the first frame with it, by the page's clock)."""

    heading_s: float
    boot_s: float
    server_s: float


def time_model_page(browser, url: str) -> Visit:
    """A new visitor opens /model: seconds to the first frame with its heading, and where they
    went (`Visit`)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    page = new_page(browser)
    page.context.add_init_script(APPEARED)
    marks: dict[str, float] = {}

    def mark(name: str) -> None:
        marks.setdefault(name, time.perf_counter() - started)

    def on_frame(payload) -> None:
        if isinstance(payload, bytes) and ForwardMsg.FromString(payload).HasField(
            "script_finished"
        ):
            mark("finished")

    def on_websocket(ws) -> None:
        ws.on("framesent", lambda _: mark("request"))
        ws.on("framereceived", on_frame)

    page.on("websocket", on_websocket)
    try:
        started = time.perf_counter()
        page.goto(f"{url}/model", wait_until="commit")
        page.wait_for_function(
            "() => window.__appeared.stHeading !== undefined",
            polling="raf",
            timeout=PAGE_TIMEOUT_MS,
        )
        heading = page.evaluate("window.__appeared.stHeading") / 1000
        deadline = time.perf_counter() + 10
        while "finished" not in marks and time.perf_counter() < deadline:
            page.wait_for_timeout(20)  # the script-finished frame follows the heading's
        request = marks.get("request", float("nan"))
        return Visit(heading, request, marks.get("finished", float("nan")) - request)
    finally:
        page.context.close()


# -- figures -----------------------------------------------------------------------------------
def quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (values[0],) * 3
    low, mid, high = statistics.quantiles(values, n=4, method="inclusive")
    return low, mid, high


def describe_ratios(values: list[float]) -> str:
    low, mid, high = quartiles(values)
    return f"median {mid:.2f}x (quartiles {low:.2f}-{high:.2f}x, {len(values)} rounds)"


def verdict(ok: bool) -> str:
    return "meets the bar" if ok else "MISSES the bar"


def slope_per_run(runs: list[int], totals: list[float]) -> float:
    """Least-squares slope of totals over run numbers."""
    mean_x, mean_y = statistics.fmean(runs), statistics.fmean(totals)
    sxx = sum((x - mean_x) ** 2 for x in runs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(runs, totals, strict=True))
    return sxy / sxx if sxx else 0.0


def query_for(dataset: str, samples: int, epochs: int) -> str:
    from ui.share import STARTER

    return STARTER.replace(dataset=dataset, num_samples=samples, epochs=epochs).to_query(STARTER)


# -- 1 and 2: the page vs the script -------------------------------------------------------------
def measure_against_script(
    browser, server: Server, query: str, rounds: int, tf_env: dict[str, str], log: Path
) -> dict:
    """Warm both sides with one run of `query`, then interleave rounds."""
    script = ScriptSide(query, tf_env, log)  # imports TensorFlow, warms up meanwhile
    page = new_page(browser)
    try:
        browser_run(page, server, query)
        script.wait_ready()
        results = []
        for number in range(1, rounds + 1):
            open_train(page, server.url, query)
            wait_quiet(server.process.pid)
            renderers = renderer_pids()
            cpu = cpu_s(renderers)
            press_train(page)
            watch = wait_stamp(page, "finished")
            cpu = cpu_s(renderers) - cpu
            steps, training_s = finish_figures(watch)
            side = script.run(query)
            if side["steps"] != steps:
                raise RuntimeError(f"the page trained {steps} steps, the script {side['steps']}")
            results.append({"watch": watch, "steps": steps, "T": training_s, "cpu": cpu, **side})
            print(
                f"  round {number}: click->finished {watch.finished_s:.2f} s (T {training_s:.2f}"
                f" s), script {side['total_s']:.2f} s (loop {side['loop_s']:.2f} s)",
                flush=True,
            )
    finally:
        page.context.close()
        script.close()
    return {"rounds": results, "threads": script.threads}


def report_against_script(measured: dict, query: str) -> None:
    rounds = measured["rounds"]
    steps = rounds[0]["steps"]
    ratios = [r["total_s"] / r["watch"].finished_s for r in rounds]
    median = statistics.median
    print(f"\n1. Train -> finished in Chromium vs the script ({query}, {steps:,} steps)")
    print(f"   TF threads per pool, both sides: {measured['threads']} (intra-op, inter-op)")
    click = median(r["watch"].finished_s for r in rounds)
    print(f"   click -> 'finished' in the page   {click:7.2f} s  (medians)")
    print(f"   script: data, model, all events  {median(r['total_s'] for r in rounds):7.2f} s")
    print(
        f"   script / browser: {describe_ratios(ratios)}; bar >= 0.90: "
        f"{verdict(median(ratios) >= 0.9)}"
    )
    print("   per round: " + ", ".join(f"{r:.2f}" for r in ratios))
    shown = median(r["watch"].shown_s for r in rounds)
    first = median(r["watch"].first_step_s for r in rounds)
    outside = median(r["watch"].finished_s - r["T"] for r in rounds)
    print(
        f"   in the page (medians): click -> run shown {shown:.2f} s, -> first step {first:.2f} s;"
        f" click -> finished minus T (the engine's time) {outside:.2f} s"
    )
    cpu = median(r["cpu"] / r["watch"].finished_s for r in rounds)
    print(f"   browser renderers' CPU while training: {cpu:.0%} of a core (median)")

    loop_ratios = [r["loop_s"] / r["T"] for r in rounds]
    engine_ratios = [r["engine_s"] / r["T"] for r in rounds]
    print("\n2. The loop alone: the page's T (engine time in the finish message) vs the script's")
    print(f"   page T                          {median(r['T'] for r in rounds):7.2f} s")
    print(f"   script: consuming the events    {median(r['loop_s'] for r in rounds):7.2f} s")
    print(f"   script's own engine T           {median(r['engine_s'] for r in rounds):7.2f} s")
    print(
        f"   script loop / page T: {describe_ratios(loop_ratios)}; bar >= 0.95: "
        f"{verdict(median(loop_ratios) >= 0.95)}"
    )
    print("   per round: " + ", ".join(f"{r:.2f}" for r in loop_ratios))
    print(f"   (like for like, script engine T / page T: {describe_ratios(engine_ratios)})")


# -- 3: two at once ------------------------------------------------------------------------------
def measure_two_at_once(browser, server: Server, query: str, rounds: int, warm: bool) -> dict:
    """Each context alone, then both pressing Train together; `rounds` times. While the two
    train together, the CPU seconds of each kind of process: where the cores went."""
    pages = [new_page(browser), new_page(browser)]
    alone: list[list[float]] = [[], []]
    together: list[list[float]] = [[], []]
    skews, shares = [], []
    try:
        if not warm:
            browser_run(pages[0], server, query)
        for _ in range(rounds):
            for i, page in enumerate(pages):
                alone[i].append(browser_run(page, server, query).finished_s)
            for page in pages:
                open_train(page, server.url, query)
            wait_quiet(server.process.pid)
            # Where the cores went from the clicks on (not in the quarter-second per page
            # before them, while the pages wait to click together).
            click_at = press_train_together(pages)
            time.sleep(max(0.0, click_at - time.time()))
            before, started = cpu_by_kind(server), time.perf_counter()
            watches = [wait_stamp(page, "finished") for page in pages]
            spent = time.perf_counter() - started
            after = cpu_by_kind(server)
            shares.append({kind: (after[kind] - before.get(kind, 0.0)) / spent for kind in after})
            for i, watch in enumerate(watches):
                finish_figures(watch)
                together[i].append(watch.finished_s)
            skews.append(abs(watches[1].click_epoch_ms - watches[0].click_epoch_ms))
            print(
                f"  alone {alone[0][-1]:.2f} / {alone[1][-1]:.2f} s, together "
                f"{together[0][-1]:.2f} / {together[1][-1]:.2f} s",
                flush=True,
            )
    finally:
        for page in pages:
            page.context.close()
    return {"alone": alone, "together": together, "skews": skews, "shares": shares}


def cpu_by_kind(server: Server) -> dict[str, float]:
    """CPU seconds so far of the server's training workers, the server process (with its task
    worker) and this benchmark's Chromium (renderers and the rest)."""
    tree = process_tree(server.process.pid)
    workers = [pid for pid in tree if is_trainer(pid)]
    chromium = [pid for pid in process_tree(os.getpid()) if b"chromium" in cmdline(pid)]
    return {
        "training workers": cpu_s(workers),
        "server and task worker": cpu_s([pid for pid in tree if pid not in workers]),
        "Chromium": cpu_s(chromium),
    }


def is_trainer(pid: int) -> bool:
    """A worker process that trains (not the task worker, which evaluates for pages)."""
    if b"service.worker" not in cmdline(pid):
        return False
    try:
        return b"TAPEBOARD_WORKER_ROLE=train" in Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def measure_service_pair(query: str, rounds: int, log: Path) -> dict:
    """The same two runs through a RunService in this process, no browser: each alone, then
    both started together; seconds from start() to the run's end (what the server does, with
    nothing drawing: the figure the issue's 'today' was measured as)."""
    from service.service import RunService
    from service.settings import Settings
    from trainer.data import split_validation
    from trainer.datasets import dataset_for

    config = script_config(query)
    data = split_validation(dataset_for(config), config.validation_split, config.seed)
    service = RunService(Settings(max_concurrent=2), store_url=f"sqlite:///{log}")
    alone: list[list[float]] = [[], []]
    together: list[list[float]] = [[], []]

    def train(count: int) -> list[float]:
        started = time.perf_counter()
        runs = [service.start(config, data, owner="bench") for _ in range(count)]
        walls = [0.0] * count
        while not all(walls):
            for i, run in enumerate(runs):
                if run.finished and not walls[i]:
                    walls[i] = time.perf_counter() - started
                    assert run.end.reason == "completed", run.end.message
            time.sleep(0.005)
        return walls

    try:
        assert service.wait_until_ready(180), "a worker did not warm up"
        train(2)  # each worker's first run traces its step
        for _ in range(rounds):
            for i in range(2):
                wait_quiet(os.getpid())
                alone[i].append(train(1)[0])
            wait_quiet(os.getpid())
            for i, wall in enumerate(train(2)):
                together[i].append(wall)
            print(
                f"  service: alone {alone[0][-1]:.2f} / {alone[1][-1]:.2f} s, together "
                f"{together[0][-1]:.2f} / {together[1][-1]:.2f} s",
                flush=True,
            )
    finally:
        service.close()
    return {"alone": alone, "together": together}


def report_two_at_once(measured: dict, query: str, service: dict | None) -> None:
    print(f"\n3. Two runs at once ({query}): each visitor's click->finished alone / together")
    for i, name in enumerate("AB"):
        print(f"   visitor {name}: " + pair_figures(measured["alone"][i], measured["together"][i]))
    print(f"   the two clicks were {max(measured['skews']):.0f} ms apart at most")
    shares = measured["shares"]
    print(
        "   cores used while the two trained together (medians): "
        + ", ".join(
            f"{kind} {statistics.median(s[kind] for s in shares):.2f}" for kind in shares[0]
        )
        + f" of {os.cpu_count()}"
    )
    if service is not None:
        print("   the run service alone, no browser (start() -> the run's end):")
        for i, name in enumerate("AB"):
            print(f"   run {name}: " + pair_figures(service["alone"][i], service["together"][i]))


def pair_figures(alone: list[float], together: list[float]) -> str:
    ratios = [a / t for a, t in zip(alone, together, strict=True)]
    median = statistics.median
    return (
        f"alone {median(alone):.2f} s, together {median(together):.2f} s; alone / together "
        f"{describe_ratios(ratios)}; bar >= 0.80: {verdict(median(ratios) >= 0.8)}"
    )


# -- 6: spectators -------------------------------------------------------------------------------
def measure_spectators(browser, server: Server, query: str, rounds: int, count: int) -> dict:
    """One visitor trains alone, then trains again while `count` others watch its link live;
    `rounds` times. Per run: the engine's training time T (the finish message), click ->
    finished, and the CPU seconds the server process (not its workers) spent meanwhile."""
    owner = new_page(browser)
    spectators = [new_page(browser) for _ in range(count)]
    figures: dict[str, list] = {"alone": [], "watched": []}
    try:
        browser_run(owner, server, query)  # warm: the first run of a worker traces its step
        for _ in range(rounds):
            for kind in ("alone", "watched"):
                open_train(owner, server.url, query)
                wait_quiet(server.process.pid)
                before = cpu_s([server.process.pid])
                press_train(owner)
                if kind == "watched":
                    owner.wait_for_url("**run=*", timeout=PAGE_TIMEOUT_MS)
                    for spectator in spectators:  # they open the link as soon as it exists
                        spectator.goto(owner.url, wait_until="commit")
                watch = wait_stamp(owner, "finished")
                steps, engine_s = finish_figures(watch)
                server_cpu = cpu_s([server.process.pid]) - before
                if kind == "watched":
                    for spectator in spectators:  # each saw the run live, then finished
                        spectator.get_by_text(re.compile(r"run \d+ finished")).wait_for(
                            timeout=PAGE_TIMEOUT_MS
                        )
                figures[kind].append((engine_s, watch.finished_s, server_cpu))
            alone, watched = figures["alone"][-1], figures["watched"][-1]
            print(
                f"  T alone {alone[0]:.2f} s, watched {watched[0]:.2f} s; click->finished "
                f"{alone[1]:.2f} / {watched[1]:.2f} s; server CPU {alone[2]:.2f} / "
                f"{watched[2]:.2f} s",
                flush=True,
            )
    finally:
        for page in (owner, *spectators):
            page.context.close()
    return figures


def report_spectators(figures: dict, query: str, count: int) -> None:
    print(f"\n6. {count} spectators watching the run's link live ({query})")
    median = statistics.median
    pairs = list(zip(figures["alone"], figures["watched"], strict=True))
    engine = [a[0] / w[0] for a, w in pairs]
    lived = [a[1] / w[1] for a, w in pairs]
    print(
        f"   the run's training time T: alone {median(a[0] for a, _ in pairs):.2f} s, watched "
        f"{median(w[0] for _, w in pairs):.2f} s; alone / watched {describe_ratios(engine)}"
    )
    print(f"   the owner's click -> finished: alone / watched {describe_ratios(lived)}")
    print(
        f"   the server process's CPU during the run: alone "
        f"{median(a[2] for a, _ in pairs):.2f} s, watched {median(w[2] for _, w in pairs):.2f} s"
        " (the spectators' Chromium shares this box's cores; on Community Cloud it would not)"
    )


# -- 4: a fresh server -------------------------------------------------------------------------
def open_busy(page, server: Server, query: str) -> tuple[float, float, float]:
    """Open /train: (seconds until Train is enabled, and the cores that the server process and
    its workers kept busy meanwhile: workers still importing TensorFlow and warming up show)."""
    pid = server.process.pid
    workers = process_tree(pid)[1:]
    before, started = (cpu_s([pid]), cpu_s(workers)), time.monotonic()
    seconds = open_train(page, server.url, query)
    spent = time.monotonic() - started
    return seconds, (cpu_s([pid]) - before[0]) / spent, (cpu_s(workers) - before[1]) / spent


def measure_fresh_server(browser, env, workdir: Path, wait_s: float, query: str) -> dict:
    """A fresh server with nobody pressing Train (the reference), then one where a visitor
    presses Train; both `wait_s` after they first answered. On each, a visitor who has the
    app open already goes from Data to Model (`start_page_change`) as a new visitor opens
    /model: at the click on Train, and with nobody training."""
    result: dict = {}
    with running_server(workdir / "fresh-idle.log", env) as server:
        time.sleep(max(0.0, server.healthy_at + wait_s - time.monotonic()))
        page, other = new_page(browser), open_data_page(browser, server.url)
        wait_quiet(server.process.pid)  # its page drawn: the Data page is not what is timed
        result["idle_paint"] = open_busy(page, server, query)
        start_page_change(other, "Model")
        result["model_fresh_idle_s"] = time_model_page(browser, server.url)
        result["change_fresh_idle_s"] = page_change_s(other)
        page.context.close()
        other.page.context.close()
    with running_server(workdir / "fresh-train.log", env) as server:
        time.sleep(max(0.0, server.healthy_at + wait_s - time.monotonic()))
        page, other = new_page(browser), open_data_page(browser, server.url)
        wait_quiet(server.process.pid)  # its page drawn: the Data page is not what is timed
        result["paint"] = open_busy(page, server, query)
        press_train(page)
        start_page_change(other, "Model")
        result["model_busy_s"] = time_model_page(browser, server.url)
        result["change_busy_s"] = page_change_s(other)
        watch = wait_stamp(page, "firstStep")
        result["watch"] = watch
        watch = wait_stamp(page, "finished")
        finish_figures(watch)
        result["finished_s"] = watch.finished_s
        result["quiet_wait_s"] = wait_quiet(server.process.pid)
        result["model_idle_s"], result["change_idle_s"] = [], []
        for _ in range(3):
            start_page_change(other, "Data")
            page_change_s(other)
            wait_quiet(server.process.pid)
            start_page_change(other, "Model")
            result["model_idle_s"].append(time_model_page(browser, server.url))
            result["change_idle_s"].append(page_change_s(other))
        page.context.close()
        other.page.context.close()
    return result


@dataclass
class Tab:
    """A visitor's open page, with the times (this process's clock) of its websocket's frames:
    each request it sends, and each script-finished message it receives."""

    page: object
    sent: list[float]
    finished: list[float]


@dataclass
class PageChange:
    """An open tab's click on a page's link: seconds to that page's heading (by the page's
    clock), and the server's part (the rerun request -> its script finished, by the frames)."""

    seconds: float
    server_s: float


def open_data_page(browser, url: str) -> Tab:
    """A visitor with the app open on its Data page (once its heading shows: its charts may
    still be coming)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    tab = Tab(new_page(browser), [], [])

    def on_frame(payload) -> None:
        if isinstance(payload, bytes) and ForwardMsg.FromString(payload).HasField(
            "script_finished"
        ):
            tab.finished.append(time.perf_counter())

    def on_websocket(ws) -> None:
        ws.on("framesent", lambda _: tab.sent.append(time.perf_counter()))
        ws.on("framereceived", on_frame)

    tab.page.on("websocket", on_websocket)
    tab.page.goto(f"{url}/data")
    heading = tab.page.get_by_test_id("stHeading").filter(has_text="Data")
    heading.wait_for(timeout=PAGE_TIMEOUT_MS)
    return tab


# A click on the sidebar's link to page `name`; `window.__change` becomes the seconds from the
# click to the first frame with that page's heading (by the page's clock). It returns at once,
# so the page changes while this process goes on (`page_change_s` waits for the figure).
START_PAGE_CHANGE = """(name) => {
  window.__change = null;
  const started = performance.now();
  const link = [...document.querySelectorAll('[data-testid="stSidebarNavLink"]')]
    .find((a) => a.textContent.trim().endsWith(name));  // after its icon's name
  link.click();
  (function poll() {
    const heading = document.querySelector('[data-testid="stHeading"]');
    if (heading && heading.textContent.trim().startsWith(name)) {
      window.__change = (performance.now() - started) / 1000;
    } else {
      requestAnimationFrame(poll);
    }
  })();
}"""


def start_page_change(tab: Tab, name: str) -> None:
    tab.sent.clear()
    tab.finished.clear()
    tab.page.evaluate(START_PAGE_CHANGE, name)


def page_change_s(tab: Tab) -> PageChange:
    tab.page.wait_for_function("() => window.__change !== null", timeout=PAGE_TIMEOUT_MS)
    seconds = tab.page.evaluate("window.__change")
    deadline = time.perf_counter() + 10
    while not tab.finished and time.perf_counter() < deadline:
        tab.page.wait_for_timeout(20)  # the script-finished frame follows the heading's
    if not tab.sent or not tab.finished:
        return PageChange(seconds, float("nan"))
    return PageChange(seconds, tab.finished[0] - tab.sent[0])


def report_fresh_server(r: dict, wait_s: float) -> None:
    print(f"\n4. A fresh server, {wait_s:g} s after it first answered")
    for name, (paint, server, workers) in (("", r["paint"]), (" (its idle twin)", r["idle_paint"])):
        print(
            f"   /train painted (Train enabled){name} in {paint:.2f} s; meanwhile cores busy: "
            f"server {server:.2f}, workers {workers:.2f}"
        )
    watch = r["watch"]
    first = watch.first_step_s
    print(
        f"   click Train -> first step shown: {first:.2f} s; bar <= 2 s: {verdict(first <= 2)}"
        f"  (finished after {r['finished_s']:.2f} s)"
    )
    print(
        f"     of which click -> the page first shows the new run: {watch.shown_s:.2f} s (at "
        f"step {watch.shown_step}), then -> first step: {first - watch.shown_s:.2f} s"
    )
    print("   other visitors while that run starts / on a fresh idle server / settled idle:")
    print_visitors([r])


def report_fresh_rounds(rounds: list[dict]) -> None:
    """Part 4's figures over its rounds (each a pair of fresh servers): medians."""
    first = statistics.median(r["watch"].first_step_s for r in rounds)
    print(f"\n4. Over {len(rounds)} rounds, medians (while the run starts / fresh idle / settled):")
    print(f"   click Train -> first step shown: {first:.2f} s; bar <= 2 s: {verdict(first <= 2)}")
    print_visitors(rounds)


def print_visitors(rounds: list[dict]) -> None:
    """Other visitors' times, medians over `rounds` (the settled ones per round first): while
    the run starts / on the fresh idle server / on the settled idle server. A new visitor's
    /model split by its websocket frames: the browser and the server share this machine, and
    on a public server the browser is the visitor's own."""
    median = statistics.median
    for label, figures in (
        ("a new visitor's /model to its heading", round_figures("model", "heading_s")),
        ("  the browser's part (loading the frontend)", round_figures("model", "boot_s")),
        ("  the server's part (request -> script finished)", round_figures("model", "server_s")),
        ("an open tab's page change, Data -> Model", round_figures("change", "seconds")),
        ("  the server's part (its rerun -> script finished)", round_figures("change", "server_s")),
    ):
        busy, fresh, settled = zip(*map(figures, rounds))
        busy, fresh, calm = median(busy), median(fresh), median(map(median, settled))
        print(
            f"   {label}: {busy:.3f} / {fresh:.3f} / {calm:.3f} s "
            f"({busy / calm:.2f}x settled; bar: about as quick as idle)"
        )


def round_figures(kind: str, part: str) -> Callable[[dict], tuple]:
    """A round's `kind` ("model": new visitors' `Visit`s; "change": an open tab's
    `PageChange`s): (while the run starts, fresh idle, [settled]) of their `part`."""

    def figures(r: dict) -> tuple:
        busy, fresh = r[f"{kind}_busy_s"], r[f"{kind}_fresh_idle_s"]
        settled = [getattr(m, part) for m in r[f"{kind}_idle_s"]]
        return getattr(busy, part), getattr(fresh, part), settled

    return figures


# -- 5: memory -----------------------------------------------------------------------------------
def measure_memory(browser, env, workdir: Path, runs: int, query: str) -> dict:
    """Train pressed `runs` times on one page of one fresh server; the server's processes'
    total RSS after each run (once they are quiet)."""
    totals, server_only, counts, waits = [], [], [], []
    last: list[tuple[str, float]] = []
    pids_seen: set[int] = set()
    with running_server(workdir / "memory.log", env) as server:
        pid = server.process.pid
        page = new_page(browser)
        try:
            open_train(page, server.url, query)
            for number in range(1, runs + 1):
                press_train(page)
                finish_figures(wait_stamp(page, "finished"))
                waits.append(wait_quiet(pid))
                tree = process_tree(pid)
                pids_seen.update(tree)
                totals.append(sum(rss_mb(p) for p in tree))
                server_only.append(rss_mb(pid))
                counts.append(len(tree))
                last = [(describe_process(p), rss_mb(p)) for p in tree]
                if number % 10 == 0 or number == runs:
                    print(
                        f"  run {number}: {totals[-1]:,.0f} MB in {len(tree)} processes", flush=True
                    )
        finally:
            page.context.close()
    return {
        "totals": totals,
        "server": server_only,
        "counts": counts,
        "waits": waits,
        "processes": len(pids_seen),
        "last": last,
    }


def report_memory(m: dict, query: str) -> None:
    totals, runs = m["totals"], len(m["totals"])
    print(
        f"\n5. Memory over {runs} runs pressed in the browser ({query}): the server and its "
        "processes, VmRSS summed"
    )
    first = min(10, runs)
    numbers = list(range(first, runs + 1))
    slope = slope_per_run(numbers, totals[first - 1 :])
    server_slope = slope_per_run(numbers, m["server"][first - 1 :])
    print(
        f"   after run 1: {totals[0]:,.0f} MB; after run {runs}: {totals[-1]:,.0f} MB "
        f"(min {min(totals):,.0f}, max {max(totals):,.0f})"
    )
    print(
        f"   slope over runs {first}..{runs}: {slope:+.2f} MB a run; bar < 0.5: "
        f"{verdict(slope < 0.5)}"
    )
    print(
        f"   the server process alone: {m['server'][0]:,.0f} -> {m['server'][-1]:,.0f} MB, "
        f"{server_slope:+.2f} MB a run"
    )
    print(
        f"   processes in the tree: {min(m['counts'])}-{max(m['counts'])} at a time, "
        f"{m['processes']} over the runs (the server counted; workers are replaced); waited "
        f"{sum(m['waits']):.0f} s in all for quiet before reading"
    )
    print("   after the last run: " + ", ".join(f"{name} {mb:,.0f} MB" for name, mb in m["last"]))


# -- main ----------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="1,2,3,4,5,6", help="which figures (default: all)")
    parser.add_argument("--spectators", type=int, default=3, help="part 6 watchers")
    parser.add_argument("--spectator-rounds", type=int, default=3, help="part 6 rounds")
    parser.add_argument("--dataset", default="xor", help="parts 1-3 (default: xor)")
    parser.add_argument("--samples", type=int, default=100_000, help="parts 1-2 points")
    parser.add_argument("--epochs", type=int, default=16, help="parts 1-2")
    parser.add_argument("--rounds", type=int, default=5, help="parts 1-2 interleaved rounds")
    parser.add_argument("--pair-samples", type=int, default=100_000, help="part 3 points")
    parser.add_argument("--pair-epochs", type=int, default=6, help="part 3")
    parser.add_argument("--pair-rounds", type=int, default=3, help="part 3 rounds")
    parser.add_argument("--fresh-wait", type=float, default=15.0, help="part 4 server age, s")
    parser.add_argument("--fresh-rounds", type=int, default=1, help="part 4 pairs of servers")
    parser.add_argument("--fresh-query", default="", help="part 4 link (default: the starter)")
    parser.add_argument("--memory-runs", type=int, default=80, help="part 5 runs")
    parser.add_argument("--memory-query", default="epochs=2", help="part 5 link")
    parser.add_argument(
        "--tf-threads",
        help="TAPEBOARD_TF_THREADS for the app and the script (default: the app's, 1; 0: TF's)",
    )
    parser.add_argument("--script-side", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.script_side is not None:
        serve_script_side(args.script_side)
        return
    parts = {int(p) for p in args.parts.split(",") if p.strip()}
    env = server_env(args.tf_threads)
    tf_env = tensorflow_env(args.tf_threads)
    workdir = Path(tempfile.mkdtemp(prefix="tapeboard-bench-"))
    load = os.getloadavg()
    print(
        f"{os.cpu_count()} cores; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"at the start; server logs in {workdir}",
        flush=True,
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            if parts & {1, 2, 3, 6}:
                with running_server(workdir / "warm.log", env) as server:
                    if parts & {1, 2}:
                        query = query_for(args.dataset, args.samples, args.epochs)
                        print(f"parts 1-2: {query}, {args.rounds} rounds", flush=True)
                        measured = measure_against_script(
                            browser, server, query, args.rounds, tf_env, workdir / "script.log"
                        )
                        report_against_script(measured, query)
                    if 3 in parts:
                        pair = query_for(args.dataset, args.pair_samples, args.pair_epochs)
                        print(f"part 3: {pair}, {args.pair_rounds} rounds", flush=True)
                        together = measure_two_at_once(
                            browser, server, pair, args.pair_rounds, warm=bool(parts & {1, 2})
                        )
                        service = measure_service_pair(pair, args.pair_rounds, workdir / "pair.db")
                        report_two_at_once(together, pair, service)
                    if 6 in parts:
                        watched = query_for(args.dataset, args.samples, args.epochs)
                        print(f"part 6: {watched}, {args.spectator_rounds} rounds", flush=True)
                        figures = measure_spectators(
                            browser, server, watched, args.spectator_rounds, args.spectators
                        )
                        report_spectators(figures, watched, args.spectators)
            if 4 in parts:
                rounds = []
                for round_ in range(args.fresh_rounds):
                    print(f"part 4: two fresh servers (round {round_ + 1})", flush=True)
                    rounds.append(
                        measure_fresh_server(
                            browser, env, workdir, args.fresh_wait, args.fresh_query
                        )
                    )
                    report_fresh_server(rounds[-1], args.fresh_wait)
                if len(rounds) > 1:
                    report_fresh_rounds(rounds)
            if 5 in parts:
                print(f"part 5: {args.memory_runs} runs", flush=True)
                memory = measure_memory(browser, env, workdir, args.memory_runs, args.memory_query)
                report_memory(memory, args.memory_query)
        finally:
            browser.close()
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
