"""Consistent role labels for people and hospitals across a whole case.

Reviewers must be able to follow *who did what* without learning *who*:
every occurrence of the same person (or hospital) in every page of every
document of a case gets the same label — ``[患者]``, ``[患者丈夫]``,
``[家属1]``, ``[医师A]``, ``[医师B]``, ``[护士C]``, ``[医院A]``, ``[外院B]``.

How it works (two passes over the case, in catalog order):

1. :meth:`LabelBook.observe` normalises each name (full-width → half-width,
   no spaces, trailing titles such as 医师/主任 dropped) and remembers, per
   normalised name, the most specific role seen anywhere in the case (a name
   tagged ``person_name`` on one page and ``doctor_name`` on another is a
   doctor everywhere; the patient's name is always ``[患者]``).
2. :meth:`LabelBook.label_for` hands out labels in order of first
   appearance.  Staff share one letter sequence (医师A, 医师B, 护士C …) so a
   letter never names two people; hospitals share another (医院A = the
   case's own institution, 外院B, 外院C …).

Labels are returned without brackets (``患者``, ``医师A``): the plan
(``core.redaction.plan``/``core.redaction.apply``) writes them as ``[患者]``.  Only person and
institution findings get a role label; other categories return ``None`` and
the plan uses the policy's category label.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Optional

from core.models import Category, Finding

# Most specific first: the role a name gets when it is tagged several ways.
ROLE_PRIORITY = [
    Category.PATIENT_NAME,
    Category.RELATIVE_NAME,
    Category.DOCTOR_NAME,
    Category.NURSE_NAME,
    Category.STAFF_NAME,
    Category.PERSON_NAME,
]

DEFAULT_TEMPLATES = {  # the plan writes labels in brackets: [患者], [医师A]
    "patient_name": "患者",
    "relative_named": "患者{relation}",  # relation from role_hint, e.g. 丈夫
    "relative_name": "家属{n}",
    "doctor_name": "医师{letter}",
    "nurse_name": "护士{letter}",
    "staff_name": "人员{letter}",
    "person_name": "人员{letter}",
    "own_institution": "医院{letter}",
    "institution": "外院{letter}",
}

# role_hint cue -> relation word in the label
RELATIONS = {
    "丈夫": "丈夫",
    "老公": "丈夫",
    "爱人": "配偶",
    "配偶": "配偶",
    "妻子": "妻子",
    "母亲": "母亲",
    "生母": "母亲",
    "妈妈": "母亲",
    "父亲": "父亲",
    "爸爸": "父亲",
}

TITLE_SUFFIXES = (
    "主任医师",
    "副主任医师",
    "主治医师",
    "住院医师",
    "实习医师",
    "进修医师",
    "规培医师",
    "主管护师",
    "护士长",
    "护师",
    "护士",
    "医师",
    "医生",
    "大夫",
    "主任",
    "教授",
)
INSTITUTION_NOISE = re.compile(r"[（(][^）)]*[）)]")  # "(本院)", "(南院区)"
SPACE_PUNCT = re.compile(r"[\s:：,，;；。、\"'“”‘’\[\]【】]+")


def halfwidth(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


def normalise_name(text: str) -> str:
    """Key under which two spellings of one person's name are the same person."""
    key = SPACE_PUNCT.sub("", halfwidth(text))
    changed = True
    while changed and key:
        changed = False
        for suffix in TITLE_SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix) + 1:
                key = key[: -len(suffix)]
                changed = True
    return key


def normalise_institution(text: str) -> str:
    key = INSTITUTION_NOISE.sub("", halfwidth(text))
    return SPACE_PUNCT.sub("", key)


def letters(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA …"""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("A") + r) + out
    return out


def _person_category(value: str) -> Optional[Category]:
    try:
        cat = Category(value)
    except ValueError:
        return None
    return cat if cat in ROLE_PRIORITY else None


def relation_of(role_hint: str) -> str:
    hint = halfwidth(role_hint or "")
    for cue, relation in RELATIONS.items():
        if cue in hint:
            return relation
    return ""


@dataclass
class _Entity:
    kind: str  # "person" | "institution"
    key: str
    category: Category
    relation: str = ""
    label: str = ""


@dataclass
class LabelBook:
    """Labels for one case.  Feed it every document's findings in catalog
    order with :meth:`observe`, then ask :meth:`label_for`."""

    own_institution: str = ""
    patient_name: str = ""
    templates: dict = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    _entities: dict = field(default_factory=dict)  # (kind, key) -> _Entity, insertion = first appearance
    _frozen: bool = False
    _staff_n: int = 0
    _inst_n: int = 0
    _relatives_n: int = 0
    _relations_used: set = field(default_factory=set)
    _hints: dict = field(default_factory=dict)  # person key -> (category, relation) from the case's seeds

    @classmethod
    def for_case(cls, meta=None, policy=None) -> "LabelBook":
        templates = dict(DEFAULT_TEMPLATES)
        templates.update(_policy_templates(policy))
        return cls(
            own_institution=getattr(meta, "institution", "") or "",
            patient_name=getattr(meta, "patient_name", "") or "",
            templates=templates,
        )

    def hint(self, seeds: Iterable) -> None:
        """What the case's seeds (archive record, labelled fields) say of a
        person: a name a later page finds without any cue still gets the
        label of its relation (the mother stays [母亲], never [人员I])."""
        for s in seeds:
            cat = _person_category(getattr(s, "category", ""))
            key = normalise_name(getattr(s, "value", "") or "") if cat else ""
            if not key:
                continue
            known = self._hints.get(key)
            relation = relation_of(getattr(s, "role_hint", "")) or (known[1] if known else "")
            if known and ROLE_PRIORITY.index(known[0]) <= ROLE_PRIORITY.index(cat):
                cat = known[0]
            self._hints[key] = (cat, relation)

    # ---- pass 1 -------------------------------------------------------
    def _entity_key(self, finding: Finding) -> Optional[tuple[str, str]]:
        if not finding.text:
            return None
        if finding.category.is_person:
            key = normalise_name(finding.text)
            return ("person", key) if key else None
        if finding.category == Category.INSTITUTION:
            key = normalise_institution(finding.text)
            return ("institution", key) if key else None
        return None

    def observe(self, findings: Iterable[Finding]) -> None:
        for f in findings:
            ek = self._entity_key(f)
            if ek is None:
                continue
            category = f.category
            if ek[0] == "person" and self.patient_name and ek[1] == normalise_name(self.patient_name):
                category = Category.PATIENT_NAME
            ent = self._entities.get(ek)
            if ent is None:
                ent = _Entity(ek[0], ek[1], category, relation_of(f.role_hint))
                hinted = self._hints.get(ek[1]) if ek[0] == "person" else None
                if hinted and ROLE_PRIORITY.index(hinted[0]) < ROLE_PRIORITY.index(ent.category):
                    ent.category = hinted[0]
                if hinted and not ent.relation:
                    ent.relation = hinted[1]
                self._entities[ek] = ent
            else:
                if ek[0] == "person" and ROLE_PRIORITY.index(category) < ROLE_PRIORITY.index(ent.category):
                    ent.category = category
                if not ent.relation:
                    ent.relation = relation_of(f.role_hint)
            if ent.label:  # seen after freezing: label it now, at the end
                continue
            if self._frozen:
                self._assign(ent)

    # ---- pass 2 -------------------------------------------------------
    def freeze(self) -> None:
        if self._frozen:
            return
        self._frozen = True
        for ent in self._entities.values():
            self._assign(ent)

    def _assign(self, ent: _Entity) -> None:
        t = self.templates
        if ent.kind == "institution":
            own = self.own_institution and ent.key == normalise_institution(self.own_institution)
            if not self.own_institution and self._inst_n == 0:
                own = True  # no archive record: the first hospital named is the case's own
            template = t["own_institution"] if own else t["institution"]
            ent.label = template.format(letter=letters(self._inst_n))
            self._inst_n += 1
            return
        cat = ent.category
        if cat == Category.PATIENT_NAME:
            ent.label = t["patient_name"]
        elif cat == Category.RELATIVE_NAME:
            if ent.relation and ent.relation not in self._relations_used:
                self._relations_used.add(ent.relation)
                ent.label = t["relative_named"].format(relation=ent.relation)
            else:
                self._relatives_n += 1
                ent.label = t["relative_name"].format(n=self._relatives_n)
        else:
            ent.label = t[cat.value].format(letter=letters(self._staff_n))
            self._staff_n += 1

    def label_for(self, finding: Finding) -> Optional[str]:
        ek = self._entity_key(finding)
        if ek is None:
            return None
        if ek not in self._entities:
            self.observe([finding])
        self.freeze()
        return self._entities[ek].label or None

    def legend(self) -> list[tuple[str, str]]:
        """(label, category) pairs in order of first appearance — never names."""
        self.freeze()
        seen, out = set(), []
        for ent in self._entities.values():
            if ent.label and ent.label not in seen:
                seen.add(ent.label)
                out.append((ent.label, ent.category.value))
        return out


def _policy_templates(policy) -> dict:
    """A policy YAML may override templates under ``role_labels:`` (same keys)."""
    if policy is None:
        return {}
    if isinstance(policy, dict):
        raw = policy.get("role_labels")
    else:
        raw = (getattr(policy, "options", None) or {}).get("role_labels")
    return {k: v for k, v in (raw or {}).items() if k in DEFAULT_TEMPLATES and isinstance(v, str)}


def assign_labels(
    findings: Iterable[Finding], policy=None, *, book: LabelBook | None = None, meta=None
) -> dict[str, str]:
    """``finding.id -> label`` for person and institution findings.

    Pass the same ``book`` for every document of a case (after observing all
    of them) so labels agree across documents; without one, labels agree
    across the pages of ``findings``.
    """
    findings = list(findings)
    if book is None:
        book = LabelBook.for_case(meta, policy)
        book.observe(findings)
    out = {}
    for f in findings:
        label = book.label_for(f)
        if label:
            out[f.id] = label
    return out
