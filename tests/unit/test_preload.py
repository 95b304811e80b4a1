"""The preload hints for the Train and Runs pages: which modules, and the HTML they go into.

The closure is checked on a small made-up frontend and on the installed one; the middleware
is driven as the ASGI server drives it, around a stand-in for Streamlit's page handler that
answers plain or gzip-compressed HTML, or a file."""

from __future__ import annotations

import asyncio
import gzip
import re
from concurrent.futures import ThreadPoolExecutor

from ui.preload import PreloadMiddleware, hints_for, module_closure, static_dir

PAGE = b"<html><head><title>t</title></head><body></body></html>"


def test_the_closure_follows_static_imports_only_and_skips_what_the_page_has(tmp_path):
    files = {
        "Entry.a1.js": 'import{a as e}from"./dep.b2.js";import"./side.c3.js";'
        'const x=()=>import("./lazy.d4.js");',
        "dep.b2.js": 'import{r}from"./react.e5.js";import{q}from"./deep.f6.js";',
        "side.c3.js": "",
        "deep.f6.js": 'import{a}from"./dep.b2.js";',  # a cycle ends
        "lazy.d4.js": "",
        "react.e5.js": "",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    found = module_closure(tmp_path, ["Entry.a1.js", "Gone.z9.js"], known={"react.e5.js"})
    assert found == ["Entry.a1.js", "dep.b2.js", "deep.f6.js", "side.c3.js"]


def test_the_runs_page_preloads_the_installed_table_and_chart_modules():
    root = static_dir()
    html = (root / "index.html").read_text()
    already = set(re.findall(r"static/js/([\w.\-]+\.js)", html))
    hints = hints_for("runs").decode()
    names = re.findall(r'<link rel="modulepreload" crossorigin href="\./static/js/([^"]+)">', hints)
    assert len(names) == hints.count("<link")
    assert any(n.startswith("DataFrame.") for n in names)
    assert any(n.startswith("embed.") for n in names)  # Vega, which the chart imports lazily
    assert not set(names) & already  # nothing the page preloads itself
    assert len(set(names)) == len(names)
    assert all((root / "static" / "js" / n).is_file() for n in names)
    # The Train page draws its charts with ui.live_feed's Vega, not Streamlit's chart modules.
    assert hints_for("train") == hints_for("model") == hints_for("") == b""


def serve(path: str, body: bytes, headers: list, status: int = 200, chunks: int = 1):
    """Drive the middleware around a handler answering `body` in `chunks` pieces; returns
    (status, headers, body) as sent to the client."""

    async def handler(scope, receive, send):
        await send({"type": "http.response.start", "status": status, "headers": headers})
        size = max(1, len(body) // chunks)
        pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        for i, piece in enumerate(pieces):
            await send({"type": "http.response.body", "body": piece,
                        "more_body": i < len(pieces) - 1})  # fmt: skip

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    # A thread of its own: the browser tests' Playwright may hold this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, PreloadMiddleware(handler)(scope, receive, send)).result()
    start = sent[0]
    out = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), out


def test_the_middleware_adds_the_hints_to_plain_and_gzipped_pages():
    hints = hints_for("runs")
    html = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"57")]
    status, headers, body = serve("/runs", PAGE, html, chunks=3)
    assert status == 200
    assert body == PAGE.replace(b"</head>", hints + b"</head>")
    assert headers[b"content-length"] == str(len(body)).encode()
    zipped = [*html, (b"content-encoding", b"gzip")]
    _, headers, body = serve("/base/runs/", gzip.compress(PAGE), zipped)  # server.baseUrlPath
    assert gzip.decompress(body) == PAGE.replace(b"</head>", hints + b"</head>")
    assert headers[b"content-length"] == str(len(body)).encode()


def test_the_middleware_leaves_other_requests_and_answers_alone():
    html = [(b"content-type", b"text/html")]
    for path in ("/model", "/", "/static/js/index.js", "/runs/_stcore/health", "/runs.js"):
        assert serve(path, PAGE, html)[2] == PAGE
    assert serve("/runs", b"", html, status=304)[2] == b""  # not modified: nothing to edit
    brotli = [*html, (b"content-encoding", b"br")]
    assert serve("/runs", b"\x0b\x02", brotli)[2] == b"\x0b\x02"  # an encoding it cannot read
