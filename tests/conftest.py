"""Session-wide test settings: the run store of every test (and of every server a test starts)
lives in a temporary folder, never in the developer's ~/.tapeboard."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

_HOME = tempfile.mkdtemp(prefix="tapeboard-test-home-")


def pytest_configure(config) -> None:
    os.environ["TAPEBOARD_HOME"] = _HOME
    os.environ.pop("TAPEBOARD_DB", None)


def pytest_unconfigure(config) -> None:
    shutil.rmtree(_HOME, ignore_errors=True)


# -- a real PostgreSQL (Debian's package), started on a loopback port for the session -----
POSTGRES_BINS = "/usr/lib/postgresql/*/bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the package's `postgres` user then."""
    if os.geteuid() != 0:
        return command
    # /usr/sbin is not on every root's PATH (Debian's `su` without `-` leaves it off).
    runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
    assert runuser, "runuser (util-linux) is missing: it starts PostgreSQL as `postgres`"
    return [runuser, "-u", "postgres", "--", *command]


@pytest.fixture(scope="session")
def postgres_url():
    """`postgresql+psycopg://...` of a fresh PostgreSQL server for this session (trust auth,
    loopback only), stopped afterwards. `make test` installs Debian's postgresql."""
    bins = sorted(glob.glob(POSTGRES_BINS))
    assert bins, f"PostgreSQL is not installed ({POSTGRES_BINS}): run `make test` (apt-get)"
    bin_dir = Path(bins[-1])
    # Not under pytest's temporary folder: that is private to root, and the server runs as
    # the `postgres` user.
    root = Path(tempfile.mkdtemp(prefix="tapeboard-postgres-"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
        os.chmod(root, 0o755)
    port = _free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(
        _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        **run,
    )
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets}"
    subprocess.run(
        _as_postgres(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"),
             "-w", "start"]
        ),
        **run,
    )  # fmt: skip
    try:
        subprocess.run(
            _as_postgres(
                [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                 "postgres", "tapeboard"]
            ),
            **run,
        )  # fmt: skip
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/tapeboard"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)
