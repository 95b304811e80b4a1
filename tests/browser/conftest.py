"""Real-browser fixtures: one `streamlit run app.py` per session, Debian's Chromium, a fresh
browser context per test.

The server runs as a person runs it, with one difference: `PYTHONWARNINGS=default`, so that a
DeprecationWarning raised in our own modules (hidden by Python's default filters outside
`__main__`) reaches the log, where `log_problems` finds it. TensorFlow's C++ start-up lines
(absl `I0000`/`W0000`/`E0000` lines and their preamble) are not ours and are filtered out, as are
Python warnings whose source line is inside an installed package.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from browser_helpers import REPO, Server, log_problems
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Playwright's `expect` waits 5 s by default; a click on the Train page takes effect at the next
# redraw, and the server shares 2 cores with TensorFlow and Chromium.
expect.set_options(timeout=30_000)
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
START_TIMEOUT_S = 60.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first-paint test goes first, wherever it was collected, so that it measures a
    server that has not served a page yet."""
    items.sort(key=lambda item: not item.name.startswith("test_first_paint"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(server: Server, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    health = f"{server.url}/_stcore/health"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"streamlit exited with {server.process.returncode} before it was healthy:\n"
                f"{server.log()}"
            )
        try:
            with urllib.request.urlopen(health, timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        # Polling a socket that is not open yet: there is no event to wait on instead.
        time.sleep(0.2)
    pytest.fail(f"streamlit not healthy after {deadline_s:.0f} s:\n{server.log()}")


@contextmanager
def running_server(
    log_path: Path, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[Server]:
    """`streamlit run app.py` on a loopback port (a free one unless given), stopped on exit;
    fails if its log holds a traceback or a warning of ours. `env`: extra environment (e.g.
    its own TAPEBOARD_HOME)."""
    port = port or _free_port()
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "default", "PYTHONUNBUFFERED": "1", **(env or {})}
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    running = Server(f"http://127.0.0.1:{port}", log_path, process)
    try:
        _wait_healthy(running, START_TIMEOUT_S)
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    fail_on_log_problems(running.log(), f"full log: {log_path}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server most tests share, one per session."""
    with running_server(tmp_path_factory.mktemp("streamlit") / "server.log") as running:
        yield running


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server nobody has visited yet (a Cloud app waking up), for cold-start tests."""
    with running_server(tmp_path / "server.log") as running:
        yield running


@pytest.fixture
def restartable_server(tmp_path: Path) -> Callable[[], AbstractContextManager[Server]]:
    """Starts a server nobody has visited, on the same port each time it is called: a server
    restarted under a tab that stays open (a Cloud app rebooting or waking up)."""
    port = _free_port()
    starts = itertools.count(1)
    return lambda: running_server(tmp_path / f"server-{next(starts)}.log", port=port)


@pytest.fixture(autouse=True)
def clean_server_log(request: pytest.FixtureRequest) -> Iterator[None]:
    """Per browser test: fail the test whose actions put a traceback or warning in the log
    (the session check above still catches anything printed later)."""
    if "server" not in request.fixturenames:
        yield
        return
    running: Server = request.getfixturevalue("server")
    start = len(running.log())
    yield
    fail_on_log_problems(running.log()[start:], "log of this test")


def fail_on_log_problems(text: str, what: str) -> None:
    """Fail the test when the server log `text` holds a traceback or a warning of ours."""
    problems = log_problems(text)
    if problems:
        pytest.fail(
            "the streamlit log has tracebacks or warnings:\n"
            + "\n".join(problems)
            + f"\n--- {what}:\n{text}"
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """A fresh context (new cookies, new Streamlit session) per test."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()
