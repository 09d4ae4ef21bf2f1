"""Categories are data (issue 15): a category declared only in ``categories.yaml`` (a rules override
here, no code change) is a ``Category``, has its name and colour, and its boxes are planned with its
own policy defaults and truly removed by the one redaction path."""

from __future__ import annotations

import pymupdf
import pytest

from core.display import category_color, category_name
from core.models import Category, Finding, Source
from core.policy import load_policy
from core.redaction.apply import apply_plan
from core.redaction.plan import build_plan
from core.rules import RULES_DIR, load_rules
from tests.engine.pdfs import FONT

CARD = "医保卡号 H3301099887766"
EXTRA = """
insurance_card: {zh: 医保卡号, color: "#123456", action: hide, label: 医保卡}
ward_note:      {zh: 病区备注, color: "#654321", action: keep}
"""


@pytest.fixture
def extra_categories(tmp_path, monkeypatch):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "categories.yaml").write_text(
        (RULES_DIR / "categories.yaml").read_text(encoding="utf-8") + EXTRA, encoding="utf-8"
    )
    monkeypatch.setenv("DEID_RULES_DIR", str(rules))
    load_rules.cache_clear()
    yield
    monkeypatch.delenv("DEID_RULES_DIR")
    load_rules.cache_clear()


def _page_with_card() -> tuple[pymupdf.Document, tuple]:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_font(fontname="wqy", fontfile=FONT)
    page.insert_text((60, 100), "姓名栏以外的内容保留", fontname="wqy", fontsize=11)
    page.insert_text((60, 140), CARD, fontname="wqy", fontsize=11)
    hits = page.search_for("H3301099887766")
    assert len(hits) == 1
    return doc, tuple(hits[0])


def test_an_undeclared_code_is_refused_without_the_entry():
    with pytest.raises(ValueError):
        Category("insurance_card")
    assert "insurance_card" not in [c.value for c in Category]


def test_a_category_declared_in_yaml_only_is_a_category(extra_categories):
    card = Category("insurance_card")
    assert card == "insurance_card" and card.value == "insurance_card" and Category.INSURANCE_CARD is not None
    assert card in list(Category) and not card.is_person and not card.is_visual
    assert category_name("insurance_card") == "医保卡号" and category_color("insurance_card") == "#123456"
    f = Finding(0, "insurance_card", [(1.0, 2.0, 3.0, 4.0)], "test", 0.9, "H3301099887766", Source.TEXT)
    assert Finding.from_dict(f.to_dict()).category == card


def test_its_boxes_flow_through_plan_and_apply(extra_categories):
    doc, rect = _page_with_card()
    findings = [
        Finding(0, "insurance_card", [rect], "test", 0.9, "H3301099887766", Source.TEXT),
        Finding(0, "ward_note", [(60.0, 88.0, 200.0, 104.0)], "test", 0.9, "姓名栏", Source.TEXT),
    ]
    policy = load_policy("review")  # lists neither: the categories' own defaults apply
    assert "insurance_card" not in policy.categories
    assert [(i.category, i.label) for i in build_plan(findings, policy, style="label").items] == [
        ("insurance_card", "医保卡")
    ]  # ward_note: keep
    plan = build_plan(findings, policy, style="black")
    apply_plan(doc, plan)
    out = pymupdf.open("pdf", doc.tobytes())
    text = out[0].get_text()
    assert "H3301099887766" not in text and "姓名栏以外的内容保留" in text
    # the region is covered in the pixels too, not only removed from the text layer
    pix = out[0].get_pixmap(clip=pymupdf.Rect(rect), dpi=72)
    samples = pix.samples
    dark = sum(1 for k in range(0, len(samples), pix.n) if samples[k] < 128) / (pix.width * pix.height)
    assert dark > 0.9, dark
