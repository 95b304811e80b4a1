"""A share link opened on a server nobody has visited yet (a Cloud app waking up).

Streamlit treats an app with a `pages/` folder as a legacy multipage app until app.py first
calls st.navigation in the process; a first visit straight to /train used to leave the whole
server in that mode (file names as navigation, no Evaluate link, app.py never run).
"""

from __future__ import annotations

import pytest
from browser_helpers import (
    RUN_MS,
    TF_FIRST_IMPORT_MS,
    Server,
    assert_no_exception,
    button,
    go_to,
    open_app,
    start_run_and_finish,
)
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.browser


def test_a_share_link_as_first_visit_gets_the_apps_own_navigation(
    browser: Browser, fresh_server: Server
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        open_app(page, f"{fresh_server.url}/train?epochs=7", "Train")
        nav = page.get_by_test_id("stSidebarNav")
        for title in ("Data", "Model", "Train", "Evaluate", "Runs"):
            expect(nav.get_by_role("link", name=title, exact=True)).to_be_visible()
        expect(nav.get_by_role("link", name="app", exact=True)).to_have_count(0)
        assert page.url.endswith("/train?epochs=7")
        go_to(page, "Model")
        expect(page.get_by_role("spinbutton", name="Epochs", exact=True)).to_have_value("7")
        assert_no_exception(page)
    finally:
        context.close()


@pytest.mark.parametrize("attempt", [1, 2])
def test_visitors_arriving_together_at_a_cold_server(
    browser: Browser, fresh_server: Server, attempt: int
) -> None:
    # A Cloud app waking up: three visitors at once, two pressing Train while one opens the
    # Model page. Imports used to race in the server (a _DeadlockError, then every later
    # import failing); now TensorFlow is only ever imported by the worker processes.
    contexts = [browser.new_context(viewport={"width": 1400, "height": 900}) for _ in range(3)]
    trainer_a, modeler, trainer_b = (context.new_page() for context in contexts)
    try:
        for page, path in ((trainer_a, "train"), (modeler, "model"), (trainer_b, "train")):
            page.goto(f"{fresh_server.url}/{path}?epochs=3")
        open_app(trainer_a, f"{fresh_server.url}/train?epochs=3", "Train")
        open_app(trainer_b, f"{fresh_server.url}/train?epochs=3", "Train")
        button(trainer_a, "btn_train").click()
        button(trainer_b, "btn_train").click()
        expect(modeler.get_by_role("heading", name="Model", exact=True)).to_be_visible()
        expect(
            modeler.get_by_test_id("stMetric").filter(has_text="Trainable parameters")
        ).to_be_visible()
        for page in (trainer_a, trainer_b):
            expect(page.get_by_text("run 1 finished: Completed 3 epochs.")).to_be_visible(
                timeout=TF_FIRST_IMPORT_MS + RUN_MS
            )
        later = contexts[1].new_page()  # a later visitor trains too
        open_app(later, f"{fresh_server.url}/train?epochs=2", "Train")
        start_run_and_finish(later)
        for page in (trainer_a, modeler, trainer_b, later):
            assert_no_exception(page)
    finally:
        for context in contexts:
            context.close()
