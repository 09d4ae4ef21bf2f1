"""Document type catalog order (``core/rules/doc_types.yaml``)."""

from __future__ import annotations

from functools import lru_cache

from core.rules import load_rules

UNKNOWN_ORDER = 9999


@lru_cache(maxsize=1)
def _order_map() -> dict[str, int]:
    out: dict[str, int] = {}
    for i, entry in enumerate(load_rules("doc_types")["order"]):
        out[entry["name"]] = i
        for alias in entry.get("aliases") or []:
            out.setdefault(alias, i)
    return out


def catalog_order(doc_type: str) -> int:
    """Position of ``doc_type`` in the standard catalog; unknown types last."""
    return _order_map().get((doc_type or "").strip(), UNKNOWN_ORDER)


def catalog_types() -> list[str]:
    return [e["name"] for e in load_rules("doc_types")["order"]]


def sort_documents(docs: list[dict]) -> list[dict]:
    """Catalog order, then date, then doc_id (stable for equal types)."""
    return sorted(
        docs, key=lambda d: (catalog_order(d.get("type", "")), d.get("date") or "", d.get("doc_id") or "")
    )
