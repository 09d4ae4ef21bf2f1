"""The data model shared by every pipeline step.

Coordinates are PDF points in the page's *unrotated* space (origin top-left
of the crop box): the space PyMuPDF text extraction reports and
``add_redact_annot`` expects.  Renders (``get_pixmap``) and the review UI
show the page *rotated*; ``core.pdf.geometry`` converts between the two and
to pixels.

A ``Finding`` is what a recognizer reports; it never decides what happens to
the region (that is the policy's job, see ``core.policy``).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Iterable, Optional

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1


def as_rect(r: Any) -> Rect:
    """Any four numbers (``pymupdf.Rect``, a list read from JSON, a numpy row) as a ``Rect`` tuple."""
    x0, y0, x1, y1 = r
    return (x0, y0, x1, y1)


def declared_categories() -> dict[str, dict]:
    """Every category, declared once in ``core/rules/categories.yaml`` (or the ``DEID_RULES_DIR``
    override): code → ``{zh, color, kind, action, label}``.  A new category is one entry there."""
    from core.rules import load_rules

    return load_rules("categories")


class _CategoryRegistry(type):
    """``Category.PATIENT_NAME``, ``for c in Category``, ``"x" in Category``: read from the yaml."""

    def __getattr__(cls, name: str):
        if name.isupper() and name.lower() in declared_categories():
            return cls(name.lower())
        raise AttributeError(name)

    def __iter__(cls):
        return iter([cls(code) for code in declared_categories()])

    def __len__(cls) -> int:
        return len(declared_categories())

    def __contains__(cls, value) -> bool:
        return str.__str__(value) in declared_categories() if isinstance(value, str) else False

    def __getitem__(cls, name: str):
        if name.isupper() and name.lower() in declared_categories():
            return cls(name.lower())
        raise KeyError(name)


class Category(str, metaclass=_CategoryRegistry):
    """What kind of identifier a finding covers: an open registry, not a closed list.

    The categories, their display names, colours, kind (``person`` / ``visual``)
    and policy defaults are data (``core/rules/categories.yaml``); what a policy
    does with each is in ``core/rules/policies/*.yaml`` (a category a policy does
    not list gets its own defaults there, else it is hidden).  ``Category(code)``
    refuses a code that is not declared.  Behaves like the enum it replaces: a
    ``str`` equal to its code, with ``.value`` and ``.name``.
    """

    __slots__ = ()

    def __new__(cls, value):
        if isinstance(value, Category):
            return value
        if not isinstance(value, str) or value not in declared_categories():
            raise ValueError(f"{value!r} is not a valid Category")
        return str.__new__(cls, value)

    @property
    def value(self) -> str:
        return str.__str__(self)

    @property
    def name(self) -> str:
        return self.value.upper()

    @property
    def spec(self) -> dict:
        return declared_categories().get(self.value) or {}

    @property
    def is_person(self) -> bool:
        return self.spec.get("kind") == "person"

    @property
    def is_visual(self) -> bool:
        return self.spec.get("kind") == "visual"

    def __repr__(self) -> str:
        return f"<Category.{self.name}: {self.value!r}>"

    def __str__(self) -> str:  # as the enum printed it
        return f"Category.{self.name}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __reduce__(self):
        return (Category, (self.value,))


class Source(str, Enum):
    TEXT = "text"  # PDF text layer
    OCR = "ocr"  # text recognised from pixels
    IMAGE = "image"  # pixels / image objects (visual detectors)
    MANUAL = "manual"  # drawn or added by a person


@dataclass(frozen=True)
class Char:
    """One character with its box on the page."""

    c: str
    rect: Rect
    source: Source = Source.TEXT


@dataclass
class PageText:
    """All text of one page as a string plus a box for every character.

    ``text`` joins lines with ``\\n``; ``boxes[i]`` is the box of ``text[i]``
    (``None`` for the inserted newlines).  Recognizers search ``text`` and
    turn character offsets into rectangles with :meth:`rects_for`.
    """

    page_index: int
    width: float
    height: float
    text: str = ""
    boxes: list[Optional[Rect]] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)

    @classmethod
    def from_lines(
        cls, page_index: int, width: float, height: float, lines: Iterable[list[Char]]
    ) -> "PageText":
        pt = cls(page_index, width, height)
        parts: list[str] = []
        for line in lines:
            if not line:
                continue
            if parts:
                parts.append("\n")
                pt.boxes.append(None)
                pt.sources.append(Source.TEXT)
            for ch in line:
                parts.append(ch.c)
                pt.boxes.append(ch.rect)
                pt.sources.append(ch.source)
        pt.text = "".join(parts)
        return pt

    def lines(self) -> list[tuple[int, int]]:
        """(start, end) offsets of each line."""
        out, start = [], 0
        for i, c in enumerate(self.text):
            if c == "\n":
                out.append((start, i))
                start = i + 1
        out.append((start, len(self.text)))
        return [(s, e) for s, e in out if e > s]

    def rects_for(self, start: int, end: int) -> list[Rect]:
        """Union of character boxes per line for text[start:end]; a line that
        wraps (the next box lies below and wholly left of the last) starts a
        new box.  Remembered per (start, end) while ``text`` and ``boxes``
        stay the same (the field recognizer asks for the same lines' boxes
        ~18 times each: 24,000 calls, 1,300 distinct on a 20-page record)."""
        memo = self.__dict__.get("_rects_memo")
        if (
            memo is None
            or memo[0] is not self.text
            or memo[1] is not self.boxes
            or memo[2] != len(self.boxes)
        ):
            known: dict[tuple[int, int], list[Rect]] = {}
            memo = (self.text, self.boxes, len(self.boxes), known)
            self.__dict__["_rects_memo"] = memo
        known = memo[3]
        found = known.get((start, end))
        if found is None:
            found = known[(start, end)] = self._rects_for(start, end)
        return list(found)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_rects_memo", None)  # rebuilt on demand; not sent between processes
        return state

    def _rects_for(self, start: int, end: int) -> list[Rect]:
        rects: list[Rect] = []
        text, boxes = self.text, self.boxes
        open_ = False
        x0 = y0 = x1 = y1 = 0.0
        last: Optional[Rect] = None
        for i in range(max(0, start), min(end, len(boxes))):
            b = boxes[i]
            if b is None:
                if open_:
                    rects.append((x0, y0, x1, y1))
                    open_ = False
                continue
            if text[i].isspace():
                continue
            if open_ and last is not None and wraps_after(last, b):
                rects.append((x0, y0, x1, y1))
                open_ = False
            last = b
            if not open_:
                x0, y0, x1, y1 = b
                open_ = True
                continue
            if b[0] < x0:
                x0 = b[0]
            if b[1] < y0:
                y0 = b[1]
            if b[2] > x1:
                x1 = b[2]
            if b[3] > y1:
                y1 = b[3]
        if open_:
            rects.append((x0, y0, x1, y1))
        return rects

    def source_for(self, start: int, end: int) -> Source:
        boxes, sources = self.boxes, self.sources
        for i in range(start, min(end, len(sources))):
            if sources[i] == Source.OCR and boxes[i]:
                return Source.OCR
        return Source.TEXT


def wraps_after(last: Rect, b: Rect) -> bool:
    """``b`` starts the next line of a wrapped paragraph after ``last``."""
    return b[2] <= last[0] + 0.25 * (last[2] - last[0]) and b[1] >= last[1] + 0.7 * (last[3] - last[1])


@dataclass
class Finding:
    """One region on one page that holds (or is) an identifier.

    ``text`` is the identifier as read (sensitive: never log or print it; use
    :func:`core.masking.mask` for display).  Visual findings have ``text``
    empty unless a value was decoded (e.g. a QR code).
    """

    page_index: int
    category: Category
    rects: list[Rect]
    detector: str
    confidence: float = 1.0
    text: str = ""
    source: Source = Source.TEXT
    role_hint: str = ""  # e.g. "丈夫", "主治医师" — the cue that gave the role
    id: str = ""

    def __post_init__(self) -> None:
        self.category = Category(self.category)
        self.source = Source(self.source)
        self.rects = [tuple(float(v) for v in r) for r in self.rects]  # type: ignore[misc]
        if not self.id:
            self.id = self.make_id()

    def make_id(self) -> str:
        key = f"{self.page_index}|{self.category.value}|" + ";".join(
            ",".join(f"{v:.1f}" for v in r) for r in self.rects
        )
        return hashlib.sha1(key.encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["category"] = self.category.value
        d["source"] = self.source.value
        d["rects"] = [list(r) for r in self.rects]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Finding":
        d = dict(d)
        d["rects"] = [tuple(r) for r in d.get("rects", [])]
        return cls(**d)


@dataclass
class CaseMeta:
    """An archive-index record (the CLI's CASE.json).  Every field optional."""

    case_id: str = ""
    patient_id: str = ""
    patient_name: str = ""
    sex: str = ""
    age: str = ""
    id_number: str = ""
    inpatient_no: str = ""
    institution: str = ""
    department: str = ""
    admission_date: str = ""
    discharge_date: str = ""
    main_diagnosis: str = ""
    main_operation: str = ""
    extra: dict = field(default_factory=dict)  # phone, address, family names …

    KNOWN = (
        "case_id patient_id patient_name sex age id_number inpatient_no institution department "
        "admission_date discharge_date main_diagnosis main_operation"
    ).split()

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "CaseMeta":
        d = dict(d or {})
        known = {k: ("" if d.get(k) is None else str(d.pop(k))) for k in cls.KNOWN if k in d}
        return cls(**known, extra=d)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.KNOWN if getattr(self, k)}
        d.update(self.extra)
        return d
