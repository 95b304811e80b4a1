"""A share link opened on a server nobody has visited yet (a Cloud app waking up).

Streamlit treats an app with a `pages/` folder as a legacy multipage app until app.py first
calls st.navigation in the process; a first visit straight to /train used to leave the whole
server in that mode (file names as navigation, no Evaluate link, app.py never run).
"""

from __future__ import annotations

import pytest
from browser_helpers import Server, assert_no_exception, go_to, open_app
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
