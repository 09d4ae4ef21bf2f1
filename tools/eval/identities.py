"""Generated identities and clinical filler for the real-layout corpus.

Independent of ``tools.synth`` on purpose: its own vocabularies (tools/eval/data/vocab.json), its own number
formats.  A filled value is a list of segments ``(text, category)``; ``category`` is an eval-dev category
(pii or keep) or ``None`` for text that carries no truth item (separators, codes).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
VOCAB = json.loads((DATA / "vocab.json").read_text(encoding="utf-8"))
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

Segment = tuple[str, "str | None"]


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character of a resident ID number."""
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS)) % 11]


def person_name(rng: random.Random, vocab: dict = VOCAB) -> str:
    surname = rng.choice(vocab["compound_surnames"]) if rng.random() < 0.08 else rng.choice(vocab["surnames"])
    given = "".join(rng.choice(vocab["given_chars"]) for _ in range(rng.choice((1, 2, 2, 2))))
    return surname + given


def id_number(rng: random.Random, born: date, female: bool, vocab: dict = VOCAB) -> str:
    area = rng.choice(vocab["area_codes"])
    seq = rng.randrange(0, 50) * 2 + (0 if female else 1)
    first17 = f"{area}{born:%Y%m%d}{rng.randrange(0, 10)}{seq:02d}"[:17]
    return first17 + id_check_digit(first17)


def mobile(rng: random.Random) -> str:
    return rng.choice(("138", "139", "151", "158", "177", "186", "199")) + f"{rng.randrange(10**8):08d}"


def landline(rng: random.Random, vocab: dict = VOCAB) -> str:
    area, digits = rng.choice(vocab["phone_areas"]), f"{rng.randrange(2, 9)}{rng.randrange(10**7):07d}"
    return rng.choice((f"{area}-{digits}", f"({area}){digits}", f"{area} {digits}"))


def address(rng: random.Random, vocab: dict = VOCAB) -> str:
    city = rng.choice(vocab["cities"])
    return (
        f"{city}{rng.choice(vocab['districts'])}{rng.choice(vocab['streets'])}"
        f"{rng.randrange(1, 400)}号{rng.randrange(1, 30)}栋{rng.randrange(101, 2400)}室"
    )


def bed_no(rng: random.Random) -> str:
    n = rng.randrange(1, 60)
    return rng.choice(
        (
            f"{n}床",
            f"+{rng.randrange(1, 9)}",
            f"加{rng.randrange(1, 9)}",
            f"{rng.randrange(31, 60)}-{rng.randrange(1, 4)}",
        )
    )


def spaced(text: str) -> str:
    """``hospitalPlatformNameGap``-style title: one space between characters."""
    return " ".join(text)


@dataclass
class Identity:
    """Everything one record fills in: role -> segments."""

    rng: random.Random
    roles: dict[str, list[Segment]] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    admitted: date = date(2024, 1, 1)
    used: set[str] = field(default_factory=set)
    vocab: dict = field(default_factory=lambda: VOCAB)

    def get(self, role: str) -> list[Segment]:
        self.used.add(role)
        if role not in self.roles:  # "narrative#2": a fresh value of a repeated block's role
            self.roles[role] = self._make(role.split("#")[0])
        return self.roles[role]

    def _make(self, role: str) -> list[Segment]:
        rng = self.rng
        if role.startswith("staff"):
            return [(person_name(rng, self.vocab), "staff_name")]
        if role == "narrative":
            return narrative(rng, self)
        if role == "round_title":
            return [
                (self.get("staff_senior")[0][0], "staff_name"),
                (rng.choice(VOCAB["round_titles"]), "title"),
            ]
        if role == "drug":
            return [(rng.choice(VOCAB["drugs"]), "drug")]
        if role == "fee":
            return [(f"{rng.randrange(20, 9000)}.{rng.randrange(100):02d}", None)]
        if role == "code":
            return [(str(rng.randrange(1, 5)), None)]
        if role.startswith("datetime"):
            day = self.admitted + timedelta(days=rng.randrange(0, 9))
            return [(f"{day} {rng.randrange(7, 22):02d}:{rng.randrange(60):02d}", "date")]
        if role.startswith("date"):
            return [(str(self.admitted + timedelta(days=rng.randrange(0, 9))), "date")]
        if role in LAZY_ROLES:
            return LAZY_ROLES[role](rng, self)
        raise KeyError(role)


def name_pinyin(name: str, rng: random.Random) -> str:
    """The pinyin code HIS masters print next to a name: initials (WXM) or the full syllables (WANG XIAOMING)."""
    surname = next((s for s in VOCAB["compound_surnames"] if name.startswith(s)), name[0])
    syllables = ["".join(VOCAB["pinyin"][c] for c in surname)] + [
        VOCAB["pinyin"][c] for c in name[len(surname) :]
    ]
    if rng.random() < 0.5:
        return "".join(s[0] for s in [VOCAB["pinyin"][c] for c in name]).upper()
    return f"{syllables[0]} {''.join(syllables[1:])}".upper()


def _address_parts(rng: random.Random) -> dict[str, list[Segment]]:
    """A home address as the blanks of a paper form hold it: province, city, county, town, street, village."""
    city = rng.choice(VOCAB["cities"]).removesuffix("市")
    county = rng.choice(VOCAB["districts"]).removesuffix("区")
    parts = {
        "addr_province": rng.choice(VOCAB["provinces"]),
        "addr_city": city,
        "addr_county": county,
        "addr_town": rng.choice(VOCAB["towns"]),
        "addr_street": rng.choice(VOCAB["streets"]),
        "addr_village": rng.choice(VOCAB["villages"]),
    }
    return {k: [(v, "address")] for k, v in parts.items()}


def _lazy(rng: random.Random, ident: Identity, role: str) -> list[Segment]:
    if role.startswith("addr_"):
        for key, segs in _address_parts(rng).items():
            ident.roles.setdefault(key, segs)
        return ident.roles[role]
    raise KeyError(role)


# Roles only the held-out templates use: made on first use, so the rng sequence of the older corpora is unchanged.
LAZY_ROLES = {
    "name_pinyin": lambda rng, ident: [(name_pinyin(ident.roles["patient_name"][0][0], rng), "patient_name")],
    "phone_home": lambda rng, ident: [(landline(rng, ident.vocab), "phone")],
    "birthplace": lambda rng, ident: [
        (rng.choice(VOCAB["cities"]) + rng.choice(VOCAB["districts"]), "address")
    ],
    "marital": lambda rng, ident: [(rng.choice(VOCAB["marital"]), None)],
    "weight": lambda rng, ident: [(f"{rng.randrange(42, 95)}kg", "vital")],
    "height": lambda rng, ident: [(f"{rng.randrange(150, 188)}cm", "vital")],
    "nursing_level": lambda rng, ident: [(rng.choice(VOCAB["nursing_levels"]), None)],
    "specimen": lambda rng, ident: [(rng.choice(VOCAB["specimens"]), None)],
    "sign_year": lambda rng, ident: [(f"{ident.admitted:%Y}", None)],
    "sign_month": lambda rng, ident: [(f"{ident.admitted:%m}", None)],
    "sign_day": lambda rng, ident: [(f"{ident.admitted:%d}", None)],
    **{
        k: (lambda rng, ident, k=k: _lazy(rng, ident, k))
        for k in ("addr_province", "addr_city", "addr_county", "addr_town", "addr_street", "addr_village")
    },
}


def narrative(rng: random.Random, ident: Identity) -> list[Segment]:
    """A clinical paragraph with a staff name in a 查房 sentence and, sometimes, the patient's name."""
    lines = rng.sample(VOCAB["narrative"], 3)
    segs: list[Segment] = [
        (lines[0], "narrative"),
        ("今日", "narrative"),
        (ident.get("staff_senior")[0][0], "staff_name"),
        (rng.choice(("主任医师查房", "副主任医师查房，", "主治医师查房：")), "narrative"),
        (lines[1], "narrative"),
    ]
    if rng.random() < 0.5:
        segs += [
            ("患者", "narrative"),
            (ident.get("patient_name")[0][0], "patient_name"),
            ("诉", "narrative"),
        ]
    return segs + [(lines[2], "narrative")]


def new_identity(rng: random.Random, rid: str, vocab: dict = VOCAB) -> Identity:
    """One record's identity; ``vocab`` (names, places, hospitals, workplaces) defaults to vocab.json."""
    female = rng.random() < 0.5
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 30000))
    admitted = date(2023, 1, 1) + timedelta(days=rng.randrange(0, 900))
    discharged = admitted + timedelta(days=rng.randrange(3, 20))
    age = admitted.year - born.year - ((admitted.month, admitted.day) < (born.month, born.day))
    hospital = rng.choice(vocab["cities"]) + rng.choice(vocab["hospital_kinds"])
    dept, diag = rng.choice(VOCAB["departments"]), rng.sample(VOCAB["diagnoses"], 3)
    ident = Identity(rng, admitted=admitted, vocab=vocab)
    inpatient, patient_id = f"{rng.randrange(10**5, 10**7)}", f"{rng.randrange(10**7, 10**9)}"
    idn = id_number(rng, born, female, vocab)
    r = ident.roles
    r.update(
        {
            "patient_name": [(person_name(rng, vocab), "patient_name")],
            "sex": [("女" if female else "男", "sex")],
            "age": [(str(age), "age")],
            "age_unit": [("岁", None)],
            "age_full": [(f"{age}岁", "age")],
            "birth_date": [(f"{born:%Y年%m月%d日}", "date")],
            "id_number": [(idn, "id_number")],
            "inpatient_no": [(inpatient, "inpatient_no")],
            "patient_id": [(patient_id, "patient_id")],
            "outpatient_no": [(f"MZ{rng.randrange(10**7, 10**8)}", "outpatient_no")],
            "insurance_no": [(f"{rng.randrange(10**9, 10**10)}{rng.randrange(10**5):05d}", "insurance_no")],
            "bed_no": [(bed_no(rng), "bed_no")],
            "hospital_name": [(hospital, "hospital_name")],
            "hospital_title": [(spaced(hospital), "hospital_name")],
            "hospital_code": [(f"{rng.randrange(10**8, 10**9)}{rng.choice('0123456789X')}", "hospital_name")],
            "address_now": [(address(rng, vocab), "address")],
            "address_home": [(address(rng, vocab), "address")],
            "postcode": [(f"{rng.randrange(100000, 850000)}", None)],
            "phone": [(mobile(rng), "phone")],
            "phone_work": [(landline(rng, vocab), "phone")],
            "workplace": [(rng.choice(vocab["workplaces"]), "workplace")],
            "family_name": [(person_name(rng, vocab), "family_name")],
            "family_phone": [(mobile(rng), "phone")],
            "family_address": [(address(rng, vocab), "address")],
            "relation": [(rng.choice(("配偶", "子", "女", "母亲")), None)],
            "department": [(dept, "department")],
            "diagnosis": [(diag[0], "diagnosis")],
            "diagnosis_2": [(diag[1], "diagnosis")],
            "diagnosis_3": [(diag[2], "diagnosis")],
            "icd": [(rng.choice(VOCAB["icd"]), None)],
            "procedure": [(rng.choice(VOCAB["procedures"]), "procedure")],
            "drug": [(rng.choice(VOCAB["drugs"]), "drug")],
            "admission_date": [(str(admitted), "date")],
            "discharge_date": [(str(discharged), "date")],
            "stay_days": [(str((discharged - admitted).days), None)],
            "treatment_plan": [(rng.choice(VOCAB["plans"]), "narrative")],
        }
    )
    ident.meta.update(
        {
            "case_id": rid,
            "patient_id": patient_id,
            "patient_name": r["patient_name"][0][0],
            "sex": r["sex"][0][0],
            "age": f"{age}岁",
            "id_number": idn,
            "inpatient_no": inpatient,
            "institution": hospital,
            "department": dept,
            "admission_date": str(admitted),
            "discharge_date": str(discharged),
            "main_diagnosis": diag[0],
            "main_operation": r["procedure"][0][0],
        }
    )
    return ident
