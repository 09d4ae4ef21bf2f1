import json

import pymupdf
import pytest

from core.cases import review
from core.archive import FolderArchive
from core.errors import PermissionDenied
from core.cases.processing import run_detect, run_import
from core.store import documents as doc_store
from core.store import findings as finding_store
from core.store import jobs as job_store

PREPARER = {"username": "prep1", "role": "preparer"}
AUDITOR = {"username": "aud1", "role": "auditor"}


@pytest.fixture
def case(db, archive_root):
    run_import(db, job_store.create(db, "C2024001", "import"), FolderArchive(archive_root), "C2024001")
    run_detect(db, job_store.create(db, "C2024001", "detect"), "C2024001")
    return "C2024001"


def audit_actions(db):
    return [r[0] for r in db.execute("SELECT action FROM audit_log ORDER BY id").fetchall()]


def test_add_move_delete_box_with_history(db, case):
    page = review.pages(db, case)[0]
    fid = review.add_box(db, PREPARER, page["id"], (100, 400, 300, 440), "manual", "签名处")
    row = finding_store.get(db, fid)
    assert row["source"] == "manual" and row["status"] == "accepted"
    assert finding_store.open_reason(row) == "签名处"  # typed reasons are sealed, not plain
    stored = [
        r[0] for r in db.execute("SELECT reason FROM findings UNION ALL SELECT reason FROM edits").fetchall()
    ]
    assert "签名处" not in stored and not any(isinstance(v, str) and "签名处" in v for v in stored)
    (rect,) = finding_store.rects_of(row)
    assert rect == pytest.approx((72, 288, 216, 316.8), abs=0.1)  # 100 dpi pixels -> points
    review.move_box(db, PREPARER, fid, (50, 50, 150, 100))
    assert finding_store.rects_of(finding_store.get(db, fid))[0] == pytest.approx((36, 36, 108, 72), abs=0.1)
    review.delete_box(db, PREPARER, fid)
    assert finding_store.get(db, fid) is None
    edits = list(
        db.query("SELECT action, before, after, actor FROM edits WHERE finding_id = ? ORDER BY id", [fid])
    )
    assert [e["action"] for e in edits] == ["add", "change", "delete"]
    assert json.loads(edits[1]["before"])[0] == pytest.approx([72, 288, 216, 316.8], abs=0.1)
    assert json.loads(edits[2]["after"] or "null") is None and all(e["actor"] == "prep1" for e in edits)
    assert audit_actions(db)[-3:] == ["box.add", "box.change", "box.delete"]


def test_accept_reject_and_roles(db, case):
    page = review.pages(db, case)[0]
    auto = [f for f in review.findings_view(db, page["id"]) if f["status"] == "auto"]
    assert auto and all("李秀英" not in f["masked"] for f in auto)
    review.decide(db, PREPARER, auto[0]["id"], accept=False)
    review.decide(db, PREPARER, auto[1]["id"], accept=True)
    assert finding_store.get(db, auto[0]["id"])["status"] == "rejected"
    assert finding_store.get(db, auto[1]["id"])["status"] == "accepted"
    with pytest.raises(PermissionDenied):
        review.decide(db, AUDITOR, auto[2]["id"], accept=False)
    assert "permission.denied" in audit_actions(db)
    # rejecting an automatic finding via delete keeps the row
    review.delete_box(db, PREPARER, auto[2]["id"])
    assert finding_store.get(db, auto[2]["id"])["status"] == "rejected"


def test_hide_everywhere_covers_every_page(db, case):
    pages = review.pages(db, case)
    # a doctor name on every page; reject all automatic boxes of that text first
    target = next(
        f for f in finding_store.for_page(db, pages[0]["id"]) if finding_store.text_of(f) == "王建国"
    )
    for p in pages:
        for f in finding_store.for_page(db, p["id"]):
            if finding_store.text_of(f) == "王建国":
                finding_store.update(db, f["id"], status="rejected")
    n = review.hide_everywhere(db, PREPARER, target["id"])
    assert n >= len(pages)
    for p in pages:
        live = [
            f
            for f in finding_store.for_page(db, p["id"])
            if f["status"] == "accepted" and finding_store.text_of(f) == "王建国"
        ]
        assert live, f"page {p['id']} not covered"
    assert "box.hide_all" in audit_actions(db)


def test_navigation_and_views(db, case):
    ps = review.pages(db, case)
    assert review.next_unreviewed(db, case) == ps[0]["id"]
    review.open_page(db, PREPARER, ps[0]["id"])
    assert review.next_unreviewed(db, case, ps[0]["id"]) == ps[1]["id"]
    weak = finding_store.for_page(db, ps[2]["id"])[0]
    db.execute("UPDATE findings SET confidence = 0.5, status = 'auto' WHERE id = ?", [weak["id"]])
    db.execute("UPDATE findings SET confidence = 0.95 WHERE id != ?", [weak["id"]])
    low = review.next_low_confidence(db, case, ps[0]["id"])
    assert low == (ps[2]["id"], weak["id"])
    page_id, fid = low
    assert finding_store.get(db, fid)["confidence"] < review.LOW_CONFIDENCE
    assert "page.view" in audit_actions(db)
    # exclude a document: its pages leave the review list
    doc = doc_store.list_documents(db, case)[1]
    review.set_document_included(db, PREPARER, doc["id"], False)
    assert all(p["document_id"] != doc["id"] for p in review.pages(db, case))


def test_render_cache_and_preview_is_redacted(db, case):
    page = review.pages(db, case)[0]
    png = review.page_png(db, page["id"])
    assert png.startswith(b"\x89PNG")
    row = doc_store.get_page(db, page["id"])
    from core.store import files

    assert row["render_path"] and not files.absolute(row["render_path"]).read_bytes().startswith(b"\x89PNG")
    review.add_box(db, PREPARER, page["id"], (80, 500, 400, 560))
    preview, info = review.preview_png(db, PREPARER, page["id"])
    img = pymupdf.Pixmap(preview)
    x, y = 240, 530  # inside the drawn box: black in the export preview
    assert img.pixel(x, y)[:3] == (0, 0, 0)
    orig = pymupdf.Pixmap(png)
    assert orig.pixel(x, y)[:3] == (255, 255, 255)
    assert info["boxes"] >= 1


def test_canvas_changes_maps_canvas_boxes_to_store_actions():
    findings = [
        {"id": 7, "label": "患者姓名", "status": "auto", "rects_px": [(10, 10, 50, 30)]},
        {
            "id": 8,
            "label": "电话",
            "status": "accepted",
            "rects_px": [(100, 100, 160, 120), (10, 200, 60, 220)],
        },
        {"id": 9, "label": "医师姓名", "status": "rejected", "rects_px": [(300, 300, 340, 320)]},
    ]
    from core.cases.review import canvas_label

    scale = 2.0  # canvas at 200 % zoom

    def box(label, r):
        return {
            "label": label,
            "left": r[0] * scale,
            "top": r[1] * scale,
            "width": (r[2] - r[0]) * scale,
            "height": (r[3] - r[1]) * scale,
        }

    boxes = [
        box(canvas_label(findings[0], 0), (10, 10, 50, 30)),  # unchanged
        box(canvas_label(findings[1], 0), (100, 100, 160, 120)),
        box(canvas_label(findings[1], 1), (20, 200, 80, 225)),  # moved + resized
        box("人工标注", (400, 400, 500, 450)),  # drawn by the person
        box("人工标注", (1, 1, 1.5, 1.5)),  # a click, not a box
    ]
    added, moved, deleted = review.canvas_changes(findings, boxes, scale)
    assert added == [pytest.approx((400, 400, 500, 450))]
    assert [(m[0], m[1]) for m in moved] == [(8, 1)] and moved[0][2] == pytest.approx((20, 200, 80, 225))
    assert deleted == []  # the rejected box (9) missing from the canvas is not a deletion
    added, moved, deleted = review.canvas_changes(findings, boxes[1:3], scale)
    assert deleted == [7]


def test_rotated_page_boxes_round_trip(db, tmp_path):
    """A /Rotate 90 page: canvas pixels -> unrotated points -> pixels again; the drawn region is what is hidden."""
    from core.store import cases as case_store
    from factory import make_case

    root = tmp_path / "arch_rot"
    folder = make_case(root, "CROT", docs=(("d01", "心电图", 1),))
    pdf = pymupdf.open(folder / "d01.pdf")
    pdf[0].set_rotation(90)
    pdf.saveIncr()
    run_import(db, job_store.create(db, "CROT", "import"), FolderArchive(root), "CROT")
    page = review.pages(db, "CROT")[0]
    assert page["rotation"] == 90
    png = pymupdf.Pixmap(review.page_png(db, page["id"]))
    assert png.width > png.height  # displayed landscape
    px = (200, 100, 400, 180)
    fid = review.add_box(db, PREPARER, page["id"], px)
    (shown,) = [f for f in review.findings_view(db, page["id"]) if f["id"] == fid]
    assert shown["rects_px"][0] == pytest.approx(px, abs=0.5)
    rect = finding_store.rects_of(finding_store.get(db, fid))[0]
    pdf = pymupdf.open(stream=doc_store.pdf_bytes(db, page["document_id"]), filetype="pdf")
    disp = pymupdf.Rect(rect) * pdf[0].rotation_matrix
    assert (disp.x0, disp.y0, disp.x1, disp.y1) == pytest.approx((144, 72, 288, 129.6), abs=0.5)
    assert case_store.get_case(db, "CROT")["page_count"] == 1
    inner = (px[0] + 3, px[1] + 3, px[2] - 3, px[3] - 3)
    assert _dark_share(review.page_png(db, page["id"]), inner) < 0.5  # the page itself is mostly paper there
    preview, _ = review.preview_png(db, PREPARER, page["id"])
    assert _dark_share(preview, inner) > 0.98  # and the drawn region is what the redaction covers


def _dark_share(png: bytes, box) -> float:
    pix = pymupdf.Pixmap(png)
    x0, y0, x1, y1 = (int(v) for v in box)
    dark = sum(1 for y in range(y0, y1) for x in range(x0, x1) if sum(pix.pixel(x, y)[:3]) < 150)
    return dark / ((x1 - x0) * (y1 - y0))


def test_queueing_checks_the_role(db, archive_root):
    from core.cases.tasks import enqueue_import

    with pytest.raises(PermissionDenied):
        enqueue_import(db, "C2024001", "C2024001", AUDITOR)
    assert job_store.latest(db, "C2024001") is None
    job = enqueue_import(db, "C2024001", "C2024001", PREPARER)
    assert job_store.get(db, job)["actor"] == "prep1"


def test_scanned_page_is_sent_as_jpeg(db, tmp_path):
    from factory import make_case

    root = tmp_path / "arch_scan"
    make_case(root, "CSCAN", docs=(("d01", "入院记录", 2),), scanned={"d01": [1]})
    run_import(db, job_store.create(db, "CSCAN", "import"), FolderArchive(root), "CSCAN")
    born, scanned = review.pages(db, "CSCAN")
    assert (born["scanned"], scanned["scanned"]) == (0, 1)
    assert review.display_image(db, born["id"]).startswith(b"\x89PNG")
    jpg = review.display_image(db, scanned["id"])
    assert jpg.startswith(b"\xff\xd8") and len(jpg) < len(review.page_png(db, scanned["id"]))
    review.forget_cached_renders()
    assert review.display_image(db, scanned["id"]) == jpg  # from the encrypted disk cache


def test_warm_renders_leave_every_review_image_sealed(db, case, monkeypatch):
    """After the render job, a page switch renders nothing: the page images and the thumbnail strip's
    images come from their sealed files, also in a fresh server process (empty memory cache)."""
    review.warm_renders(db, case)
    review.forget_cached_renders()

    def no_render(*_args, **_kwargs):
        raise AssertionError("rendered at a page switch")

    monkeypatch.setattr(review, "render_page_png", no_render)
    for page in review.pages(db, case):
        assert pymupdf.Pixmap(review.thumbnail_png(db, page["id"])).width > 0
        assert review.display_image(db, page["id"])
