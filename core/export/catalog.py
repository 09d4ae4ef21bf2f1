"""Order of documents in the merged export.

Standard catalog order comes from the store's catalog
(``core.store.catalog.catalog_order``, data in ``core/rules/doc_types.yaml``,
aliases included); unknown types go last, then by date, then given order.
An explicit ``order`` list of doc_ids overrides it.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from core.store.catalog import catalog_order


def sort_documents(docs: Iterable, order_ids: Sequence[str] | None = None) -> list:
    """``docs`` have ``doc_id``, ``doc_type`` and ``date`` attributes."""
    docs = list(docs)
    if order_ids:
        pos = {d: i for i, d in enumerate(order_ids)}
        named = sorted((d for d in docs if d.doc_id in pos), key=lambda d: pos[d.doc_id])
        return named + sort_documents([d for d in docs if d.doc_id not in pos])
    indexed = list(enumerate(docs))
    indexed.sort(key=lambda p: (catalog_order(p[1].doc_type), p[1].date or "", p[0]))
    return [d for _, d in indexed]
