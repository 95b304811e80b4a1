"""Runs live on the server: a reload finds the run again, a closed tab does not stop it, anyone
with its link watches it live (read-only), and a killed worker fails only its own run.

Long runs (digits in batches of 8 for hundreds of epochs) keep a run training while the test
acts; each test stops what it started.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from browser_helpers import (
    RUN_MS,
    Server,
    assert_no_exception,
    button,
    go_to,
    heading,
    open_app,
    shared_links,
    start_run_and_finish,
    steps,
    wait_steps_above,
)
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1400, "height": 900}
# 360,000 steps (2,000 epochs of digits, within the server's default budget): half a minute
# or more of training at the 10,000 steps/s a quiet box manages. 300 epochs (54,000 steps)
# ended in 5.3 s, before a test had reopened the run's link and pressed Stop.
LONG = "epochs=2000&batch_size=8"


def start_long_run(page: Page, server: Server) -> int:
    open_app(page, f"{server.url}/train?{LONG}", "Train")
    button(page, "btn_train").click()
    return wait_steps_above(page, 0)


def run_link(page: Page) -> str:
    link = shared_links(page)[-1]
    assert "?run=" in link, link
    return link


def stop(page: Page, name: str = "run 1") -> None:
    button(page, "btn_stop").click()
    expect(page.get_by_text(f"{name} stopped: Stopped by request.")).to_be_visible(timeout=RUN_MS)


def test_a_reload_mid_run_finds_the_run_and_its_controls(page: Page, server: Server) -> None:
    before = start_long_run(page, server)
    assert "run=" in page.url
    page.reload()
    expect(page.get_by_text("run 1: Running")).to_be_visible()
    after = wait_steps_above(page, before)  # the same run, still training, history intact
    assert after > before
    expect(button(page, "btn_pause")).to_be_enabled()  # this browser started it (its cookie)
    button(page, "btn_pause").click()
    expect(page.get_by_text("run 1: Paused")).to_be_visible()
    stop(page)
    assert_no_exception(page)


def test_a_closed_tab_leaves_the_run_training(browser: Browser, server: Server) -> None:
    owner = browser.new_context(viewport=VIEWPORT)
    page = owner.new_page()
    before = start_long_run(page, server)
    link = run_link(page)
    cookies = owner.storage_state()  # what the owner's browser keeps when the tab closes
    owner.close()  # the tab is gone; the run is on the server
    someone = browser.new_context(viewport=VIEWPORT).new_page()
    back = browser.new_context(viewport=VIEWPORT, storage_state=cookies).new_page()
    try:
        open_app(someone, link, "Train")
        assert wait_steps_above(someone, before) > before  # it went on without anyone
        expect(someone.get_by_text("You are watching run 1")).to_be_visible()
        expect(button(someone, "btn_stop")).to_be_disabled()
        open_app(back, link, "Train")  # the owner, later, in a new tab: still its run
        expect(button(back, "btn_stop")).to_be_enabled()
        stop(back)
    finally:
        someone.context.close()
        back.context.close()


def same_steps(a: Page, b: Page, timeout_s: float = 10.0) -> bool:
    """True once both pages show the same progress (within `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while steps(a) != steps(b):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_spectator_watches_live_and_cannot_steer(browser: Browser, server: Server) -> None:
    owner_context = browser.new_context(viewport=VIEWPORT)
    viewer_context = browser.new_context(viewport=VIEWPORT)
    owner, viewer = owner_context.new_page(), viewer_context.new_page()
    try:
        start_long_run(owner, server)
        open_app(viewer, run_link(owner), "Train")
        seen = wait_steps_above(viewer, 0)
        assert wait_steps_above(viewer, seen) > seen  # live: the count moves on its own
        for key in ("btn_pause", "btn_resume", "btn_stop", "btn_step"):
            expect(button(viewer, key)).to_be_disabled()
        expect(viewer.get_by_text("only that browser can pause, step or stop it")).to_be_visible()
        expect(viewer.locator(".tb-live-chart canvas").first).to_be_visible()  # live charts
        # The owner pauses: the spectator sees it; resumes: the spectator sees steps again.
        button(owner, "btn_pause").click()
        expect(viewer.get_by_text("run 1: Paused")).to_be_visible()
        paused_at = steps(viewer)[0]
        button(owner, "btn_resume").click()
        assert wait_steps_above(viewer, paused_at) > paused_at
        stop(owner)
        expect(viewer.get_by_text("run 1 stopped: Stopped by request.")).to_be_visible()
        # Both show where the run stopped. The page reruns once a run ends: for a moment the
        # new status can show above the progress of the previous draw, so let both settle.
        assert same_steps(viewer, owner), (steps(viewer), steps(owner))
        assert_no_exception(viewer)
        assert_no_exception(owner)
    finally:
        owner_context.close()
        viewer_context.close()


def training_workers(server: Server) -> list[int]:
    """The server's worker processes that train runs (not the task worker)."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    found = []
    for child in map(int, children):
        try:
            environ = Path(f"/proc/{child}/environ").read_bytes()
        except OSError:
            continue
        if b"TAPEBOARD_WORKER_ROLE=train" in environ:
            found.append(child)
    return found


def test_a_killed_worker_fails_its_run_and_the_server_carries_on(
    page: Page, server: Server
) -> None:
    start_long_run(page, server)
    workers = training_workers(server)
    assert workers, "no worker processes found"
    for worker in workers:  # whichever trains this run: SIGKILL, as the kernel's OOM killer
        os.kill(worker, signal.SIGKILL)
    expect(
        page.get_by_text("run 1 failed: The worker process training this run stopped")
    ).to_be_visible(timeout=RUN_MS)
    expect(page.get_by_text("signal 9")).to_be_visible()
    assert server.process.poll() is None  # the server lives
    # The process died, not the run: its owner resumes it, on a fresh worker.
    button(page, "btn_resume").click()
    expect(page.get_by_text("run 1: Running")).to_be_visible(timeout=RUN_MS)
    button(page, "btn_stop").click()
    expect(page.get_by_text("run 1 stopped")).to_be_visible(timeout=RUN_MS)
    page.goto(f"{server.url}/train?epochs=3")  # and the next run trains on a fresh worker
    expect(page.get_by_role("heading", name="Train")).to_be_visible()
    start_run_and_finish(page, "run 2")
    assert not set(training_workers(server)) & set(workers)
    assert_no_exception(page)


def wait_for_cookie(page: Page, name: str, holding: str, timeout_s: float = 10.0) -> None:
    """Wait until the page's browser has cookie `name` with `holding` in its value."""
    deadline = time.monotonic() + timeout_s
    while not any(c["name"] == name and holding in c["value"] for c in page.context.cookies()):
        assert time.monotonic() < deadline, f"no cookie {name} holding {holding}"
        page.wait_for_timeout(50)


def test_a_run_opened_by_link_stays_on_the_runs_page_after_a_reload(
    browser: Browser, server: Server
) -> None:
    owner = browser.new_context(viewport=VIEWPORT).new_page()
    viewer = browser.new_context(viewport=VIEWPORT).new_page()
    try:
        open_app(owner, f"{server.url}/train?epochs=1", "Train")
        start_run_and_finish(owner)
        link = run_link(owner)
        open_app(viewer, link, "Train")
        go_to(viewer, "Runs")
        # The runs table draws on a canvas; its hidden accessibility cells hold the same text,
        # and once they are in the page they come first. The visible one is the compared run.
        shared = viewer.get_by_text("run 1 (shared)").filter(visible=True).first
        expect(shared).to_be_visible()
        # The page writes the cookie with a small script that loads after the table may show:
        # a reload in that instant (a CI run) found no cookie yet. Reload once it is written.
        wait_for_cookie(viewer, "tapeboard_opened", link.rsplit("run=", 1)[1])
        viewer.reload()  # a new session: the browser's cookie brings the opened runs back
        expect(heading(viewer, "Runs")).to_be_visible()
        expect(shared).to_be_visible()
        open_app(viewer, f"{server.url}/evaluate", "Evaluate")  # and Evaluate offers it
        picked = viewer.get_by_role("combobox", name="Run")
        expect(picked).to_have_value("run 1 (shared, completed)")
        assert_no_exception(viewer)
    finally:
        owner.context.close()
        viewer.context.close()
