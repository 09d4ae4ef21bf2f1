"""Each package's ``__init__.py`` says what it must not import ("Must not import core.store, ui/ or
streamlit."); that sentence is the rule, checked here on every module of the package (imports at top level
and inside functions)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.layout.scan import ROOT, module_name, product_files

RULE = re.compile(r"Must not import (.+?)\.(?:\s|$)", re.S)


def forbidden_prefixes(init: Path) -> list[str]:
    """The dotted prefixes named by the package docstring's "Must not import …" sentence."""
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
    m = RULE.search(doc)
    if not m:
        return []
    words = re.split(r",\s*|\s+or\s+|\s+and\s+", " ".join(m.group(1).split()))
    return [w.strip().rstrip("/").replace("/", ".") for w in words if w.strip()]


def raw_imports(path: Path, root: Path = ROOT) -> set[str]:
    """Every dotted name ``path`` imports (absolute; relative imports resolved against its package)."""
    mod = module_name(path, root)
    pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def _hits(name: str, prefixes: list[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(root: Path = ROOT) -> list[str]:
    out = []
    for init in sorted(root.glob("core/**/__init__.py")) + [
        root / "core" / "__init__.py",
        root / "ui" / "__init__.py",
    ]:
        prefixes = forbidden_prefixes(init)
        package = init.parent
        for f in product_files(root, (str(package.relative_to(root)),)):
            out += [
                f"{module_name(f, root)} imports {n}"
                for n in sorted(raw_imports(f, root))
                if _hits(n, prefixes)
            ]
    return sorted(set(out))


def test_every_package_keeps_to_what_its_init_forbids():
    assert not violations(), "\n".join(violations())


def test_every_core_package_states_what_it_must_not_import():
    silent = [
        str(p.relative_to(ROOT))
        for p in sorted(ROOT.glob("core/**/__init__.py"))
        if not forbidden_prefixes(p)
    ]
    assert not silent, silent


def test_the_rule_is_read_from_the_docstring_and_a_planted_import_is_caught(tmp_path):
    pkg = tmp_path / "core" / "thing"
    pkg.mkdir(parents=True)
    (tmp_path / "core" / "__init__.py").write_text(
        '"""Core.\nMust not import streamlit."""\n', encoding="utf-8"
    )
    (pkg / "__init__.py").write_text(
        '"""A thing.\nMust not import core.store, ui/ or streamlit."""\n', encoding="utf-8"
    )
    (pkg / "a.py").write_text(
        "def f():\n    from core.store import db\n    import streamlit as st\n", encoding="utf-8"
    )
    (pkg / "b.py").write_text("from . import a\nfrom core.models import Finding\n", encoding="utf-8")
    assert forbidden_prefixes(pkg / "__init__.py") == ["core.store", "ui", "streamlit"]
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "__init__.py").write_text('"""UI."""\n', encoding="utf-8")
    assert violations(tmp_path) == ["core.thing.a imports core.store.db", "core.thing.a imports streamlit"]
