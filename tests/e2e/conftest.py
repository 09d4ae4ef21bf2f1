"""Browser tests drive a real Streamlit server and Chromium.  On a loaded
machine a drag or a websocket round trip can be swallowed; such a test is
run again (at most twice) before it counts as failed.  Every assertion
still has to pass in one complete run."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=2))
