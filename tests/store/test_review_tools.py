"""Review tools on a real stored case: 切字 flags, whole-page hiding, CSV of decisions."""

import pytest

from core.archive import FolderArchive
from core.cases import review
from core.cases.processing import run_detect, run_import
from core.store import findings as finding_store
from core.store import jobs as job_store

PREPARER = {"username": "prep1", "role": "preparer"}


@pytest.fixture
def case(db, archive_root):
    run_import(db, job_store.create(db, "C2024001", "import"), FolderArchive(archive_root), "C2024001")
    run_detect(db, job_store.create(db, "C2024001", "detect"), "C2024001")
    return "C2024001"


def _number_box(db, case):
    page = review.pages(db, case)[0]
    boxes = [f for f in review.findings_view(db, page["id"]) if f["category"] == "record_number"]
    assert boxes, "the inpatient number is detected"
    return page, boxes[0]


def test_detected_boxes_do_not_cut_and_a_shortened_box_does(db, case):
    page, box = _number_box(db, case)
    assert box["id"] not in review.cutting_boxes(db, case)
    x0, y0, x1, y1 = box["rects_px"][0]
    review.move_box(db, PREPARER, box["id"], (x0, y0, x0 + (x1 - x0) * 0.55, y1))  # the tail stays readable
    flags = review.cutting_boxes(db, case)
    assert "word" in flags[box["id"]]
    assert set(flags) == {box["id"]}
    assert review.cutting_boxes(db, case, finding_ids=set()) == {}


def test_canvas_paints_outlines_only_and_hover_names_each_box(db, case):
    page = review.pages(db, case)[0]
    findings = review.findings_view(db, page["id"])
    assert findings
    drawing = review.canvas_drawing(findings, scale=1.5, focus=findings[0]["id"])
    objects = drawing["objects"]
    assert len(objects) == sum(len(f["rects_px"]) for f in findings)
    assert all(o["chipSuppressed"] is True for o in objects)  # no label chip painted over the page
    assert all(o["label"].startswith("#") for o in objects)  # identity kept for canvas_changes
    assert objects[0]["strokeWidth"] == 5 and objects[1]["strokeWidth"] == 2
    # what the canvas sends back maps onto no change at all
    boxes = [
        {"label": o["label"], "left": o["left"], "top": o["top"], "width": o["width"], "height": o["height"]}
        for o in objects
    ]
    assert review.canvas_changes(findings, boxes, scale=1.5) == ([], [], [])
    hover = review.canvas_hover_boxes(findings, scale=1.5)
    assert len(hover) == len(objects)
    sizes = [(b["r"] - b["l"]) * (b["b"] - b["t"]) for b in hover]
    assert sizes == sorted(sizes)
    f = findings[0]
    text = review.canvas_hover_text(f)
    assert text.startswith(f"#{f['id']} {f['label']}") and "待确认" in text
    assert "李秀英" not in " ".join(b["text"] for b in hover)  # masked values only


def test_hide_a_whole_page_with_a_reason(db, case):
    import json

    from core.cases import workflow
    from core.cases.workflow import WorkflowError
    from core.errors import InputError, PermissionDenied
    from core.security import audit

    page = review.pages(db, case)[1]
    before_hash = workflow.case_plan_hash(db, case)
    with pytest.raises(InputError):
        review.hide_page(db, PREPARER, page["id"], "not-a-reason")
    with pytest.raises(PermissionDenied):
        review.hide_page(db, {"username": "sup1", "role": "supervisor"}, page["id"], "id_card")
    review.hide_page(db, PREPARER, page["id"], "id_card")
    assert workflow.case_plan_hash(db, case) != before_hash  # the approval covers it
    png, info = review.preview_png(db, PREPARER, page["id"])
    assert info["hidden"] and info["ok"]
    import pymupdf

    pix = pymupdf.Pixmap(png)
    samples = pix.samples
    step = pix.n * 7
    dark = sum(1 for i in range(0, len(samples), step) if samples[i] < 40) / (len(samples) / step)
    assert dark > 0.9
    rows = audit.rows(db, case_id=case, action="page.hide")
    assert len(rows) == 1 and rows[0]["page"] == page["page_index"]
    detail = json.loads(rows[0]["detail"])
    assert detail["reason"] == "id_card" and "李秀英" not in rows[0]["detail"]
    review.hide_page(db, PREPARER, page["id"], "")  # shown again, box by box
    assert workflow.case_plan_hash(db, case) == before_hash
    assert audit.rows(db, case_id=case, action="page.unhide")
    review.hide_page(db, PREPARER, page["id"], "photo")
    # read-only while in review, in the store itself
    from factory import review_everything

    review_everything(db, PREPARER, case)
    workflow.submit(db, case, PREPARER)
    with pytest.raises(WorkflowError):
        review.hide_page(db, PREPARER, page["id"], "")
    with pytest.raises(Exception, match="read-only"):
        db.execute("UPDATE pages SET hide_reason = '' WHERE id = ?", [page["id"]])


def test_export_shows_a_hidden_page_black_with_its_reason(db, case, tmp_path, monkeypatch):
    import pymupdf

    from core.cases import workflow
    from core.cli import main
    from core.security import auth
    from factory import review_everything

    monkeypatch.setenv("DEID_BCRYPT_ROUNDS", "4")
    prep, _ = auth.create_user(db, "prep9", "preparer", "Str0ng-Passw0rd!", must_change=False)
    sup, _ = auth.create_user(db, "sup9", "supervisor", "Str0ng-Passw0rd!", must_change=False)
    hidden = review.pages(db, case)[1]
    review.hide_page(db, prep, hidden["id"], "id_card")
    review_everything(db, prep, case)
    workflow.submit(db, case, prep)
    workflow.approve(db, case, sup, workflow.case_plan_hash(db, case))
    out = tmp_path / "out"
    assert main(["export", case, "--out", str(out), "--user", "sup9"]) == 0
    (pdf,) = out.glob("*.pdf")
    doc = pymupdf.open(pdf)
    texts = [p.get_text() for p in doc]
    noted = [i for i, t in enumerate(texts) if "整页隐藏：身份证复印件" in t]
    assert len(noted) == 1  # exactly the hidden page (after the cover)
    page = doc[noted[0]]
    assert not page.get_images()
    assert "李秀英" not in "".join(texts) and "体温" not in texts[noted[0]]
    assert (
        sum("体温" in t for t in texts) == len(review.pages(db, case)) - 1
    )  # the others keep their clinical text


def test_decisions_csv_round_trip_restores_the_review_after_the_boxes_are_gone(db, case):
    import csv
    import io

    from core.cases import decisions, workflow
    from core.cases.processing import run_detect
    from core.errors import InputError, PermissionDenied
    from core.security import audit

    pages = review.pages(db, case)
    first = review.findings_view(db, pages[0]["id"])
    auto = [f for f in first if f["status"] == "auto"]
    review.decide(db, PREPARER, auto[0]["id"], accept=False)
    review.decide(db, PREPARER, auto[1]["id"], accept=True)
    x0, y0, x1, y1 = auto[2]["rects_px"][0]
    review.move_box(db, PREPARER, auto[2]["id"], (x0 - 6, y0, x1 + 8, y1 + 2))
    review.add_box(db, PREPARER, pages[1]["id"], (100, 600, 300, 640), "relative_name", "李秀英的丈夫陈志强")
    review.hide_page(db, PREPARER, pages[2]["id"], "photo")
    wanted = workflow.case_plan_hash(db, case)

    text = decisions.export_csv(db, PREPARER, case)
    assert "李秀英" not in text and "陈志强" not in text and "丈夫" not in text  # no value, no typed reason
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == decisions.COLUMNS
    assert {r["kind"] for r in rows} == {"box", "page"}
    assert [r["reason_code"] for r in rows if r["kind"] == "page"] == ["photo"]
    assert [r["reason_code"] for r in rows if r["source"] == "manual"] == ["typed"]
    assert len([r for r in rows if r["kind"] == "box"]) == len(review.case_boxes(db, case))
    assert audit.rows(db, case_id=case, action="decisions.export")

    # the work is gone (another installation, or the documents changed): detection only
    db.execute("DELETE FROM findings WHERE case_id = ?", [case])
    db.execute("UPDATE pages SET hide_reason = '' WHERE case_id = ?", [case])
    run_detect(db, job_store.create(db, case, "detect"), case)
    assert workflow.case_plan_hash(db, case) != wanted

    with pytest.raises(PermissionDenied):
        decisions.import_csv(db, {"username": "sup1", "role": "supervisor"}, case, text)
    with pytest.raises(InputError):
        decisions.import_csv(db, PREPARER, case, "a,b\n1,2\n")
    extra = text + 'box,d01,1,999,"[[400.0,700.0,420.0,710.0]]",record_number,accepted,text,label_fields,\n'
    counts = decisions.import_csv(db, PREPARER, case, "\ufeff" + extra)
    n_auto = len([r for r in rows if r["kind"] == "box" and r["source"] != "manual"])
    assert counts["matched"] == n_auto and counts["added"] == 1 and counts["unmatched"] == 1
    assert counts["pages_hidden"] == 1 and counts["unknown_pages"] == 0 and counts["changed"] >= 3
    assert workflow.case_plan_hash(db, case) == wanted  # the same plan as before
    assert audit.rows(db, case_id=case, action="decisions.import")
    # importing again changes nothing
    again = decisions.import_csv(db, PREPARER, case, text)
    assert again["changed"] == 0 and again["added"] == 0 and workflow.case_plan_hash(db, case) == wanted


def test_decisions_cli_export_and_import(db, case, tmp_path, capsys, monkeypatch):
    from core.cli import main
    from core.security import auth

    monkeypatch.setenv("DEID_BCRYPT_ROUNDS", "4")
    auth.create_user(db, "prep8", "preparer", "Str0ng-Passw0rd!", must_change=False)
    auth.create_user(db, "aud8", "auditor", "Str0ng-Passw0rd!", must_change=False)
    box = next(f for f in review.findings_view(db, review.pages(db, case)[0]["id"]) if f["status"] == "auto")
    review.decide(db, PREPARER, box["id"], accept=False)
    path = tmp_path / "decisions.csv"
    assert main(["decisions", "export", case, str(path), "--user", "prep8"]) == 0
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeffkind,doc_id,page") and "李秀英" not in text
    review.decide(db, PREPARER, box["id"], accept=True)
    capsys.readouterr()
    assert main(["decisions", "import", case, str(path), "--user", "prep8"]) == 0
    out = capsys.readouterr().out
    assert "matched=" in out and "changed=1" in out and "unmatched=0" in out
    assert finding_store.get(db, box["id"])["status"] == "rejected"
    assert main(["decisions", "import", case, str(path), "--user", "aud8"]) == 4  # an auditor may not
    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe junk")
    assert main(["decisions", "import", case, str(tmp_path / "bad.csv"), "--user", "prep8"]) == 2


def test_cut_check_on_a_scanned_page_uses_the_ocr_glyph_boxes(db, tmp_path):
    from core.archive import FolderArchive
    from factory import make_case

    root = tmp_path / "scan_archive"
    make_case(root, "CSCAN2", docs=(("d01", "入院记录", 1),), scanned={"d01": [0]})
    run_import(db, job_store.create(db, "CSCAN2", "import"), FolderArchive(root), "CSCAN2")
    run_detect(db, job_store.create(db, "CSCAN2", "detect"), "CSCAN2")
    (page,) = review.pages(db, "CSCAN2")
    assert page["scanned"] == 1
    lines = review.page_chars(db, page)
    assert sum(len(l) for l in lines) > 20  # OCR glyphs: the page has no text layer
    boxes = [f for f in review.findings_view(db, page["id"]) if f["category"] == "record_number"]
    assert boxes, "the inpatient number is found by OCR"
    assert boxes[0]["id"] not in review.cutting_boxes(db, "CSCAN2")
    x0, y0, x1, y1 = boxes[0]["rects_px"][0]
    review.move_box(db, PREPARER, boxes[0]["id"], (x0, y0, x0 + (x1 - x0) * 0.5, y1))
    assert boxes[0]["id"] in review.cutting_boxes(db, "CSCAN2")
