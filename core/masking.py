"""Mask identifiers for display in reports, logs and the UI.

A mask keeps at most the first character of a name (or any other text) and
at most the last 4 characters of a number — never a head of a number, which
for a phone or ID number names the area and birth date:

``mask("张三丰") -> "张**"``, ``mask("13912345678") -> "*******5678"``,
``mask("320106199501011237") -> "**************1237"``.  Shorter numbers keep
less (a third of their length).  Only masked values may leave the store.
"""

from __future__ import annotations

import hashlib
import re

NUMBER_MIN_DIGITS = 5  # text with this many digits is treated as a number
KEEP_TAIL = 4  # at most this many trailing characters of a number


def mask(text: str, category: str = "") -> str:
    text = (text or "").strip()
    if not text:
        return ""
    compact = re.sub(r"\s+", "", text)
    if sum(ch.isdigit() for ch in compact) >= NUMBER_MIN_DIGITS:
        keep = KEEP_TAIL if len(compact) >= 10 else len(compact) // 3
        return "*" * (len(compact) - keep) + compact[len(compact) - keep :]
    if len(compact) <= 1:
        return "*"
    return compact[0] + "*" * (len(compact) - 1)


def fingerprint(text: str, salt: str = "") -> str:
    """Stable non-reversible id of a value (for grouping without storing it).

    Use a per-installation secret salt when the fingerprint is stored.
    """
    norm = re.sub(r"\s+", "", text or "")
    return hashlib.sha256((salt + "|" + norm).encode("utf-8")).hexdigest()[:16]
