"""Worker tasks through the real huey consumer (a subprocess on a temp SQLite queue)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.archive import FolderArchive
from core.cases.processing import run_detect, run_import
from core.store import cases as case_store
from core.store import documents as doc_store
from core.store import findings as finding_store
from core.store import job_tasks
from core.store import jobs as job_store
from core.models import Category, Finding, Source

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def consumer(data_dir, archive_root):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    exe = Path(sys.executable).parent / "huey_consumer"
    proc = subprocess.Popen(
        [str(exe), "core.cases.tasks.huey", "-w", "1", "-k", "thread", "-d", "0.05", "-m", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_job(db, job_id, timeout=90):
    end = time.time() + timeout
    while time.time() < end:
        job = job_store.get(db, job_id)
        if job and job["status"] not in job_store.ACTIVE:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job_store.get(db, job_id)}")


def wait_detect(db, case_id, timeout=90):
    end = time.time() + timeout
    while time.time() < end:
        job = job_store.latest(db, case_id, "detect")
        if job and job["status"] not in job_store.ACTIVE:
            return job
        time.sleep(0.2)
    raise AssertionError("detection did not finish")


def test_import_and_detect_in_consumer_keeps_manual_work_on_rerun(db, consumer):
    from core.cases.tasks import enqueue_detect, enqueue_import

    job = enqueue_import(db, "C2024001", "C2024001", "tester")
    assert job_store.get(db, job)["huey_id"]
    assert wait_job(db, job)["status"] == "done"
    det = wait_detect(db, "C2024001")
    assert det["status"] == "done" and det["progress_done"] == det["progress_total"] == 4
    # the embedded default runs the scaled-out path: one stateless task per document, applied once
    tasks = job_tasks.for_job(db, det["id"])
    assert sorted(t["document_id"] for t in tasks) == sorted(
        d["id"] for d in doc_store.list_documents(db, "C2024001")
    )
    assert {t["status"] for t in tasks} == {"done"} and all(t["worker"] and t["huey_id"] for t in tasks)
    case = case_store.get_case(db, "C2024001")
    assert case["status"] == "待整理" and case["pages_done"] == 4
    page = doc_store.list_pages(db, "C2024001")[0]
    rows = finding_store.for_page(db, page["id"])
    cats = {r["category"] for r in rows}
    assert "patient_name" in cats and "record_number" in cats
    assert all("李秀英".encode() not in (r["text_sealed"] or b"") for r in rows)
    # a person rejects one automatic finding and draws a manual box
    rejected = next(r for r in rows if r["category"] == "person_name" or r["category"] == "doctor_name")
    finding_store.update(db, rejected["id"], status="rejected")
    manual = Finding(
        page["page_index"], Category.MANUAL, [(300, 700, 400, 720)], "manual", source=Source.MANUAL
    )
    manual_id = finding_store.add_finding(
        db, "C2024001", page["id"], manual, status="accepted", actor="tester"
    )
    job2 = enqueue_detect(db, "C2024001", "tester")
    assert wait_job(db, job2)["status"] == "done"
    rows2 = finding_store.for_page(db, page["id"])
    assert finding_store.get(db, manual_id) is not None
    assert finding_store.get(db, rejected["id"])["status"] == "rejected"
    keys = [r["finding_key"] for r in rows2]
    assert len(keys) == len(set(keys)), "re-detection duplicated a decided finding"
    assert len(rows2) == len(rows) + 1


def test_cancel_queued_job(db, archive_root, data_dir):
    from core.cases.tasks import cancel_job, enqueue_import

    # no consumer running: the job stays queued and is revoked
    job = enqueue_import(db, "C2025003", "C2025003", "tester")
    cancel_job(db, job, "tester")
    assert job_store.get(db, job)["status"] == "cancelled"


def test_cancel_running_detection_stops_at_next_page(db, archive_root, monkeypatch):
    run_import(db, job_store.create(db, "C2024001", "import"), FolderArchive(archive_root), "C2024001")
    job = job_store.create(db, "C2024001", "detect")
    from core import engine

    real = engine.page_input

    def slow_then_cancel(page, **kw):
        job_store.request_cancel(db, job)
        return real(page, **kw)

    monkeypatch.setattr(engine, "page_input", slow_then_cancel)
    assert not run_detect(db, job, "C2024001")
    assert job_store.get(db, job)["status"] == "cancelled"
    assert case_store.get_case(db, "C2024001")["status"] == "待处理"


def test_failed_page_is_recorded_not_fatal(db, archive_root, monkeypatch):
    run_import(db, job_store.create(db, "C2024001", "import"), FolderArchive(archive_root), "C2024001")
    from core import engine

    real = engine.page_input

    def broken_second_page(page, **kw):
        if page.number == 1:
            raise ValueError("simulated broken page")
        return real(page, **kw)

    monkeypatch.setattr(engine, "page_input", broken_second_page)
    job = job_store.create(db, "C2024001", "detect")
    assert run_detect(db, job, "C2024001")
    row = job_store.get(db, job)
    assert row["status"] == "done" and "2 page(s) failed" in row["error"]
    pages = doc_store.list_pages(db, "C2024001")
    assert [p["detect_status"] for p in pages] == ["done", "failed", "done", "failed"]
    assert all(p["n_boxes"] > 0 for p in pages if p["detect_status"] == "done")
    assert case_store.get_case(db, "C2024001")["pages_failed"] == 2


def test_second_cancel_closes_a_job_whose_worker_died(db, archive_root):
    from core.cases.tasks import cancel_job, enqueue_detect

    run_import(db, job_store.create(db, "C2024001", "import"), FolderArchive(archive_root), "C2024001")
    job = job_store.create(db, "C2024001", "detect")
    job_store.start(db, job, total=4)  # a worker took it, then died
    cancel_job(db, job, "tester")
    assert job_store.get(db, job)["status"] == "running" and job_store.cancel_requested(db, job)
    assert enqueue_detect(db, "C2024001", "tester") == job  # still the active one
    cancel_job(db, job, "tester")
    assert job_store.get(db, job)["status"] == "cancelled"
    assert enqueue_detect(db, "C2024001", "tester") != job  # retry possible again


def test_writer_hands_a_dead_workers_task_on_and_never_a_queued_one(db, archive_root):
    """The lease logic on the embedded queue, no consumer: queued tasks wait, taken-and-silent ones move on."""
    from core.cases.processing import MAX_ATTEMPTS, pump_detect, start_detect
    from core.cases.tasks import huey, work_queue

    run_import(db, job_store.create(db, "C2025002", "import"), FolderArchive(archive_root), "C2025002")
    job = job_store.create(db, "C2025002", "detect")
    queue = work_queue()
    assert start_detect(db, job, queue)
    first = job_tasks.for_job(db, job)
    assert len(first) == 3 and huey.pending_count() == 3
    for task in huey.pending():  # the work queue carries opaque strings only
        assert all(isinstance(a, str) for a in task.args) and "C2025002" not in repr(task.args)
    t0 = time.time()
    assert not pump_detect(
        db, job, queue, now=t0 + 1000
    )  # long past the lease, but still waiting in the queue
    assert [r["status"] for r in job_tasks.for_job(db, job)] == ["queued"] * 3

    huey.storage.dequeue()  # a worker takes the first document and dies before its first heartbeat
    assert not pump_detect(db, job, queue, now=t0 + 2000)
    rows = job_tasks.for_job(db, job)
    assert [(r["document_id"], r["status"]) for r in rows if r["status"] == "lost"] == [
        (first[0]["document_id"], "lost")
    ]
    assert [r["attempt"] for r in rows if r["document_id"] == first[0]["document_id"]] == [1, 2]

    for round_ in range(3, 6):  # every worker that takes a task dies: after MAX_ATTEMPTS the pages fail
        while huey.storage.dequeue() is not None:
            pass
        finished = pump_detect(db, job, queue, now=t0 + 1000 * round_)
    assert finished
    rows = job_tasks.for_job(db, job)
    for doc in doc_store.list_documents(db, "C2025002"):
        mine = [r for r in rows if r["document_id"] == doc["id"]]
        assert [r["status"] for r in mine] == ["lost"] * MAX_ATTEMPTS + ["failed"]
    ended = job_store.get(db, job)
    assert ended["status"] == "done" and "3 page(s) failed" in ended["error"]
    assert {p["detect_error"] for p in doc_store.list_pages(db, "C2025002")} == {"工作进程失联 / worker lost"}
