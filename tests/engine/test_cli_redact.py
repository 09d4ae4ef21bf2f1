"""End to end through the command line on generated born-digital PDFs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pymupdf
import pytest

from tests.engine.pdfs import char_positions, dark_fraction, text_page

ROOT = Path(__file__).resolve().parents[2]
RECORD = [
    "南京市第一人民医院  地址：江苏省南京市鼓楼区中山路321号  电话：025-83106666",
    "住院病案首页",
    "姓名：王小红  性别：女  年龄：28岁  住院号：20230456",
    "身份证号：320106199501011237  联系电话：13912345678",
    "联系人：张伟  关系：丈夫  住址：江苏省南京市玄武区幸福路12号3栋",
    "入院诊断：1. 孕39周 2. 妊娠期高血压",
    "病程记录：今日李建国主任医师查房，患者王小红一般情况可，血压135/85mmHg。",
    "其丈夫张伟签字同意。转入省妇幼保健院进一步治疗。",
    "记录者：陈静   主治医师：刘洋",
]
IDENTIFIERS = [
    "王小红",
    "20230456",
    "320106199501011237",
    "13912345678",
    "张伟",
    "幸福路12号",
    "李建国",
    "陈静",
    "刘洋",
    "南京市第一人民医院",
    "中山路321号",
    "83106666",
    "省妇幼保健院",
]
CLINICAL = ["入院诊断：1. 孕39周 2. 妊娠期高血压", "性别：女", "年龄：28岁", "血压135/85mmHg", "主任医师查房"]


def run_cli(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def record_pdf(tmp_path):
    doc = pymupdf.open()
    text_page(doc, RECORD)
    text_page(doc, ["病程记录（续）", "患者王小红今日复查血常规：白细胞 9.8×10^9/L。", "记录者：陈静"])
    path = tmp_path / "record.pdf"
    doc.set_metadata({"author": "王小红", "title": "王小红 住院病历"})
    doc.save(path)
    meta = tmp_path / "case.json"
    meta.write_text(
        json.dumps(
            {
                "case_id": "C1",
                "patient_name": "王小红",
                "inpatient_no": "20230456",
                "institution": "南京市第一人民医院",
                "department": "产科",
            },
            ensure_ascii=False,
        )
    )
    return path, meta


def test_redact_removes_identifiers_and_keeps_clinical_text(record_pdf, tmp_path):
    src, meta = record_pdf
    out, report = tmp_path / "out.pdf", tmp_path / "report.json"
    r = run_cli("redact", str(src), "-o", str(out), "--meta", str(meta), "--report", str(report), "--no-ocr")
    assert r.returncode == 0, r.stderr
    doc = pymupdf.open(out)
    assert doc.page_count == 2
    text = "".join(p.get_text() for p in doc).replace(" ", "")
    for ident in IDENTIFIERS:
        assert ident not in text, "identifier left in the text layer"
    for keep in CLINICAL:
        assert keep.replace(" ", "") in text
    assert not any(doc.metadata.get(k) for k in ("author", "title"))
    # nothing identifying reaches the terminal or the report
    data = report.read_text(encoding="utf-8")
    for ident in IDENTIFIERS:
        assert ident not in r.stdout + r.stderr
        assert ident not in data
    rep = json.loads(data)
    assert rep["verification"]["ok"] and rep["findings"]
    assert {"page", "boxes", "category", "detector", "confidence", "masked"} <= set(rep["findings"][0])


def test_pixels_inside_identifier_boxes_are_blank_black(record_pdf, tmp_path):
    src, meta = record_pdf
    before = pymupdf.open(src)
    rects = before[0].search_for("王小红") + before[0].search_for("320106199501011237")
    out = tmp_path / "out.pdf"
    assert run_cli("redact", str(src), "-o", str(out), "--meta", str(meta), "--no-ocr").returncode == 0
    after = pymupdf.open(out)[0]
    for rect in rects:
        # the box is filled (black) and no glyph survives under it
        assert dark_fraction(after, rect) > 0.9
        assert after.get_textbox(rect).strip() == ""


def test_label_style_writes_neutral_labels(record_pdf, tmp_path):
    src, meta = record_pdf
    out = tmp_path / "out.pdf"
    assert (
        run_cli(
            "redact", str(src), "-o", str(out), "--meta", str(meta), "--style", "label", "--no-ocr"
        ).returncode
        == 0
    )
    text = pymupdf.open(out)[0].get_text()
    assert "[患者]" in text and "[医师]" in text and "王小红" not in text


def test_neighbouring_glyphs_keep_their_positions(record_pdf, tmp_path):
    src, meta = record_pdf
    out = tmp_path / "out.pdf"
    assert run_cli("redact", str(src), "-o", str(out), "--meta", str(meta), "--no-ocr").returncode == 0
    before = char_positions(pymupdf.open(src)[0])
    after = set(char_positions(pymupdf.open(out)[0]))
    kept = [c for c in before if c in after]
    # every glyph that survived is exactly where it was (no left shift)
    moved = [c for c in char_positions(pymupdf.open(out)[0]) if c not in set(before)]
    assert not moved
    line = [c for c in before if c[0] in "性别女年龄岁"]
    assert all(c in after for c in line)
    assert len(kept) > len(before) * 0.5


@pytest.mark.parametrize(
    "content,needle",
    [
        (b"hello, not a pdf", "不是 PDF"),
        (b"%PDF-1.7\n1 0 obj <</Type/Catalog>> garbage", "PDF"),
        (b"", "为空"),
    ],
)
def test_unusable_input_exits_2_with_one_line_message(tmp_path, content, needle):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(content)
    out = tmp_path / "out.pdf"
    r = run_cli("redact", str(bad), "-o", str(out))
    assert r.returncode == 2
    assert needle in r.stderr and "/" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_encrypted_and_zero_page_inputs_exit_2(tmp_path):
    doc = pymupdf.open()
    text_page(doc, ["姓名：王小红"])
    enc = tmp_path / "enc.pdf"
    doc.save(enc, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    r = run_cli("redact", str(enc), "-o", str(tmp_path / "o.pdf"))
    assert r.returncode == 2 and "加密" in r.stderr
    zero = tmp_path / "zero.pdf"
    zero.write_bytes(
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    r = run_cli("redact", str(zero), "-o", str(tmp_path / "o2.pdf"))
    assert r.returncode == 2


def test_leak_found_by_verification_exits_3_and_writes_nothing(record_pdf, tmp_path, monkeypatch):
    """If the plan misses an identifier the run fails and no file is left."""
    from core import cli
    from core import engine

    src, meta = record_pdf
    out = tmp_path / "out.pdf"
    real = engine.build_plan

    def plan_missing_patient(findings, policy, style=None, **kw):
        return real([f for f in findings if f.category.value != "patient_name"], policy, style, **kw)

    monkeypatch.setattr(engine, "build_plan", plan_missing_patient)
    code = cli.main(["redact", str(src), "-o", str(out), "--meta", str(meta), "--no-ocr"])
    assert code == 3
    assert not out.exists()


def test_help_documents_the_contract():
    r = run_cli("redact", "--help")
    assert r.returncode == 0
    for word in ("--meta", "--policy", "--style", "--report", "Exit codes"):
        assert word in r.stdout


def test_the_cli_gate_ocrs_image_regions_as_the_export_does(tmp_path):
    """A name the detector missed inside an image on a page with a good text layer: the gate of the
    redact command reads the image (the same default as export) and refuses to write the file."""
    from core.engine import redact_to_bytes
    from core.verify.ocr import DEFAULT_MODE

    src = pymupdf.open()
    sp = src.new_page(width=300, height=60)
    sp.insert_text((10, 38), "签名 张伟", fontname="china-s", fontsize=20)
    doc = pymupdf.open()
    text_page(doc, ["病程记录", "血常规：白细胞 9.8×10^9/L。"])
    doc[0].insert_image(pymupdf.Rect(300, 500, 450, 530), stream=sp.get_pixmap(dpi=150).tobytes("png"))
    _data, report, _plan = redact_to_bytes(doc, [], extra_identifiers=[("张伟", "relative_name")])
    assert DEFAULT_MODE == "images" and report.ocr_mode == "images"
    assert not report.ok and [leak.where for leak in report.leaks] == ["ocr"]
    help_text = run_cli("redact", "--help").stdout + run_cli("export", "--help").stdout
    assert help_text.count("--verify-ocr") >= 2
