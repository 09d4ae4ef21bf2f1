"""Process pools of the engine and the leak gate: what a spawned worker must not see.

Holds no engine logic; imports nothing of ``core`` (both ``core.engine`` and ``core.verify`` use it).
"""

from __future__ import annotations

import contextlib
import sys
import types


@contextlib.contextmanager
def neutral_main():
    """Spawned workers re-import the parent's ``__main__``; under Streamlit
    (or its AppTest) that is a page script, which must not run again in a
    worker.  Present an empty ``__main__`` while workers start."""
    real = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if real is not None:
            sys.modules["__main__"] = real
