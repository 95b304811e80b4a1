"""Visitor text shown as text: Markdown that would make links, images or colours is inert."""

from __future__ import annotations

import markdown_it

from ui.text import plain

ATTACKS = [
    "[Session expired: sign in](https://evil.example/login)",
    "![x](https://evil.example/pixel.png)",
    "**:red[URGENT]** call us",
    "<img src=https://evil.example/a.png>",
    "`code` and $x^2$ and :skull:",
    "# heading\n- list",
    "see https://evil.example/x or www.evil.example or mail me@evil.example",
]


def test_markdown_from_a_visitor_renders_as_the_same_words():
    md = markdown_it.MarkdownIt("commonmark")
    for attack in ATTACKS:
        html = md.render(plain(attack))
        assert "<a " not in html and "<img" not in html and "<strong>" not in html
        assert "<h1>" not in html and "<li>" not in html and "<code>" not in html
        text = md.parse(plain(attack))[1].children
        shown = "".join(t.content for t in text if t.type == "text")
        # Exactly what was typed, on one line (bare addresses carry an invisible joiner, so
        # GFM's autolinks do not pick them up).
        assert shown.replace("\u2060", "") == " ".join(attack.split())
        assert "://" not in shown and "www." not in shown


def test_ordinary_words_are_unchanged_in_what_people_read():
    md = markdown_it.MarkdownIt("commonmark")
    for words in ("epochs must be in [1, 10000]", "file data.csv (200 rows)", "x1, x2"):
        assert md.render(plain(words)).strip() == f"<p>{words}</p>"
