"""Fake identifier numbers: resident ID cards (GB 11643), phones, record numbers.

Every function takes a ``random.Random`` so the caller's seed decides the
output.  Nothing here is a real person's number except by coincidence.
"""

from __future__ import annotations

import random
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def gb11643_check_digit(first17: str) -> str:
    """The 18th character of a resident ID number (ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return _CHECK[total % 11]


def is_valid_id18(number: str) -> bool:
    n = number.strip().upper()
    return len(n) == 18 and n[:17].isdigit() and gb11643_check_digit(n[:17]) == n[17]


def id_number_18(rng: random.Random, area_code: str, birth: date, sex: str) -> str:
    seq = rng.randrange(0, 100) * 10 + rng.choice((1, 3, 5, 7, 9) if sex == "男" else (0, 2, 4, 6, 8))
    first17 = f"{area_code}{birth:%Y%m%d}{seq:03d}"
    return first17 + gb11643_check_digit(first17)


def id_number_15(rng: random.Random, area_code: str, birth: date, sex: str) -> str:
    """Old-style 15-digit number (issued before 1999): YYMMDD, no check digit."""
    seq = rng.randrange(0, 100) * 10 + rng.choice((1, 3, 5, 7, 9) if sex == "男" else (0, 2, 4, 6, 8))
    return f"{area_code}{birth:%y%m%d}{seq:03d}"


_MOBILE_PREFIXES = (
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 "
    "170 176 177 180 181 182 183 185 186 187 188 189 191 198 199"
).split()
_AREA_CODES = "010 020 021 022 023 024 025 027 028 029 0311 0371 0431 0451 0531 0551 0571 0591 0731 0771 0851 0871 0898".split()


def mobile(rng: random.Random, style: str | None = None) -> str:
    digits = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    style = style or rng.choice(("plain", "plain", "plain", "space", "dash"))
    if style == "space":
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == "dash":
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return digits


def landline(rng: random.Random, area_code: str | None = None) -> str:
    code = area_code or rng.choice(_AREA_CODES)
    length = 8 if len(code) == 3 else rng.choice((7, 8))
    local = str(rng.randint(2, 8)) + "".join(str(rng.randrange(10)) for _ in range(length - 1))
    return f"{code}-{local}"


def digits(rng: random.Random, n: int) -> str:
    return str(rng.randint(1, 9)) + "".join(str(rng.randrange(10)) for _ in range(n - 1))


def inpatient_no(rng: random.Random, year: int) -> str:
    return f"{year}{rng.randrange(10**6):06d}"


def medical_record_no(rng: random.Random) -> str:
    return digits(rng, rng.choice((6, 7, 8)))


def outpatient_no(rng: random.Random) -> str:
    return "MZ" + digits(rng, 9)


def patient_id(rng: random.Random) -> str:
    return f"{rng.randrange(10**10):010d}"


def insurance_no(rng: random.Random) -> str:
    return digits(rng, rng.choice((10, 12, 16)))


def bed_no(rng: random.Random) -> str:
    return str(rng.randint(1, 48))


def lab_sample_no(rng: random.Random) -> str:
    return digits(rng, 12)
