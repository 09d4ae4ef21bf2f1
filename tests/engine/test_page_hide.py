"""Whole-page redaction through the one path (plan → apply → sanitize → leak gate)."""

import pymupdf
import pytest

from core.engine import redact_document
from core.models import Category, Finding, Source
from core.redaction.apply import hide_note
from core.redaction.plan import build_plan
from core.policy import load_policy

NAME = "李秀英"
ID_NO = "320102199701011234"


def _pdf(rotation: int = 0) -> pymupdf.Document:
    doc = pymupdf.open()
    first = doc.new_page(width=595, height=842)
    first.insert_text((60, 100), f"入院记录  姓名：{NAME}  体温36.8℃", fontsize=12, fontname="china-s")
    card = doc.new_page(width=595, height=842)
    card.insert_text(
        (80, 120), f"居民身份证  姓名 {NAME}  公民身份号码 {ID_NO}", fontsize=12, fontname="china-s"
    )
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 60, 40), 0)
    pix.clear_with(200)
    card.insert_image(pymupdf.Rect(80, 200, 380, 400), pixmap=pix)
    card.set_rotation(rotation)
    return doc


def _name_finding(doc) -> Finding:
    rect = tuple(doc[0].search_for(NAME)[0])
    return Finding(0, Category.PATIENT_NAME, [rect], "case_seed", 1.0, NAME, Source.TEXT)


@pytest.mark.parametrize("rotation", [0, 90])
def test_a_hidden_page_goes_out_black_with_its_reason_and_nothing_else(rotation):
    doc = _pdf(rotation)
    out, report, plan = redact_document(
        doc,
        [_name_finding(doc)],
        policy="review",
        hidden_pages={1: "id_card"},
        extra_identifiers=[NAME, ID_NO],
    )
    assert report.ok
    assert plan.hidden_pages == {1: "id_card"} and not plan.blanked
    assert out[1].get_text().split() == ["整页隐藏：身份证复印件"]  # the note, nothing of the card
    assert not out[1].get_images() and NAME not in out[1].get_text()
    assert NAME not in out[0].get_text() and "体温36.8℃" in out[0].get_text()  # other pages box by box
    pix = out[1].get_pixmap(dpi=30)
    samples = pix.samples
    dark = sum(1 for i in range(0, len(samples), pix.n) if samples[i] < 40) / (pix.width * pix.height)
    assert dark > 0.9  # a full black page
    assert out[1].rotation == rotation


def test_whole_page_hiding_is_part_of_the_plan_hash_and_plans_without_it_keep_theirs():
    doc = _pdf()
    policy = load_policy("review")
    findings = [_name_finding(doc)]
    plain = build_plan(findings, policy)
    hidden = build_plan(findings, policy, hidden_pages={1: "id_card"})
    photo = build_plan(findings, policy, hidden_pages={1: "photo"})
    assert len({plain.hash(), hidden.hash(), photo.hash()}) == 3
    assert plain.hash() == build_plan(findings, policy, hidden_pages={}).hash()
    assert "hidden_pages" not in plain.to_dict() and hidden.to_dict()["hidden_pages"] == {"1": "id_card"}
    assert 1 in hidden.pages()


def test_note_names_the_reason_from_the_data_file_and_unknown_codes_still_hide():
    assert hide_note("photo") == "整页隐藏：照片页"
    assert hide_note("no-such-code").startswith("整页隐藏：")
    doc = _pdf()
    out, report, _ = redact_document(
        doc, [], policy="review", hidden_pages={1: "no-such-code"}, extra_identifiers=[ID_NO]
    )
    assert report.ok and ID_NO not in out[1].get_text()
