"""Mask identifiers for display in reports, logs and the UI.

``mask("张三丰", "patient_name") -> "张**"``; numbers keep a short head and
tail (``3201********1234``).  Only masked values may leave the store.
"""
from __future__ import annotations

import hashlib
import re


def mask(text: str, category: str = "") -> str:
    text = (text or "").strip()
    if not text:
        return ""
    compact = re.sub(r"\s+", "", text)
    digits = sum(ch.isdigit() for ch in compact)
    if digits >= 7 and len(compact) >= 11:
        return compact[:4] + "*" * (len(compact) - 8) + compact[-4:]
    if digits >= 5:
        keep = 2 if len(compact) > 6 else 1
        return compact[:keep] + "*" * (len(compact) - 2 * keep) + compact[-keep:]
    if len(compact) <= 1:
        return "*"
    return compact[0] + "*" * (len(compact) - 1)


def fingerprint(text: str, salt: str = "") -> str:
    """Stable non-reversible id of a value (for grouping without storing it).

    Use a per-installation secret salt when the fingerprint is stored.
    """
    norm = re.sub(r"\s+", "", text or "")
    return hashlib.sha256((salt + "|" + norm).encode("utf-8")).hexdigest()[:16]
