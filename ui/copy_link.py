"""A link to share: shown whole, opened by a click, copied by a button.

st.code would give a copy button too, but it loads the code highlighter's scripts on every page
that shows a link (the sidebar's share box is on all of them): on the Runs page that was 0.5 s
of a warm visit's 1.75 s to the table, 0.7 s of a first visit's 3.35 s. This is a tiny
st.components.v2 element (no iframe, no extra download) with a button that says "Copy link".
"""

from __future__ import annotations

import streamlit as st

_HTML = """<div class="tb-share">
<a class="tb-link" target="_blank" rel="noopener"></a>
<button type="button" class="tb-copy"></button>
</div>"""

_CSS = """
.tb-share {display: flex; flex-direction: column; gap: 0.4rem; font-family: var(--st-font);}
.tb-link {
  color: var(--st-link-color, var(--st-primary-color)); font-size: 0.8rem;
  overflow-wrap: anywhere; text-decoration: none;
}
.tb-link:hover {text-decoration: underline;}
.tb-copy {
  align-self: flex-start; cursor: pointer; font: inherit; font-size: 0.85rem;
  padding: 0.2rem 0.75rem; border-radius: var(--st-base-radius, 0.5rem);
  border: 1px solid var(--st-border-color, rgba(49, 51, 63, 0.2));
  background: var(--st-secondary-background-color, transparent);
  color: var(--st-text-color, inherit);
}
.tb-copy:hover {border-color: var(--st-primary-color); color: var(--st-primary-color);}
"""

# The clipboard API exists only on https and localhost: a server opened by its LAN address over
# http falls back to the old select-and-copy, and says so if even that is refused.
_JS = """
async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (err) {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}

export default function ({ data, parentElement }) {
  const link = parentElement.querySelector(".tb-link");
  const button = parentElement.querySelector(".tb-copy");
  const url = new URL(data.url, window.location.href).href;
  link.href = url;
  link.textContent = url;
  button.textContent = data.label;
  button.onclick = async () => {
    const done = await copy(url);
    button.textContent = done ? "Copied" : "Select the link above and copy it";
    setTimeout(() => { button.textContent = data.label; }, 2000);
  };
}
"""

_share_link = st.components.v2.component("tapeboard_share_link", html=_HTML, css=_CSS, js=_JS)


def share_link_box(url: str, key: str, label: str = "Copy link") -> None:
    """Show `url` (absolute, or a `?query` of this page) as a link with a copy button."""
    _share_link(data={"url": url, "label": label}, key=key)
