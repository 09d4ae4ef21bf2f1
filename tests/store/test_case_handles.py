"""The case id (it may be a record number) stays out of task arguments, the audit trail and folder names (issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from core.security import audit
from core.config import settings
from core.security.handles import case_handle, is_handle
from core.store import cases as case_store
from core.store import jobs as job_store

ROOT = Path(__file__).resolve().parents[2]


def _queue_bytes() -> bytes:
    base = Path(settings().huey_db)
    return b"".join(p.read_bytes() for p in (base, Path(f"{base}-wal")) if p.exists())


def test_task_arguments_carry_no_case_id(db, archive_root):
    from core.cases.tasks import enqueue_detect, enqueue_import

    enqueue_import(db, "C2024001", "C2024001", "tester")
    run = job_store.latest(db, "C2024001", "import")
    job_store.finish(db, run["id"], job_store.DONE)
    enqueue_detect(db, "C2025002", "tester")
    queue = _queue_bytes()
    assert queue, "nothing was queued"
    assert b"2024001" not in queue and b"2025002" not in queue


def test_audit_rows_hold_the_handle_not_the_case_id(db, data_dir):
    audit.record(db, "prep1", "case.view", case_id="ZY20250301")
    stored = db.conn.execute("SELECT case_id FROM audit_log").fetchall()
    assert stored == [(case_handle("ZY20250301"),)] and is_handle(stored[0][0])
    assert audit.count(db, case_id="ZY20250301") == 1  # filters take the case id
    dump = "\n".join(__import__("sqlite3").connect(Path(data_dir) / "deid.sqlite").iterdump())
    assert "ZY20250301" not in dump


def test_handles_are_keyed_stable_and_map_back(db, archive_root, tmp_path, monkeypatch):
    from core import crypto
    from core.archive import FolderArchive
    from core.cases.processing import run_import

    run_import(db, job_store.create(db, "C2024001", "import"), FolderArchive(archive_root), "C2024001")
    handle = case_handle("C2024001")
    assert (
        case_store.case_for_handle(db, handle) == "C2024001"
        and case_store.case_for_handle(db, "k" + "0" * 19) is None
    )
    folders = [p.name for p in (Path(settings().data_dir) / "cases").iterdir()]
    assert folders == [handle]
    other = tmp_path / "other.key"
    crypto.write_keyring(crypto.Keyring.generate(), other)
    monkeypatch.setenv("DEID_KEY_FILE", str(other))
    assert case_handle("C2024001") != handle  # not computable from the record number alone


def test_worker_with_a_wrong_key_path_refuses_and_writes_nothing(db, archive_root, tmp_path):
    from core.cases.tasks import enqueue_import

    wrong = tmp_path / "wrong" / "storage.key"
    env = dict(os.environ, PYTHONPATH=str(ROOT), DEID_KEY_FILE=str(wrong))
    enqueue_import(db, "C2024001", "C2024001", "tester")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "huey_consumer"),
            "core.cases.tasks.huey",
            "-w",
            "1",
            "-k",
            "thread",
            "-d",
            "0.05",
            "-m",
            "0.2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        end = time.time() + 60
        while job_store.latest(db, "C2024001", "import")["status"] == job_store.QUEUED and time.time() < end:
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    job = job_store.latest(db, "C2024001", "import")
    assert job["status"] == job_store.FAILED and "不会自动生成新密钥" in job["error"]
    assert not wrong.exists()
    assert case_store.get_case(db, "C2024001") is None
