"""Patient codes: random, never derived from identifiers.

``ZY-7K3M-9QX2``: 8 symbols of Crockford base32 (no I, L, O, U) from
``secrets`` — 40 bits, so codes do not collide in practice and say nothing
about the patient.  The code → case mapping lives sealed in the store
(``core.export.store``).
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "ZY"
CODE_RE = re.compile(rf"^{PREFIX}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")


def new_patient_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{PREFIX}-{body[:4]}-{body[4:]}"


def normalise_code(code: str) -> str:
    code = (code or "").strip().upper().replace("O", "0").replace("I", "1").replace("L", "1")
    return code


def is_patient_code(code: str) -> bool:
    return bool(CODE_RE.match(normalise_code(code)))
