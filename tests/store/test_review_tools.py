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
