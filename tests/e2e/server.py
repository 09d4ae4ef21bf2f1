"""Start-up helper shared by the browser tests."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path


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
