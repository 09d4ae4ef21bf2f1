"""Sealed data is bound to its row and key id; free text is sealed; old stores keep working;
rotation, backup and restore on a real store (issue 12)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.security import audit
from core import crypto
from core.cases import review, workflow
from core.archive import FolderArchive
from core.cases.processing import run_detect, run_import
from core.store import cases as case_store
from core.store import documents as doc_store
from core.store import files
from core.store import findings as finding_store
from core.store import jobs as job_store
from core.store.db import open_db
from tests.store.factory import review_everything

ROOT = Path(__file__).resolve().parents[2]
PREPARER = {"username": "prep1", "role": "preparer"}
SUPERVISOR = {"username": "sup1", "role": "supervisor"}
PASSPHRASE = "correct horse battery staple"


def _import(db, archive_root, case_id):
    run_import(db, job_store.create(db, case_id, "import"), FolderArchive(archive_root), case_id)
    run_detect(db, job_store.create(db, case_id, "detect"), case_id)
    return case_id


@pytest.fixture
def two_cases(db, archive_root):
    from core.security import auth

    for name, role in (("prep1", "preparer"), ("sup1", "supervisor")):
        auth.create_user(db, name, role, "Review-Pass-2024", must_change=False)
    return _import(db, archive_root, "C2024001"), _import(db, archive_root, "C2025002")


def _raw(data_dir) -> sqlite3.Connection:
    return sqlite3.connect(Path(data_dir) / "deid.sqlite", isolation_level=None)


def _cli(*args, extra_env=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEID_BCRYPT_ROUNDS": "4", **(extra_env or {})}
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def _all_blobs(conn) -> list[bytes]:
    from core.store.sealed import SEALED_COLUMNS

    out = []
    for table, _id, column, _free in SEALED_COLUMNS:
        out += [bytes(v) for (v,) in conn.execute(f"SELECT {column} FROM {table}") if isinstance(v, bytes)]
    return out


def test_blobs_carry_the_current_key_id(db, two_cases, data_dir):
    ring = crypto.load_keyring()
    blobs = _all_blobs(_raw(data_dir))
    assert blobs and all(crypto.blob_key_id(b) == ring.current for b in blobs)
    doc = doc_store.list_documents(db, two_cases[0])[0]
    assert crypto.blob_key_id(files.absolute(doc["stored_path"]).read_bytes()) == ring.current


def test_sealed_values_cannot_be_swapped_between_rows(db, two_cases, data_dir):
    a, b = two_cases
    conn = _raw(data_dir)
    meta_b = conn.execute("SELECT meta_sealed FROM cases WHERE id = ?", [b]).fetchone()[0]
    conn.execute("UPDATE cases SET meta_sealed = ? WHERE id = ?", [meta_b, a])
    with pytest.raises(ValueError):
        case_store.case_meta(db, a)
    seeds_a = conn.execute("SELECT seeds_sealed FROM cases WHERE id = ?", [a]).fetchone()[0]
    conn.execute(
        "UPDATE cases SET meta_sealed = ? WHERE id = ?", [seeds_a, a]
    )  # another column of the same row
    with pytest.raises(ValueError):
        case_store.case_meta(db, a)
    f1, f2 = conn.execute(
        "SELECT id, text_sealed FROM findings WHERE text_sealed IS NOT NULL LIMIT 2"
    ).fetchall()
    conn.execute("UPDATE findings SET text_sealed = ? WHERE id = ?", [f2[1], f1[0]])
    with pytest.raises(ValueError):
        finding_store.text_of(finding_store.get(db, f1[0]))
    assert finding_store.text_of(finding_store.get(db, f2[0]))  # the untouched row still opens


def test_working_files_cannot_be_swapped_between_cases(db, two_cases):
    a, b = two_cases
    doc_a, doc_b = (doc_store.list_documents(db, c)[0] for c in two_cases)
    path_a, path_b = files.absolute(doc_a["stored_path"]), files.absolute(doc_b["stored_path"])
    path_a.write_bytes(path_b.read_bytes())
    with pytest.raises(ValueError):
        files.read_sealed(doc_a["stored_path"])
    assert files.read_sealed(doc_b["stored_path"]).startswith(b"%PDF")


def test_free_text_is_sealed_and_bound(db, two_cases, data_dir):
    case_id = two_cases[0]
    page = review.pages(db, case_id)[0]
    review.add_box(db, PREPARER, page["id"], (100, 400, 300, 440), "manual", "家属王建国签名")
    review_everything(db, PREPARER, case_id)
    workflow.submit(db, case_id, PREPARER, comment="已核对王建国的签名页")
    workflow.return_case(db, case_id, SUPERVISOR, "第3页漏掉王建国")
    workflow.submit(db, case_id, PREPARER, comment="补上了")
    appr = workflow.approve(
        db, case_id, SUPERVISOR, workflow.case_plan_hash(db, case_id), comment="王建国处已遮盖"
    )
    dump = "\n".join(_raw(data_dir).iterdump())
    assert "王建国" not in dump and "补上了" not in dump
    events = workflow.history(db, case_id)
    assert [e["reason"] for e in events if e["event"] in ("submit", "return", "approve")] == [
        "已核对王建国的签名页",
        "第3页漏掉王建国",
        "补上了",
        "王建国处已遮盖",
    ]
    assert (
        appr["comment"] == "王建国处已遮盖"
        and workflow.active_approval(db, case_id)["comment"] == "王建国处已遮盖"
    )
    conn = _raw(data_dir)
    rows = conn.execute(
        "SELECT id, reason FROM case_events WHERE case_id = ? AND reason IS NOT NULL ORDER BY id", [case_id]
    ).fetchall()
    conn.execute("UPDATE case_events SET reason = ? WHERE id = ?", [rows[0][1], rows[1][0]])
    with pytest.raises(ValueError):
        workflow.history(db, case_id)


# ------------------------------------------------------------------ old stores, rotation


def _v1_seal(key: bytes, data: bytes) -> bytes:
    """A blob of the first format (no key id, no row binding), as the old code wrote it."""
    nonce = os.urandom(12)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    ct = enc.update(data) + enc.finalize()
    return b"SM4G1" + nonce + ct + enc.tag


def _make_old_store(db, case_id, data_dir, legacy: bytes):
    """What the old code left: first-format blobs (no key id, no row binding) and plain reasons."""
    conn = _raw(data_dir)
    meta = case_store.case_meta(db, case_id).to_dict()
    conn.execute(
        "UPDATE cases SET meta_sealed = ?, seeds_sealed = NULL WHERE id = ?",
        [_v1_seal(legacy, json.dumps(meta, ensure_ascii=False).encode()), case_id],
    )
    for (fid,) in conn.execute("SELECT id FROM findings WHERE case_id = ?", [case_id]).fetchall():
        conn.execute(
            "UPDATE findings SET text_sealed = ?, reason = '旧版明文原因' WHERE id = ?",
            [_v1_seal(legacy, "李秀英".encode()), fid],
        )
    for doc in doc_store.list_documents(db, case_id):
        plain = files.read_sealed(doc["stored_path"])
        files.absolute(doc["stored_path"]).write_bytes(_v1_seal(legacy, plain))
    conn.execute(
        "INSERT INTO case_events (case_id, event, actor, reason, at) VALUES (?, 'submit', 'prep1', ?, 0)",
        [case_id, "旧版明文提交说明"],
    )


def test_old_format_store_keeps_working_then_rotation_binds_it(data_dir, archive_root):
    legacy = os.urandom(16)
    crypto.key_path().parent.mkdir(parents=True, exist_ok=True)
    crypto.key_path().write_text(legacy.hex())  # a key file of the first format: one hex key
    db = open_db()
    case_id = _import(db, archive_root, "C2024001")
    _make_old_store(db, case_id, data_dir, legacy)
    db = open_db()  # a fresh process's view
    assert case_store.case_meta(db, case_id).patient_name == "李秀英"
    assert {
        finding_store.text_of(r) for r in db.query("SELECT * FROM findings WHERE case_id = ?", [case_id])
    } == {"李秀英"}
    doc = doc_store.list_documents(db, case_id)[0]
    assert files.read_sealed(doc["stored_path"]).startswith(b"%PDF")

    before = crypto.load_keyring()
    out = _cli("key", "rotate")
    assert out.returncode == 0, out.stderr
    after = crypto.load_keyring()
    assert after.current != before.current and list(after.keys) == [after.current] and after.legacy is None
    assert after.root_id == before.root_id  # audit seals, fingerprints, codes stay valid
    conn = _raw(data_dir)
    assert all(crypto.blob_key_id(b) == after.current for b in _all_blobs(conn))
    assert "旧版明文" not in "\n".join(conn.iterdump())  # old plain free text is sealed now
    assert crypto.blob_key_id(files.absolute(doc["stored_path"]).read_bytes()) == after.current
    db = open_db()
    assert case_store.case_meta(db, case_id).patient_name == "李秀英"
    assert files.read_sealed(doc["stored_path"]).startswith(b"%PDF")
    assert [e["reason"] for e in workflow.history(db, case_id) if e["event"] == "submit"] == [
        "旧版明文提交说明"
    ]
    rotated = audit.rows(db, action="key.rotate")
    assert rotated and json.loads(rotated[0]["detail"])["to_key"] == after.current
    assert audit.verify_chain(db)[0]
    # a first-format blob put back after rotation no longer opens (the legacy key is gone)
    conn.execute("UPDATE cases SET meta_sealed = ? WHERE id = ?", [_v1_seal(legacy, b"{}"), case_id])
    with pytest.raises(crypto.KeyError_):
        case_store.case_meta(db, case_id)


# ------------------------------------------------------------------ backup and restore (README walk-through)


def _readme_key_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### 密钥备份与恢复 / Key backup and restore", 1)[1].split("\n## ", 1)[0]
    return [
        line.split()[3:]
        for line in section.splitlines()
        if line.strip().startswith("python -m core.cli key ")
    ]


def test_readme_backup_lose_restore_read_a_case(db, two_cases, tmp_path, data_dir):
    case_id = two_cases[0]
    commands = _readme_key_commands()
    assert [c[1] for c in commands] == ["backup", "restore"]
    backup_file = tmp_path / "usb" / "deid-key.backup"
    env = {"DEID_BACKUP_PASSPHRASE": PASSPHRASE}

    def run(cmd):
        cmd = [str(backup_file) if re.search(r"\.backup$", part) else part for part in cmd]
        return _cli(*cmd, extra_env=env)

    out = run(commands[0])
    assert out.returncode == 0, out.stderr
    assert (
        PASSPHRASE not in backup_file.read_text()
        and crypto.load_keyring().root.hex() not in backup_file.read_text()
    )
    assert oct(backup_file.stat().st_mode & 0o777) == "0o600"

    crypto.key_path().unlink()  # the key is lost
    lost = _cli("user", "list")
    assert lost.returncode == 2 and "key restore" in lost.stderr

    wrong = _cli(
        *[str(backup_file) if p.endswith(".backup") else p for p in commands[1]],
        extra_env={"DEID_BACKUP_PASSPHRASE": "not the passphrase at all"},
    )
    assert wrong.returncode == 2 and "wrong passphrase" in wrong.stderr and not crypto.key_path().exists()

    out = run(commands[1])
    assert out.returncode == 0, out.stderr
    db = open_db()
    assert case_store.case_meta(db, case_id).patient_name == "李秀英"
    doc = doc_store.list_documents(db, case_id)[0]
    assert doc_store.open_document(db, doc["id"]).page_count == doc["page_count"]
    assert [r["action"] for r in audit.rows(db, action=("key.backup", "key.restore"))] == [
        "key.restore",
        "key.backup",
    ]
    assert audit.verify_chain(db)[0]


def test_interrupted_rotation_keeps_both_keys_and_can_run_again(db, two_cases, monkeypatch):
    from core.security import keys
    from core.store import sealed

    case_id = two_cases[0]
    before = crypto.load_keyring()

    def crash(_db):
        raise RuntimeError("power cut")

    with monkeypatch.context() as patched:
        patched.setattr(sealed, "reseal_rows", crash)
        with pytest.raises(RuntimeError):
            keys.rotate(db, "tester")
    staged = crypto.load_keyring()
    assert before.current in staged.keys and staged.current != before.current  # the old key is still there
    assert case_store.case_meta(db, case_id).patient_name == "李秀英"  # rows still under the old key
    doc = doc_store.list_documents(db, case_id)[0]
    assert files.read_sealed(doc["stored_path"]).startswith(b"%PDF")  # files already under the new one
    summary = keys.rotate(db, "tester")
    final = crypto.load_keyring()
    assert (
        list(final.keys) == [summary["to_key"]] and case_store.case_meta(db, case_id).patient_name == "李秀英"
    )
    assert [r["action"] for r in audit.rows(db, action=("key.rotate_start", "key.rotate"))] == [
        "key.rotate",
        "key.rotate_start",
        "key.rotate_start",
    ]
