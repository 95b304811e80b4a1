"""Values typed on the Model page while the server cannot take them yet are kept: the controls
show them, the link carries them and Train trains exactly them.

The case that lost them: a server freshly started under a tab that stays open (a Cloud app
rebooting or waking up). The tab reconnects to a new session whose first script run, on a cold
server, takes seconds; edits typed meanwhile arrive with values that session cannot read until
the controls are drawn again. The page used to seed the controls from the link then, which
put every typed value back to the link's (no query: the starter's 0.1 / 30 / 64).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from browser_helpers import (
    RUN_MS,
    TF_FIRST_IMPORT_MS,
    Server,
    assert_no_exception,
    button,
    go_to,
    open_app,
)
from playwright.sync_api import Browser, Locator, Page, expect

pytestmark = pytest.mark.browser

# Label on the Model page, text typed, RunConfig field, value it must train with. Each differs
# from the starter config (lr 0.1, dropout 0, 30 epochs, batch 64): a dropped edit shows as the
# starter's value, and every kept one lands in the link.
TYPED = [
    ("Learning rate", "0.05", "learning_rate", 0.05),
    ("Dropout", "0.2", "dropout", 0.2),
    ("Epochs", "4", "epochs", 4),
    ("Batch size", "32", "batch_size", 32),
]
GAP_MS = 300  # between two edits: a person tabbing through the fields
RECONNECT_MS = 90_000  # the tab notices the new server (it polls) and reconnects


@contextmanager
def busy_cpu(busy: bool) -> Iterator[None]:
    """Two processes spinning for the block's duration: the 2 cores are taken."""
    spin = [sys.executable, "-c", "while True: pass"]
    hogs = [subprocess.Popen(spin) for _ in range(2 if busy else 0)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def field(page: Page, label: str) -> Locator:
    return page.get_by_role("spinbutton", name=label, exact=True)


def trained_config(page: Page) -> dict:
    """The config of the run the Runs page shows (its "Config of the chosen run" JSON)."""
    go_to(page, "Runs")
    box = page.get_by_test_id("stExpander").filter(has_text="Config of the chosen run")
    box.get_by_text("Config of the chosen run").click()
    return json.loads(box.get_by_test_id("stText").inner_text())


@pytest.mark.parametrize("busy", [False, True], ids=["quiet", "cpu-busy"])
def test_values_typed_as_a_restarted_server_comes_back_are_the_ones_that_train(
    browser: Browser,
    restartable_server: Callable[[], AbstractContextManager[Server]],
    busy: bool,
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        with restartable_server() as first:
            open_app(page, f"{first.url}/model", "Model")
            expect(field(page, "Learning rate")).to_have_value("0.1")
        # The server is gone; the tab stays, its controls disabled until it reconnects.
        expect(field(page, "Learning rate")).to_be_disabled()
        with busy_cpu(busy), restartable_server():
            expect(field(page, "Learning rate")).to_be_enabled(timeout=RECONNECT_MS)
            for label, text, _, _ in TYPED:  # at once, while the new server's first run is on
                field(page, label).fill(text)
                field(page, label).press("Enter")
                page.wait_for_timeout(GAP_MS)  # the pace is what this test is about
            for _, text, name, _ in TYPED:
                expect(page).to_have_url(re.compile(rf"[?&]{name}={re.escape(text)}(&|$)"))
            for label, text, _, _ in TYPED:
                expect(field(page, label)).to_have_value(text)
            go_to(page, "Train")
            button(page, "btn_train").click()
            expect(page.get_by_text("run 1 finished: Completed")).to_be_visible(
                timeout=TF_FIRST_IMPORT_MS + RUN_MS
            )
            config = trained_config(page)
            assert_no_exception(page)
        trained = {name: config[name] for _, _, name, _ in TYPED}
        assert trained == {name: value for _, _, name, value in TYPED}
    finally:
        context.close()
