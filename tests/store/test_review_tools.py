"""Review tools on a real stored case: 切字 flags, whole-page hiding, CSV of decisions."""
import pytest

from core.archive import FolderArchive
from core.cases import review
from core.cases.processing import run_detect, run_import
from core.pdf import geometry
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
    boxes = [{"label": o["label"], "left": o["left"], "top": o["top"], "width": o["width"], "height": o["height"]}
             for o in objects]
    assert review.canvas_changes(findings, boxes, scale=1.5) == ([], [], [])
    hover = review.canvas_hover_boxes(findings, scale=1.5)
    assert len(hover) == len(objects)
    sizes = [(b["r"] - b["l"]) * (b["b"] - b["t"]) for b in hover]
    assert sizes == sorted(sizes)
    f = findings[0]
    text = review.canvas_hover_text(f)
    assert text.startswith(f"#{f['id']} {f['label']}") and "待确认" in text
    assert "李秀英" not in " ".join(b["text"] for b in hover)  # masked values only
