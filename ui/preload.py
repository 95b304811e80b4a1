"""Preload hints for the charts' and tables' scripts, added to the page Streamlit serves.

Streamlit's frontend loads each element's scripts only when the first element of its kind
arrives over the websocket: in a fresh browser the Runs page asked for its table's scripts
(1.6 MB) 0.4 s after the page had loaded, once the session had started and the script had
run, and the table showed 0.6 s after that. Every page draws Vega charts, and three draw
tables. `<link rel="modulepreload">` in the HTML lets the browser fetch and compile those
modules while the app starts; the frontend's own import of them later finds them ready.

The module names carry content hashes that change with each Streamlit release, so the hints
are worked out from the installed frontend (`prepare_hints`, as the server starts: reading the
modules takes 0.4 s that no visitor should wait for): each entry module and every module it
imports statically (dynamic imports are left to load when asked for), less those the page
already preloads.
"""

from __future__ import annotations

import functools
import gzip
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any

# The element modules to preload, by the page's URL path: the pages whose first paint is a
# chart or a table that arrives after the title. Not the Data, Model and Evaluate pages: with
# the same hints a fresh tab showed their title later (the Model page's at 1.34 s against
# 1.18 s, medians of 7), the extra compiling taking the main thread from widgets.
CHARTS = ("ArrowVegaLiteChart", "embed", "vega-interpreter")
TABLE = ("DataFrame",)
# Not the Train page: its charts are drawn with Vega from ui.live_feed, not Streamlit's.
PAGE_MODULES: dict[str, tuple[str, ...]] = {
    "runs": TABLE + CHARTS,  # the table first: it is what the page is for
}
_IMPORT = re.compile(r'(?:\bfrom|\bimport)\s*"\./([\w.\-]+\.js)"')
_SCRIPT = re.compile(r"static/js/([\w.\-]+\.js)")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]  # fmt: skip


def static_dir() -> Path:
    import streamlit

    return Path(streamlit.__file__).parent / "static"


def module_closure(js_dir: Path, entries: Iterable[str], known: set[str]) -> list[str]:
    """`entries` and every module they import statically, in the order found, less `known`."""
    found: list[str] = []
    todo = list(entries)[::-1]
    while todo:
        name = todo.pop()
        if name in found or name in known or not (js_dir / name).is_file():
            continue
        found.append(name)
        text = (js_dir / name).read_text(encoding="utf-8", errors="replace")
        todo.extend(reversed(_IMPORT.findall(text)))
    return found


def entry_modules(js_dir: Path, prefixes: Iterable[str]) -> list[str]:
    """The installed module of each name (`DataFrame` -> `DataFrame.<hash>.js`)."""
    modules = []
    for prefix in prefixes:
        modules += sorted(p.name for p in js_dir.glob(f"{prefix}.*.js") if p.name.count(".") == 2)
    return modules


def prepare_hints() -> None:
    """Work out every page's hints now, before the first visitor asks for a page."""
    for page in PAGE_MODULES:
        hints_for(page)


@functools.cache
def hints_for(page: str) -> bytes:
    """The `<link rel="modulepreload">` tags for a page path ("runs"), b"" for none."""
    prefixes = PAGE_MODULES.get(page)
    if not prefixes:
        return b""
    root = static_dir()
    js_dir = root / "static" / "js"
    html = (root / "index.html").read_text(encoding="utf-8", errors="replace")
    modules = module_closure(js_dir, entry_modules(js_dir, prefixes), set(_SCRIPT.findall(html)))
    return "".join(
        f'<link rel="modulepreload" crossorigin href="./static/js/{name}">' for name in modules
    ).encode()


class PreloadMiddleware:
    """ASGI middleware: adds `hints_for(page)` before `</head>` of the HTML page Streamlit
    serves for a page's URL (a GET of /runs); every other request passes untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive, send) -> None:
        page = page_of(scope)
        hints = hints_for(page) if page is not None else b""
        if not hints:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def edit(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            await send_edited(send, start, b"".join(chunks), hints)

        await self.app(scope, receive, edit)


def page_of(scope: Scope) -> str | None:
    """The page a GET asks for ("runs"), None for any other request. The last part of the
    path: behind server.baseUrlPath the Runs page is /<base>/runs."""
    if scope["type"] != "http" or scope.get("method") != "GET":
        return None
    page = scope.get("path", "").rstrip("/").rsplit("/", 1)[-1]
    return page if page in PAGE_MODULES else None


async def send_edited(send, start: Message, body: bytes, hints: bytes) -> None:
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    if start.get("status") == 200 and header(headers, b"content-type").startswith(b"text/html"):
        body = with_hints(body, hints, header(headers, b"content-encoding"))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    return next((v for k, v in headers if k.lower() == name), b"")


def with_hints(body: bytes, hints: bytes, encoding: bytes) -> bytes:
    """The page with the hints before `</head>`, in its encoding (none, or gzip: Streamlit
    compresses for browsers that accept it); any other encoding is left as it is."""
    if encoding not in (b"", b"gzip"):
        return body
    html = gzip.decompress(body) if encoding else body
    if b"</head>" not in html:
        return body
    html = html.replace(b"</head>", hints + b"</head>", 1)
    return gzip.compress(html, compresslevel=6, mtime=0) if encoding else html
