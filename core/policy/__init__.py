"""Policies: what to do with each category of finding (hide, keep,
generalise) and how a hidden region looks (black box or a label).

Policies are data: ``core/rules/policies/<name>.yaml``.  Like Presidio's
operators they are kept apart from the recognizers that find things.
Must not import core.store, core.cases, core.export, ui/ or streamlit."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import InputError
from core.models import Category, Finding
from core.rules import RULES_DIR, load_rules

STYLES = ("black", "label")


@dataclass(frozen=True)
class CategoryRule:
    action: str = "hide"  # hide | keep | generalise
    label: str = ""


@dataclass(frozen=True)
class Policy:
    name: str
    title: str = ""
    default_style: str = "black"
    min_confidence: float = 0.0
    categories: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    def rule(self, category: Category | str) -> CategoryRule:
        """The policy's rule; for a category the policy does not list, the category's own defaults
        (``core/rules/categories.yaml``: action, label), else hide."""
        category = Category(category)
        if category.value in self.categories:
            return self.categories[category.value]
        spec = category.spec
        return CategoryRule(spec.get("action", "hide"), spec.get("label", "已隐藏"))

    def hides(self, finding: Finding) -> bool:
        rule = self.rule(finding.category)
        return rule.action in ("hide", "generalise") and finding.confidence >= self.min_confidence

    def label_for(self, category: Category | str) -> str:
        return self.rule(category).label or "已隐藏"


def available_policies() -> list[str]:
    return sorted(p.stem for p in (RULES_DIR / "policies").glob("*.yaml"))


def load_policy(name: str = "review") -> Policy:
    if name not in available_policies():
        raise InputError(f"未知的策略：{name}", f"unknown policy: {name}")
    cfg = load_rules(f"policies/{name}")
    cats = {
        k: CategoryRule(v.get("action", "hide"), v.get("label", ""))
        for k, v in cfg.get("categories", {}).items()
    }
    known = {"name", "title", "default_style", "min_confidence", "categories"}
    return Policy(
        name=cfg.get("name", name),
        title=cfg.get("title", name),
        default_style=cfg.get("default_style", "black"),
        min_confidence=float(cfg.get("min_confidence", 0.0)),
        categories=cats,
        options={k: v for k, v in cfg.items() if k not in known},
    )


def category_display(category: str) -> dict:
    return load_rules("categories").get(category, {"zh": category, "color": "#000000"})
