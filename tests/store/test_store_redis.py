"""Scale-out on Redis for real (issue 14): a redis-server on a free port, two stateless
``huey_consumer`` workers with their own empty data dirs (no shared file system, no SQLite),
and the app-side writer (``huey_consumer core.cases.tasks.app_huey``) on the store.

Killing a worker in the middle of a page loses its task; the writer hands the document to
the other worker, every page ends up analysed once, the job finishes.  Cancel and retry
reach both workers.  Nothing readable about the patient is ever in Redis.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.security.handles import case_handle

from core.archive import FolderArchive
from core.cases.processing import run_import
from core.store import documents as doc_store
from core.store import findings as finding_store
from core.store import job_tasks
from core.store import jobs as job_store
from factory import make_case

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LEASE_S = "4"
PATIENT, RECORD_NO = "欧阳明珠", "ZY20259876"
IDENTIFIERS = [PATIENT, RECORD_NO, "320102199701011234", "陈志强"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    exe = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if exe is None:
        pytest.fail(
            "redis-server is not installed: `make setup` installs the Debian package redis-server "
            "(Makefile APT_PACKAGES); this test needs a real Redis",
            pytrace=False,
        )
    try:
        import redis
    except ImportError:
        pytest.fail(
            "the redis client is missing: `make setup` installs requirements.txt (redis==…)", pytrace=False
        )
    workdir = tmp_path_factory.mktemp("redis")
    for _ in range(3):  # the free port may be taken between probe and bind
        port = _free_port()
        proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        conn = redis.Redis(port=port)
        for _ in range(100):
            if proc.poll() is not None:
                break
            try:
                conn.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        if proc.poll() is None:
            break
    else:
        pytest.fail("redis-server did not start", pytrace=False)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


class Cluster:
    """The app side (this process + the writer consumer) and two stateless workers."""

    def __init__(self, root: Path, redis_url: str):
        import redis

        from core.config import settings
        from core.crypto import storage_key

        self.root, self.url = root, redis_url
        self.redis = redis.Redis.from_url(redis_url)
        storage_key()  # the app's key exists before the workers get their copy
        self.key_file = settings().key_file
        self.common = dict(
            os.environ,
            PYTHONPATH=str(ROOT),
            DEID_HUEY_BACKEND="redis",
            DEID_REDIS_URL=redis_url,
            DEID_WORKER_LEASE_S=LEASE_S,
            DEID_WORKERS="1",
        )
        self.writer = self._consumer("core.cases.tasks.app_huey", self.common, "writer")
        self.workers: list[subprocess.Popen] = []
        self.worker_dirs: list[Path] = []
        for _ in range(2):
            self.add_worker()

    def _consumer(self, app: str, env: dict, name: str, threads: int = 1) -> subprocess.Popen:
        with open(self.root / f"{name}.log", "ab") as log:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(
                [
                    str(BIN / "huey_consumer"),
                    app,
                    "-w",
                    str(threads),
                    "-k",
                    "thread",
                    "-d",
                    "0.05",
                    "-m",
                    "0.2",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )

    def add_worker(self) -> None:
        n = len(self.workers)
        home = self.root / f"worker{n}"
        (home / "key").mkdir(parents=True)
        shutil.copy(self.key_file, home / "key" / "storage.key")  # each machine holds the key; nothing else
        env = dict(
            self.common,
            DEID_DATA_DIR=str(home / "data"),
            DEID_KEY_FILE=str(home / "key" / "storage.key"),
            DEID_ARCHIVE_DIR=str(home / "no-archive"),
            DEID_DB=str(home / "data" / "must-not-exist.sqlite"),
            DEID_HUEY_DB=str(home / "data" / "must-not-exist-huey.sqlite"),
        )
        self.workers.append(self._consumer("core.cases.tasks.huey", env, f"worker{n}"))
        self.worker_dirs.append(home)

    def worker_by_pid(self, pid: int) -> subprocess.Popen:
        return next(w for w in self.workers if w.pid == pid)

    def live_workers(self) -> list[subprocess.Popen]:
        return [w for w in self.workers if w.poll() is None]

    def kv(self):
        from core.cases.tasks import make_huey
        from core.cases.workqueue import HueyKV

        saved = os.environ.get("DEID_HUEY_BACKEND"), os.environ.get("DEID_REDIS_URL")
        os.environ["DEID_HUEY_BACKEND"], os.environ["DEID_REDIS_URL"] = "redis", self.url
        try:
            return HueyKV(make_huey())
        finally:
            for var, value in zip(("DEID_HUEY_BACKEND", "DEID_REDIS_URL"), saved):
                if value is None:
                    os.environ.pop(var, None)
                else:
                    os.environ[var] = value

    def dump(self) -> bytes:
        """Every key and value in Redis, concatenated (to look for plain identifiers)."""
        out = []
        for key in self.redis.scan_iter():
            out.append(key)
            kind = self.redis.type(key)
            if kind == b"string":
                out.append(self.redis.get(key) or b"")
            elif kind == b"hash":
                for k, v in self.redis.hgetall(key).items():
                    out += [k, v]
            elif kind == b"list":
                out += self.redis.lrange(key, 0, -1)
            elif kind == b"zset":
                out += self.redis.zrange(key, 0, -1)
        return b"\x00".join(out)

    def stop(self) -> None:
        for proc in [self.writer, *self.workers]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [self.writer, *self.workers]:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, redis_url):
    root = tmp_path_factory.mktemp("scaleout")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEID_DATA_DIR", str(root / "app-data"))
        mp.setenv("DEID_ARCHIVE_DIR", str(root / "archive"))
        mp.setenv("DEID_WORKER_LEASE_S", LEASE_S)
        mp.setenv(
            "DEID_KEY_FILE", str(root / "app-key" / "storage.key")
        )  # the app server's key, outside its data
        for var in ("DEID_DB", "DEID_HUEY_DB", "DEID_HUEY_BACKEND", "DEID_BLOB_STORE"):
            mp.delenv(var, raising=False)
        c = Cluster(root, redis_url)
        try:
            yield c
        finally:
            c.stop()


@pytest.fixture
def app_db(cluster, monkeypatch):
    from core.store.db import open_db

    monkeypatch.setenv("DEID_DATA_DIR", cluster.common["DEID_DATA_DIR"])  # the autouse fixture moved it
    monkeypatch.setenv("DEID_KEY_FILE", cluster.common["DEID_KEY_FILE"])

    return open_db()


def _import(db, root: Path, case_id: str, docs, scanned) -> None:
    make_case(
        root / "archive", case_id, docs=docs, scanned=scanned, patient_name=PATIENT, inpatient_no=RECORD_NO
    )
    assert run_import(db, job_store.create(db, case_id, "import"), FolderArchive(root / "archive"), case_id)


def _beats(kv, db, job_id: int) -> list[tuple[dict, dict]]:
    from core.cases.worker import read_beat

    out = []
    for row in job_tasks.for_job(db, job_id, job_tasks.OPEN):
        beat = read_beat(kv, row["huey_id"])
        if beat:
            out.append((row, beat))
    return out


def _wait_until(predicate, timeout: float, what: str, cluster: Cluster):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        assert cluster.writer.poll() is None, "the writer consumer died: " + _log(cluster, "writer")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}\n" + _log(cluster, "writer"))


def _log(cluster: Cluster, name: str) -> str:
    path = cluster.root / f"{name}.log"
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def _wait_job(db, job_id: int, cluster: Cluster, timeout: float = 60) -> dict:
    def ended():
        job = job_store.get(db, job_id)
        return job if job["status"] not in job_store.ACTIVE else None

    return _wait_until(ended, timeout, f"job {job_id} to end", cluster)


def _assert_nothing_readable(cluster: Cluster, case_id: str) -> None:
    dump = cluster.dump()
    for value in IDENTIFIERS + [case_id]:
        assert value.encode("utf-8") not in dump, "a plain identifier is in Redis"


def _assert_workers_stateless(cluster: Cluster) -> None:
    for home in cluster.worker_dirs:
        stored = [p.name for p in home.rglob("*") if p.suffix in (".sqlite", ".sealed") or "sqlite" in p.name]
        assert stored == [], f"a worker wrote a store or a working copy: {stored}"


def _assert_each_page_once(db, case_id: str, job_id: int) -> dict[int, list[dict]]:
    """Every page done with findings, no duplicate finding, one applied result per document."""
    rows = job_tasks.for_job(db, job_id)
    by_doc: dict[int, list[dict]] = {}
    for row in rows:
        by_doc.setdefault(row["document_id"], []).append(row)
    documents = doc_store.list_documents(db, case_id)
    assert sorted(by_doc) == sorted(d["id"] for d in documents)
    for doc in documents:
        done = [r for r in by_doc[doc["id"]] if r["status"] == job_tasks.DONE]
        assert len(done) == 1, f"document applied {len(done)} times"
        assert done[0]["pages_done"] == doc["page_count"]
    pages = doc_store.list_pages(db, case_id, included_only=False)
    assert [p["detect_status"] for p in pages] == ["done"] * len(pages)
    for page in pages:
        keys = [r["finding_key"] for r in finding_store.for_page(db, page["id"])]
        assert keys and len(keys) == len(set(keys)), "a page has no findings or the same finding twice"
    job = job_store.get(db, job_id)
    assert job["status"] == "done" and job["progress_done"] == job["progress_total"] == len(pages)
    return by_doc


def test_cancel_and_retry_reach_both_consumers(cluster, app_db):
    from core.cases.tasks import cancel_job, enqueue_detect

    db, case_id = app_db, "C2025201"
    _import(
        db,
        cluster.root,
        case_id,
        docs=(("d01", "入院记录", 3), ("d02", "病程记录", 3)),
        scanned={"d01": (1, 2), "d02": (1, 2)},
    )
    kv = cluster.kv()
    job = enqueue_detect(db, case_id, "tester")

    def both_mid_document():  # each worker is reading the first scanned page of its document
        beats = [(row, b) for row, b in _beats(kv, db, job) if b["done"] == 1]
        return beats if len({b["worker"] for _, b in beats}) == 2 else None

    running = _wait_until(both_mid_document, 45, "both workers in the middle of a document", cluster)
    _assert_nothing_readable(cluster, case_id)
    cancel_job(db, job, "tester")
    ended = _wait_job(db, job, cluster)
    assert ended["status"] == "cancelled"
    rows = job_tasks.for_job(db, job)
    assert not [r for r in rows if r["status"] == job_tasks.DONE], (
        "a worker finished a document after the cancel"
    )
    stopped = {r["worker"] for r in rows if r["status"] == job_tasks.CANCELLED}
    assert stopped == {b["worker"] for _, b in running} and len(stopped) == 2, "the cancel did not reach both"
    assert ended["progress_done"] < ended["progress_total"]

    retry = enqueue_detect(db, case_id, "tester")  # the retry runs on both workers again
    _wait_job(db, retry, cluster)
    by_doc = _assert_each_page_once(db, case_id, retry)
    workers = {r["worker"] for rows_ in by_doc.values() for r in rows_ if r["status"] == job_tasks.DONE}
    assert len(workers) == 2, "the retried documents did not spread over both workers"
    _assert_nothing_readable(cluster, case_id)
    _assert_workers_stateless(cluster)


def test_killed_worker_loses_no_page_and_analyses_none_twice(cluster, app_db):
    from core.cases.tasks import enqueue_detect

    db, case_id = app_db, "C2025202"
    _import(
        db,
        cluster.root,
        case_id,
        docs=(("d01", "入院记录", 3), ("d02", "病程记录", 2), ("d03", "出院记录", 2)),
        scanned={"d01": (1,)},
    )
    first_doc = doc_store.list_documents(db, case_id)[0]
    assert first_doc["doc_id"] == "d01"
    kv = cluster.kv()
    job = enqueue_detect(db, case_id, "tester")

    def first_doc_mid_page():  # the worker on d01 has finished page 1 and is reading page 2 (a scan)
        return next(
            (
                (row, b)
                for row, b in _beats(kv, db, job)
                if row["document_id"] == first_doc["id"] and b["done"] == 1
            ),
            None,
        )

    row, beat = _wait_until(first_doc_mid_page, 45, "a worker in the middle of the first document", cluster)
    assert any(k.startswith(b"deid:blob:") for k in cluster.redis.scan_iter()), (
        "working copies are not in Redis"
    )
    _assert_nothing_readable(cluster, case_id)
    victim = cluster.worker_by_pid(int(beat["worker"].rsplit(":", 1)[1]))
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    assert len(cluster.live_workers()) == 1

    _wait_job(db, job, cluster, timeout=90)
    by_doc = _assert_each_page_once(db, case_id, job)
    killed = by_doc[first_doc["id"]]
    assert [r["status"] for r in killed][0] == job_tasks.LOST and killed[0]["worker"] == beat["worker"]
    survivor = next(r for r in killed if r["status"] == job_tasks.DONE)
    assert survivor["attempt"] >= 2 and survivor["worker"] != beat["worker"]
    audit = [
        json.loads(r[0])
        for r in db.execute(
            "SELECT detail FROM audit_log WHERE action = 'case.detect' AND case_id = ?",
            [case_handle(case_id)],
        ).fetchall()
    ]
    assert audit and audit[-1]["lost_tasks"] >= 1
    # nothing left behind in Redis: no blobs, no heartbeats, no results
    leftovers = [
        k for k in cluster.redis.scan_iter() if k.startswith((b"deid:blob:", b"huey.r.deid.deid.beat"))
    ]
    assert leftovers == []
    _assert_nothing_readable(cluster, case_id)
    _assert_workers_stateless(cluster)
