"""Module boundaries (issue 15): no module takes another's private names, no import cycle in core/."""

from __future__ import annotations

from tests.layout.scan import (
    find_cycles,
    import_graph,
    package_graph,
    private_imports,
    private_imports_in_source,
)

PLANTED_PRIVATE = """
from core.detect.names import _cue_regexes, is_plausible_name
from . import _helpers
import core.store._internal
from core.security import audit
from core.cases import review as rv
import os


def f():
    key = audit._mac_key()
    rv._MEM.clear()
    os._exit(0)          # the standard library's own API
    audit.__name__       # dunder, not private
    return _local()
"""


def test_no_module_imports_another_modules_private_names():
    found = private_imports()
    assert not found, "private names used across modules (make them public or move the code):\n" + "\n".join(
        found
    )


def test_the_private_name_scanner_finds_planted_uses():
    found = private_imports_in_source(PLANTED_PRIVATE, "core.detect.fields")
    whats = sorted(w for _, w in found)
    assert whats == sorted(
        [
            "from core.detect.names import _cue_regexes",
            "from core.detect import _helpers",
            "import core.store._internal",
            "core.security.audit._mac_key",
            "core.cases.review._MEM",
        ]
    ), found


def test_no_import_cycle_among_core_modules():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles among core modules:\n" + "\n".join(" ↔ ".join(c) for c in cycles)


def test_no_import_cycle_in_the_app():
    """The Streamlit side too (ui.auth and ui.nav read the page table from ui.menu_pages)."""
    cycles = find_cycles(import_graph(parts=("core", "ui", "pages", "app.py")))
    assert not cycles, "import cycles:\n" + "\n".join(" ↔ ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_planted_cycle_and_not_a_diamond():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e", "f"}, "e": {"g"}, "f": {"g"}, "g": set()}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"x": {"y"}, "y": set()}) == []
    assert find_cycles(
        package_graph({"core.a.m": {"core.b.n"}, "core.b.n": {"core.a.k"}, "core.a.k": set()})
    ) == [["core.a", "core.b"]]
