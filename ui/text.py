"""Text that came from a visitor (link values, file, column and class names) shown as text.

Streamlit renders the body of `st.error`, `st.warning`, `st.info`, `st.caption` and
`st.markdown` as Markdown: a crafted link value would put a clickable link, bold red words or
an image fetched from any host into someone else's page. `plain` escapes every character
Markdown gives a meaning to, so the visitor's words read exactly as typed and do nothing. GFM
also turns bare addresses into links (https://..., www...., a@b.c) whatever is escaped: an
invisible word joiner in "://", "www." and after "@" keeps them plain text that reads the same.
"""

from __future__ import annotations

import re

# Everything CommonMark (and Streamlit's extensions: :colors[...], $math$, :emoji:) treats as
# syntax, plus < and > (autolinks, HTML).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&\"'])")


_AUTOLINK = re.compile(r"(:(?=//)|www(?=\.)|@)", re.IGNORECASE)
_JOINER = "\u2060"


def plain(text: object) -> str:
    """`text` with Markdown's syntax characters escaped and bare addresses unlinked; newlines
    become spaces."""
    words = " ".join(str(text).split())
    return _SPECIAL.sub(r"\\\1", _AUTOLINK.sub(lambda m: m.group(1) + _JOINER, words))


def message_of(err: Exception) -> str:
    """What an error says in a web page, as plain text: its `for_people()` when it has one
    (an engine error worded for Python users: "pass cache_dir=..."), else its own words."""
    speak = getattr(err, "for_people", None)
    return plain(speak() if callable(speak) else err)
