"""Static scans of the product tree (ast only, nothing imported): SQL outside ``core/store``,
private names imported across modules, import cycles among ``core`` packages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("core", "ui", "pages", "app.py", "tools")  # what the SQL rule covers
SQL_HOME = "core/store/"

DB_CALLS = frozenset({"execute", "executemany", "executescript"})
QUERY_CALLS = frozenset({"query"})  # sqlite-utils ``db.query(sql)``: flagged when given a string
# A statement, not an English sentence: the keyword in capitals (the house style) followed by
# what makes it SQL.  Lower-case SQL counts when it carries a ``?`` / ``:name`` placeholder.
_STATEMENT = r"""(?:
        SELECT\s+(?:DISTINCT\s+)?.+?\bFROM\b | SELECT\s+\d | SELECT\s+\w+\s*\(
      | INSERT\s+(?:OR\s+\w+\s+)?INTO\b | REPLACE\s+INTO\b
      | UPDATE\s+\w+\s+SET\b | DELETE\s+FROM\b
      | CREATE\s+(?:UNIQUE\s+|TEMP\s+|TEMPORARY\s+|VIRTUAL\s+)?(?:TABLE|INDEX|TRIGGER|VIEW)\b
      | DROP\s+(?:TABLE|INDEX|TRIGGER|VIEW)\b | ALTER\s+TABLE\b
      | PRAGMA\s+\w+ | WITH\s+(?:RECURSIVE\s+)?\w+\s+AS\s*\(
    )"""
SQL_UPPER = re.compile(
    r"^\s*\(?\s*"
    + _STATEMENT
    + r"|^\s*(?:BEGIN(?:\s+(?:IMMEDIATE|DEFERRED|EXCLUSIVE))?(?:\s+TRANSACTION)?|COMMIT|ROLLBACK)\s*$",
    re.VERBOSE | re.DOTALL,
)
SQL_ANY_CASE = re.compile(r"^\s*\(?\s*" + _STATEMENT, re.VERBOSE | re.DOTALL | re.IGNORECASE)
PLACEHOLDER = re.compile(r"\?|(?<![\w:]):[A-Za-z_]\w*")


def product_files(root: Path = ROOT, parts=PRODUCT) -> list[Path]:
    out = []
    for part in parts:
        p = root / part
        if p.is_file():
            out.append(p)
        elif p.is_dir():
            out += sorted(f for f in p.rglob("*.py") if "__pycache__" not in f.parts)
    return out


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _literal_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f-string: its literal parts, a placeholder for each field
        return "".join(v.value if isinstance(v, ast.Constant) else " x " for v in node.values)
    return None


def is_sql(text: str) -> bool:
    if SQL_UPPER.match(text):
        return True
    return bool(SQL_ANY_CASE.match(text)) and bool(PLACEHOLDER.search(text))


def sql_in_source(source: str, name: str = "<string>") -> list[tuple[int, str]]:
    """``(line, what)`` for each SQL statement in ``source``: a DB-API call (``execute`` …) or a
    string that starts like a statement (docstrings are prose and not looked at)."""
    tree = ast.parse(source, filename=name)
    docs = _docstring_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DB_CALLS:
            found.append((node.lineno, f".{node.func.attr}(…) call"))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERY_CALLS
            and node.args
            and _literal_text(node.args[0]) is not None
        ):
            found.append((node.lineno, f".{node.func.attr}(<string>) call"))
        elif isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and id(node) not in docs):
            text = _literal_text(node)
            if text is not None and is_sql(text):
                found.append((node.lineno, "SQL string " + repr(" ".join(text.split())[:60])))
    # an f-string's literal parts are Constants too: report each line once per kind
    seen, out = set(), []
    for line, what in sorted(found):
        key = (line, what.split(" ", 1)[0])
        if key not in seen:
            seen.add(key)
            out.append((line, what))
    return out


def sql_outside_store(root: Path = ROOT) -> list[str]:
    out = []
    for f in product_files(root):
        rel = f.relative_to(root).as_posix()
        if rel.startswith(SQL_HOME):
            continue
        out += [f"{rel}:{line}: {what}" for line, what in sql_in_source(f.read_text(encoding="utf-8"), rel)]
    return out


# ---------------------------------------------------------------- imports


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


OWN_PACKAGES = frozenset(
    {"core", "ui", "tools", "pages", "app"}
)  # ``os._exit`` is the standard library's own API


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports_in_source(
    source: str, module: str = "m", is_package: bool = False
) -> list[tuple[int, str]]:
    """``(line, what)`` for each private name taken from another module: ``from x import _y``,
    ``import x._y`` and ``x._y`` on a module bound by an import."""
    tree = ast.parse(source)
    found, module_aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            if any(_is_private(p) for p in target.split(".")):
                found.append((node.lineno, f"from {target} import …"))
            for alias in node.names:
                if _is_private(alias.name):
                    found.append((node.lineno, f"from {target} import {alias.name}"))
                else:
                    module_aliases[alias.asname or alias.name] = f"{target}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if any(_is_private(p) for p in alias.name.split(".")):
                    found.append((node.lineno, f"import {alias.name}"))
                module_aliases[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _is_private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_aliases
            and module_aliases[node.value.id].split(".")[0] in OWN_PACKAGES
        ):
            found.append((node.lineno, f"{module_aliases[node.value.id]}.{node.attr}"))
    return sorted(set(found))


def private_imports(root: Path = ROOT) -> list[str]:
    out = []
    for f in product_files(root):
        mod = module_name(f, root)
        hits = private_imports_in_source(f.read_text(encoding="utf-8"), mod, f.name == "__init__.py")
        out += [f"{f.relative_to(root).as_posix()}:{line}: {what}" for line, what in hits]
    return out


def _type_checking_only(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                for inner in ast.walk(sub):
                    ids.add(id(inner))
    return ids


def import_graph(root: Path = ROOT, parts=("core",)) -> dict[str, set[str]]:
    """Module → the product modules it imports (at top level or inside functions; not under
    ``TYPE_CHECKING``).  ``from p import m`` counts as importing ``p.m`` when that is a module."""
    files = product_files(root, parts)
    modules = {module_name(f, root): f for f in files}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, f in modules.items():
        tree = ast.parse(f.read_text(encoding="utf-8"))
        skip = _type_checking_only(tree)
        is_pkg = f.name == "__init__.py"
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(mod, is_pkg, node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for t in targets:
                while t and t not in modules:  # ``import core.x.y`` of a name inside a module
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    graph[mod].add(t)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    import sys

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 10000))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(old)
    return sorted(out)


def package_of(module: str) -> str:
    """``core.cases.review`` → ``core.cases``; a top-level module (``core.models``) is its own node."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else module


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for mod, targets in graph.items():
        src = package_of(mod)
        out.setdefault(src, set())
        for t in targets:
            if package_of(t) != src:
                out[src].add(package_of(t))
    return out
