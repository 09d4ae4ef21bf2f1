"""The one way the tests and ``make bench`` start the app: ``streamlit run`` on a free local
port, wait for its health check, stop it afterwards."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def wait_for_streamlit(base: str, proc, log_path: Path, timeout: float = 60) -> None:
    """Block until Streamlit at ``base`` answers its health check; fail with
    the end of its log when it exits or does not come up in time."""
    deadline = time.time() + timeout
    while True:
        try:
            if urllib.request.urlopen(base + "/_stcore/health", timeout=2).status == 200:
                return
        except OSError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            raise RuntimeError("streamlit did not start: " + Path(log_path).read_text()[-2000:])
        time.sleep(0.3)


@contextlib.contextmanager
def streamlit_app(env: dict, log_path: Path, entry: str = "app.py") -> Iterator[str]:
    """Run ``entry`` (default the app) with ``env``; yields its base URL.  Output goes to ``log_path``."""
    port = free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                entry,
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_streamlit(base, proc, log_path)
        yield base
    finally:
        stop(proc)
