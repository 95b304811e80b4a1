"""This browser's key: who started which run, kept across reloads in a cookie.

A run's link lets anyone watch it; only the browser that started it may pause, step or stop
it, and the Runs page lists the runs this browser started. Streamlit can read the cookies a
session's first request brought (`st.context.cookies`) but cannot set one, so a tiny component
(JavaScript in the page, no iframe) writes the key into a cookie the first time; every later
session of this browser, a reload included, arrives with it.
"""

from __future__ import annotations

import re
import secrets

import streamlit as st

COOKIE = "tapeboard_browser"
OPENED_COOKIE = "tapeboard_opened"  # the runs this browser opened by link, "id.id.id"
MAX_OPENED = 40  # the newest kept: 40 ids fit a cookie (4 KB) many times over
KEY = "tb_browser"  # session_state: this browser's key
MAX_AGE_S = 400 * 24 * 3600  # the longest lifetime browsers grant a cookie (about 400 days)
_VALID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

_JS = """
export default function ({ data }) {
  const cookie = `${data.name}=${data.value}`;
  if (!document.cookie.split("; ").includes(cookie)) {
    document.cookie = `${cookie}; path=/; max-age=${data.maxAge}; SameSite=Lax`;
  }
}
"""
_set_cookie = st.components.v2.component("tapeboard_browser_cookie", js=_JS)


def browser_key() -> str:
    """This browser's key: from its cookie, or new (and written to the cookie)."""
    if KEY not in st.session_state:
        sent = _sent_cookie()
        st.session_state[KEY] = sent if _VALID.match(sent) else secrets.token_urlsafe(24)
    return st.session_state[KEY]


def _sent_cookie() -> str:
    sent = st.context.cookies.get(COOKIE)
    return sent if isinstance(sent, str) else ""  # AppTest's context has no real cookies


def remember_browser() -> None:
    """Put the key in the browser's cookie if the session did not arrive with it."""
    key = browser_key()
    if _sent_cookie() != key:
        with st.sidebar:  # an empty element: out of the page's own layout
            _set_cookie(data={"name": COOKIE, "value": key, "maxAge": MAX_AGE_S}, key="tb_cookie")


def opened_by_link() -> list[str]:
    """The runs this browser opened by someone's link, oldest first, as its cookie brought
    them (a reload is a new session: without it they left the Runs page)."""
    sent = st.context.cookies.get(OPENED_COOKIE)
    ids = sent.split(".") if isinstance(sent, str) else []
    return [i for i in ids if _VALID.match(i)][-MAX_OPENED:]


def remember_opened(ids: list[str]) -> None:
    """Put the runs opened by link in the browser's cookie, if it did not arrive with them."""
    value = ".".join(ids[-MAX_OPENED:])
    if value and opened_by_link() != ids[-MAX_OPENED:]:
        with st.sidebar:
            _set_cookie(
                data={"name": OPENED_COOKIE, "value": value, "maxAge": MAX_AGE_S},
                key="tb_cookie_opened",
            )
