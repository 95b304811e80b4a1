"""What the browser tests do on every page: open it, move between pages, read the progress,
check for exception boxes; and the server-log filter. Every wait is on something visible."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

REPO = Path(__file__).resolve().parents[2]

TF_FIRST_IMPORT_MS = 60_000  # the first Train imports TensorFlow in the server (~5 s alone)
RUN_MS = 90_000  # a small run, start to finish, on 2 busy cores

_STEP = re.compile(r"Step ([\d,]+) of ([\d,]+)")

# Reads "Step N of M" from the Train page's progress bar in the page itself (for waits that
# poll in the browser instead of from Python).
STEP_JS = """() => {
    const all = document.querySelectorAll('[data-testid="tb-progress"]');
    const el = all[all.length - 1];  // while a redraw swaps it, the newest
    const m = el && el.innerText.match(/Step ([\\d,]+) of ([\\d,]+)/);
    return m ? [Number(m[1].replace(/,/g, '')), Number(m[2].replace(/,/g, ''))] : null;
}"""


# A TensorFlow import prints these C++ log lines to stderr; they are not ours to fix.
_ABSL_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] ")
_TF_NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "To enable the following instructions:",  # second line of cpu_feature_guard's message
)
# `path:line: SomeWarning: message`, as Python's warnings module prints it (then the source line).
_PY_WARNING = re.compile(r"^(?P<file>.+?):\d+: (?P<category>\w*Warning): ")
_BAD = re.compile(r"traceback|warning|deprecat", re.IGNORECASE)


def log_problems(text: str) -> list[str]:
    """The log lines that should fail the suite: tracebacks, warnings and deprecations, except
    TensorFlow's C++ start-up lines and Python warnings raised inside installed packages."""
    problems: list[str] = []
    skip_source_line = False
    for line in text.splitlines():
        if skip_source_line:
            skip_source_line = False
            if line.startswith("  "):
                continue
        if _ABSL_LINE.match(line) or line.startswith(_TF_NOISE):
            continue
        warning = _PY_WARNING.match(line)
        if warning and ("site-packages" in warning["file"] or warning["file"].startswith("<")):
            skip_source_line = True
            continue
        if _BAD.search(line):
            problems.append(line)
    return problems


@dataclass
class Server:
    """The `streamlit run app.py` process a session of tests talks to."""

    url: str
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def heading(page: Page, title: str) -> Locator:
    return page.get_by_role("heading", name=title, exact=True)


def open_app(page: Page, url: str, title: str) -> None:
    """Load `url` (a new Streamlit session) and wait for the page's title."""
    page.goto(url)
    expect(heading(page, title)).to_be_visible(timeout=TF_FIRST_IMPORT_MS)


def go_to(page: Page, title: str) -> None:
    """Switch page through the sidebar navigation (same session, so state is kept)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    expect(heading(page, title)).to_be_visible(timeout=TF_FIRST_IMPORT_MS)


def button(page: Page, key: str) -> Locator:
    """A button by its Streamlit key (the element gets the class `st-key-<key>`). Streamlit
    also renders a hidden copy of a button that has a tooltip: only the visible one counts."""
    return page.locator(f".st-key-{key} button").filter(visible=True)


def steps(page: Page) -> tuple[int, int]:
    """(steps done, total steps) from the Train page's progress text."""
    text = page.get_by_test_id("tb-progress").last.inner_text()
    match = _STEP.search(text)
    assert match, f"no 'Step N of M' in the progress text: {text!r}"
    return int(match[1].replace(",", "")), int(match[2].replace(",", ""))


def wait_steps_above(page: Page, done: int, timeout: float = TF_FIRST_IMPORT_MS) -> int:
    """Wait until the progress shows more than `done` steps; return the count shown."""
    page.wait_for_function(
        f"([done]) => {{ const s = ({STEP_JS})(); return s !== null && s[0] > done; }}",
        arg=[done],
        timeout=timeout,
    )
    return steps(page)[0]


def start_run_and_finish(page: Page, run_name: str = "run 1") -> None:
    """On the Train page: press Train and wait for the run's completion message."""
    button(page, "btn_train").click()
    expect(page.get_by_text(f"{run_name} finished: Completed")).to_be_visible(
        timeout=TF_FIRST_IMPORT_MS + RUN_MS
    )
    wait_progress_full(page)


def wait_progress_full(page: Page) -> None:
    """Wait for "Step N of N". The page reruns once a run ends (`st.rerun()`): for a moment the
    new status can show above the progress of the previous draw (even "Step 0 of 3")."""
    page.wait_for_function(f"() => {{ const s = ({STEP_JS})(); return s && s[0] === s[1]; }}")


def shared_links(page: Page) -> list[str]:
    """The links in the sidebar's share boxes, in page order: the setup's, then on the Train
    page the shown run's."""
    links = page.get_by_test_id("stSidebar").locator("a.tb-link")
    expect(links.first).to_have_attribute("href", re.compile(r"\?"))
    return [link.get_attribute("href") for link in links.all()]


def choose(page: Page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`. A rerun that redraws the selectbox
    while its menu is open closes the menu (seen on a busy box): then open it again."""
    box = page.locator(f'input[role="combobox"][aria-label="{label}"]')
    item = page.get_by_role("option", name=option, exact=True)
    for _ in range(6):
        box.click()
        try:
            item.click(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            continue
    expect(page.locator(f'input[aria-label="{label}"]')).to_have_value(option)


def metric_value(page: Page, label: str) -> str:
    metric = page.get_by_test_id("stMetric").filter(has_text=label)
    return metric.get_by_test_id("stMetricValue").inner_text()


def stat_value(page: Page, label: str) -> str:
    """A number from the Train page's table beside the chart: the bold value in its row."""
    row = page.locator("tr").filter(has=page.locator("td", has_text=label))
    return row.locator("strong").first.inner_text()


def assert_no_exception(page: Page) -> None:
    """No Streamlit exception box anywhere on the page (their text in the message if any)."""
    boxes = page.get_by_test_id("stException")
    texts = boxes.all_inner_texts()
    assert not texts, "the page shows exceptions:\n" + "\n---\n".join(texts)


_PAGE_ERRORS: dict[int, list[str]] = {}


def record_errors(page: Page) -> Page:
    """Keep the page's uncaught JavaScript errors (a crashed frontend shows a white page and
    says why only in the console), for `explained` to print."""
    errors = _PAGE_ERRORS.setdefault(id(page), [])
    page.on("pageerror", lambda error: errors.append(str(error)[:500]))
    return page


@contextmanager
def explained(pages: list[Page], folder: Path) -> Iterator[None]:
    """On a failed wait inside, add what each page showed (its main text, a screenshot in
    `folder`) to the failure: a run that never shows finished in CI must say how far it got."""
    try:
        yield
    except (AssertionError, PlaywrightTimeoutError) as err:
        shown = []
        for number, page in enumerate(pages, 1):
            shot = folder / f"page-{number}.png"
            try:
                page.screenshot(path=shot, full_page=True)
                text = page.get_by_test_id("stMain").inner_text(timeout=5_000)
            except PlaywrightTimeoutError as why:
                text = f"(could not read it: {why})"
            errors = "\n".join(_PAGE_ERRORS.get(id(page), [])) or "none"
            shown.append(
                f"--- page {number} ({page.url}, {shot}):\n{text[:1500]}\n"
                f"JavaScript errors: {errors}"
            )
        raise AssertionError(f"{err}\nwhat the pages showed:\n" + "\n".join(shown)) from err


def publish_screenshot(shot: Path, name: str) -> None:
    """Copy a screenshot to $TAPEBOARD_SCREENSHOTS (`make screenshots` points it at docs/):
    tests never write tracked files on their own."""
    folder = os.environ.get("TAPEBOARD_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(folder) / name)


def json_from_python(code: str, *args: str | Path, timeout: float = 180) -> object:
    """Run `code` in a fresh Python (TensorFlow stays out of the test process) with `args`;
    the JSON it printed last."""
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
