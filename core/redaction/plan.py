"""The redaction plan: exactly which rectangles are removed on which page,
and what (if anything) is written in each.  Built from findings, the
policy and the reviewers' decisions; approval freezes it by its hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Optional

from core.models import Finding, Rect, as_rect
from core.policy import STYLES, Policy


# Every item's box is widened by this much (points, x and y) when applied (``core.redaction.apply``): glyph edges
# under a box are covered.  A finding that must stay clear of a neighbouring glyph keeps this far from it.
REDACTION_PAD = (0.3, 1.0)


@dataclass(frozen=True)
class PlanItem:
    page_index: int
    rect: Rect
    category: str
    label: str = ""
    finding_id: str = ""
    origin: str = "auto"  # auto | manual


@dataclass
class RedactionPlan:
    policy: str
    style: str
    items: list[PlanItem] = field(default_factory=list)
    blanked: list[int] = field(
        default_factory=list
    )  # pages blanked on apply (core.redaction.apply), not part of the hash
    # what apply removed that the page never showed ({"glyphs": n, "streams": m, "covered_images": k}), not part of the hash
    unseen_removed: dict[str, int] = field(default_factory=dict)
    # whole pages hidden by a person: page index -> reason code (core/rules/page_hide_reasons.yaml);
    # apply shows such a page black with the reason's name, nothing of it is kept
    hidden_pages: dict[int, str] = field(default_factory=dict)

    def for_page(self, page_index: int) -> list[PlanItem]:
        return [i for i in self.items if i.page_index == page_index]

    def pages(self) -> list[int]:
        return sorted({i.page_index for i in self.items} | set(self.hidden_pages))

    def counts_by_category(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, category in {(i.finding_id or str(id(i)), i.category) for i in self.items}:
            counts[category] = counts.get(category, 0) + 1
        return counts

    def canonical(self) -> list:
        return sorted([i.page_index, [round(v, 1) for v in i.rect], i.category, i.label] for i in self.items)

    def hash(self) -> str:
        parts = [self.policy, self.style, self.canonical()]
        if self.hidden_pages:  # plans without whole-page hiding keep the hash they always had
            parts.append(sorted([int(k), v] for k, v in self.hidden_pages.items()))
        blob = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict:
        out: dict[str, Any] = {
            "policy": self.policy,
            "style": self.style,
            "items": [asdict(i) for i in self.items],
        }
        if self.hidden_pages:
            out["hidden_pages"] = {str(k): v for k, v in sorted(self.hidden_pages.items())}
        return out


def build_plan(
    findings: Iterable[Finding],
    policy: Policy,
    style: Optional[str] = None,
    rejected_ids: Iterable[str] = (),
    labels: Optional[Mapping[str, str]] = None,
    hidden_pages: Optional[Mapping[int, str]] = None,
) -> RedactionPlan:
    """Plan items for every finding the policy hides and nobody rejected.

    ``labels`` (finding id -> label, e.g. "医师A") overrides the policy's
    category label; ``core.policy.labels`` makes consistent ones.
    Manual findings (source "manual") are always hidden.  ``hidden_pages``
    (page index -> reason code) are pages a person hid whole.
    """
    style = style or policy.default_style
    if style not in STYLES:
        raise ValueError(f"unknown style: {style}")
    rejected = set(rejected_ids)
    labels = labels or {}
    plan = RedactionPlan(
        policy=policy.name,
        style=style,
        hidden_pages={int(k): str(v) for k, v in (hidden_pages or {}).items()},
    )
    for f in findings:
        manual = f.source.value == "manual"
        if f.id in rejected or not (manual or policy.hides(f)):
            continue
        label = labels.get(f.id) or policy.label_for(f.category)
        for rect in f.rects:
            plan.items.append(
                PlanItem(
                    f.page_index, as_rect(rect), f.category.value, label, f.id, "manual" if manual else "auto"
                )
            )
    return plan
