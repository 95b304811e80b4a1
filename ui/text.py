"""Text that came from a visitor (link values, file, column and class names) shown as text.

Streamlit renders the body of `st.error`, `st.warning`, `st.info`, `st.caption` and
`st.markdown` as Markdown: a crafted link value would put a clickable link, bold red words or
an image fetched from any host into someone else's page. `plain` escapes every character
Markdown gives a meaning to, so the visitor's words read exactly as typed and do nothing.
"""

from __future__ import annotations

import re

# Everything CommonMark (and Streamlit's extensions: :colors[...], $math$, :emoji:) treats as
# syntax, plus < and > (autolinks, HTML).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&\"'])")


def plain(text: object) -> str:
    """`text` with Markdown's syntax characters escaped; newlines become spaces."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
