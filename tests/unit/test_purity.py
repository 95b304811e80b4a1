"""trainer is the engine for scripts, CLIs and notebooks: it must never pull in the UI stack."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_and_using_trainer_loads_no_streamlit_or_altair():
    code = (
        "import sys, trainer\n"
        "config = trainer.RunConfig(dataset='xor', num_samples=64, epochs=1, batch_size=32)\n"
        "events = list(trainer.train(config))\n"
        "assert events[-1].reason == 'completed', events[-1]\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'altair'))\n"
        "print('UI modules:', bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "UI modules: []" in done.stdout


def test_every_page_runs_without_importing_tensorflow():
    # The web server never imports TensorFlow (the run service's workers do the TensorFlow
    # work): each page, driven in a fresh interpreter, leaves it out of sys.modules.
    code = (
        "import sys\n"
        f"sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'tests' / 'app')!r}]\n"
        "from apptest_helpers import TINY, page\n"
        "for name in ('data', 'model', 'train', 'evaluate', 'runs'):\n"
        "    at = page(name, TINY).run()\n"
        "    assert not at.exception, (name, at.exception)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "print('TensorFlow modules:', bad[:5])\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "TensorFlow modules: []" in done.stdout


def bare_expressions(path: Path) -> list[str]:
    """`file:line` of every expression statement in a page script that is not a docstring, a
    call, an await or a yield: what Streamlit's magic would draw as a value if it were on."""
    import ast

    tree = ast.parse(path.read_text(), filename=str(path))
    scopes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    docstrings = {id(node.body[0]) for node in ast.walk(tree) if isinstance(node, scopes) and
                  node.body and ast.get_docstring(node, clean=False) is not None}  # fmt: skip
    drawn_by_calls = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and id(node) not in docstrings
        and not isinstance(node.value, drawn_by_calls)
    ]


def test_page_scripts_have_no_bare_expressions_and_magic_is_off():
    # `a() or b()` as a statement drew "False" above the Train page's chart on every redraw.
    scripts = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
    assert [hit for script in scripts for hit in bare_expressions(script)] == []
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert "magicEnabled = false" in config
