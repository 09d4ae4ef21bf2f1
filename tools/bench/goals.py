"""The Goals of issue 14, each measured beside a floor taken in the same run.

Called by ``tools.bench.run`` (``make bench``); every function returns a
:class:`Figure` list and never asserts (speed is not a unit-test matter).

- CLI born-digital: the whole ``core.cli redact`` process per page on a
  20-page record (start-up included) / PyMuPDF ``rawdict`` per page of the
  same file (goal ≤ 10×);
- dense scanned pages: detection s/page on 2 cores (goal ≤ 1.0 s), and its
  ratio to the bare OCR engine (RapidOCR's own det + rec of the same page
  images at the same settings, goal ≤ 1.3×);
- the text-layer trust cross-check, ms per born-digital page (goal ≤ 20);
- a 300-page mixed record (20 % scanned): detection with the engine's
  default leak gate settings (goal ≤ 240 s) and the default export
  (goal ≤ 180 s), peak memory of the whole process tree (goal ≤ 1.5 GB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from core.config import PROJECT_ROOT


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    goal: float  # the figure must be ≤ goal
    floor: str = ""  # what it was compared with, measured in the same run
    note: str = ""

    @property
    def met(self) -> bool:
        return self.value <= self.goal

    def line(self) -> str:
        mark = "NOT MEASURED" if self.value != self.value else "met" if self.met else "SHORT"
        text = (
            f"  {self.name:44s} {self.value:9.3g} {self.unit:8s} goal ≤ {self.goal:g} {self.unit:8s} [{mark}]"
        )
        if self.floor:
            text += f"\n  {'':44s} floor: {self.floor}"
        if self.note:
            text += f"\n  {'':44s} {self.note}"
        return text


def _env(tmp: str) -> dict:
    """A child environment with its own (cold) OCR cache, data dir and key file;
    demo mode, so the export may sign with generated demo keys."""
    return dict(
        os.environ,
        DEID_OCR_CACHE_DIR=str(Path(tmp) / "ocr-cache"),
        DEID_DATA_DIR=str(Path(tmp) / "data"),
        DEID_KEY_FILE=str(Path(tmp) / "key" / "storage.key"),
        DEID_DEMO="1",
        PYTHONPATH=str(PROJECT_ROOT),
    )


# ------------------------------------------------------------ born-digital CLI
def rawdict_s_per_page(path: Path, repeats: int = 3) -> float:
    """The floor: PyMuPDF's own ``rawdict`` extraction of every page (open
    included), best of ``repeats``: (wall, CPU) s/page."""
    import pymupdf

    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        with pymupdf.open(path) as doc:
            for page in doc:
                page.get_text("rawdict")
            n = doc.page_count
        best = min(best, (time.perf_counter() - t0) / n)
        best_cpu = min(best_cpu, (time.process_time() - c0) / n)
    return best, best_cpu


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cli_born_digital(pages: int = 20, seed: int = 21, runs: int = 3) -> list[Figure]:
    """The whole CLI process per record, start-up included, best of ``runs`` after one warm-up run that is
    not counted: the warm-up compiles the project's bytecode (into a cache folder of its own, even where
    the environment turns bytecode writing off) and fills the OS file cache, as every run of an installed
    CLI finds them."""
    from tools.synth.corpus import make_record

    with tempfile.TemporaryDirectory(prefix="deid-bench-cli-") as tmp:
        src = Path(tmp) / "record.pdf"
        make_record(src, pages=pages, seed=seed, scanned=0.0)
        floor, floor_cpu = rawdict_s_per_page(src)
        env = {k: v for k, v in _env(tmp).items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        _cli_redact(src, tmp, env)  # warm-up
        timed = [_cli_redact(src, tmp, env) for _ in range(runs)]
        wall, cpu, r = min(timed, key=lambda t: t[0])
        per_page = wall / pages
        note = (
            f"CLI {wall:.1f} s for {pages} pages, best of {runs} after a warm-up (exit {r.returncode}); "
            f"by CPU time: {cpu / pages * 1000:.0f} vs {floor_cpu * 1000:.1f} ms/page = {cpu / pages / floor_cpu:.1f}×"
        )
        if r.returncode:
            note += f": {r.stderr.strip()[-200:]}"
    return [
        Figure(
            "CLI born-digital, ratio to rawdict",
            per_page / floor,
            "×",
            10.0,
            f"rawdict {floor * 1000:.1f} ms/page; CLI {per_page * 1000:.0f} ms/page, start-up included",
            note,
        )
    ]


def _cli_redact(src: Path, tmp: str, env: dict) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall s, CPU s, result) of one ``python -m core.cli redact`` of ``src``."""
    t0, c0 = time.perf_counter(), _children_cpu()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.cli",
            "redact",
            str(src),
            "-o",
            str(Path(tmp) / "out.pdf"),
            "--meta",
            str(src.with_suffix(".case.json")),
            "--report",
            str(Path(tmp) / "r.json"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    return time.perf_counter() - t0, _children_cpu() - c0, r


# ------------------------------------------------------------ trust cross-check
def trust_cross_check(pages: int = 20, seed: int = 22) -> list[Figure]:
    """ms per born-digital page of ``assess_page`` (static checks + the
    sampled OCR cross-check) on a fresh document, recogniser already loaded
    (its load time is reported apart)."""
    from core.ocr.engine import get_engine
    from core.pdf.trust import assess_page
    from tools.synth.corpus import build_record

    doc, _truth = build_record(pages=pages, seed=seed, scanned=0.0)
    engine = get_engine()
    t0 = time.perf_counter()
    engine.read_crops([__import__("numpy").full((40, 120, 3), 255, dtype="uint8")])  # load the recogniser
    load = time.perf_counter() - t0
    c0, t0 = time.process_time(), time.perf_counter()
    results = [assess_page(page) for page in doc]
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    untrusted = sum(1 for t in results if not t.trusted)
    runs = sum(t.checked_lines for t in results)
    first = results[0].seconds * 1000 if results else 0.0
    doc.close()
    return [
        Figure(
            "trust cross-check per born-digital page",
            total / pages * 1000,
            "ms",
            20.0,
            "",
            f"CPU {cpu / pages * 1000:.1f} ms/page; {pages} pages, {runs} runs read, {untrusted} untrusted "
            f"(expected 0); first page "
            f"{first:.0f} ms; recogniser load {load * 1000:.0f} ms (once per process)",
        )
    ]


# ------------------------------------------------------------ dense scans
def dense_scanned(pages: int = 5) -> list[Figure]:
    """Detection (``analyze_document``, OCR cache off, default workers) of
    ``pages`` dense synthetic A4 scans, and the bare engine on the same page
    images at the same settings."""
    import pymupdf

    from tools.bench.ocr import bare_engine_s_per_page, synthetic_scan

    with tempfile.TemporaryDirectory(prefix="deid-bench-scan-") as tmp:
        path = Path(tmp) / "scans.pdf"
        doc = pymupdf.open()
        for i in range(pages):
            synthetic_scan(doc, seed=100 + i)
        doc.save(path)
        doc.close()
        floor, floor_cpu = bare_engine_s_per_page(path, skip_first=True)
        code = (
            "import json, sys, time; from core.pdf.open import open_pdf; from core.engine import analyze_document\n"
            "doc = open_pdf(sys.argv[1]); analyze_document(doc, {}, ocr=True, pages=[0], workers=1)  # models\n"
            "c0 = time.process_time(); t0 = time.perf_counter()\n"
            "a = analyze_document(doc, {}, ocr=True, pages=range(1, doc.page_count))\n"
            "import resource; kids = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "print('RESULT', json.dumps({'s': time.perf_counter() - t0, 'cpu': time.process_time() - c0"
            " + kids.ru_utime + kids.ru_stime, 'scanned': sum(p.scanned for p in a.pages),"
            " 'failed': len(a.failed_pages)}))"
        )
        env = dict(_env(tmp), DEID_OCR_CACHE="0")
        r = subprocess.run(
            [sys.executable, "-c", code, str(path)], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
        )
        res = _result(r)
    timed = pages - 1  # the first page loads the models
    per_page = res.get("s", float("nan")) / timed
    note = (
        f"{timed} pages after a warm-up page, {res.get('scanned', '?')} analysed as scans, "
        f"{res.get('failed', '?')} failed; CPU {res.get('cpu', float('nan')) / timed:.2f} s/page (all processes)"
    )
    return [
        Figure("dense scan detection per page (2 cores)", per_page, "s", 1.0, "", note),
        Figure(
            "dense scan detection / bare OCR engine",
            per_page / floor,
            "×",
            1.3,
            f"RapidOCR det + rec of the same images, same settings: {floor:.2f} s/page (CPU {floor_cpu:.2f})",
            f"by CPU time: {res.get('cpu', float('nan')) / timed / floor_cpu:.2f}× (robust to the load)",
        ),
    ]


def _result(r: subprocess.CompletedProcess) -> dict:
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    sys.stderr.write(r.stderr[-2000:])
    return {}


# ------------------------------------------------------------ 300-page record
class TreeMemory:
    """Peaks of the memory of a process and all its descendants, polled from /proc (Linux): the summed
    PSS (each shared page split between the processes that map it, so the libraries every spawned worker
    maps count once: what the tree holds in RAM) and the summed RSS (shared pages counted in every
    process, an upper bound)."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval, self.peak_kb, self.peak_rss_kb = pid, interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.is_set():
            tree = _tree(self.pid)
            self.peak_kb = max(
                self.peak_kb, sum(_memory_kb(p, "/proc/{}/smaps_rollup", "Pss:") for p in tree)
            )
            self.peak_rss_kb = max(
                self.peak_rss_kb, sum(_memory_kb(p, "/proc/{}/status", "VmRSS:") for p in tree)
            )
            self._stop.wait(self.interval)


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _tree(pid: int) -> list[int]:
    kids, out, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def _memory_kb(pid: int, path: str, field: str) -> int:
    try:
        with open(path.format(pid)) as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


RECORD_CHILD = """
import json, sys, time
import pymupdf
from core.pdf.open import open_pdf
from core.engine import analyze_document
from core.export.options import ExportDocument, ExportOptions
from core.export.pipeline import export_case
from tools.synth.truth import RecordTruth

import resource


def cpu():
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


path, truth_path = sys.argv[1], sys.argv[2]
truth = RecordTruth.from_dict(json.load(open(truth_path, encoding="utf-8")))
doc = open_pdf(path)
t0, c0 = time.perf_counter(), cpu()
analysis = analyze_document(doc, truth.meta)
detect, detect_cpu = time.perf_counter() - t0, cpu() - c0
docs = []
for d in truth.documents:
    part = pymupdf.open()
    part.insert_pdf(doc, from_page=d.first_page, to_page=d.first_page + d.n_pages - 1)
    found = []
    for f in analysis.findings:
        if d.first_page <= f.page_index < d.first_page + d.n_pages:
            f.page_index -= d.first_page
            found.append(f)
    docs.append(ExportDocument(d.doc_id, d.type, part.tobytes(), found, title=d.title, date=d.date))
    part.close()
t1, c1 = time.perf_counter(), cpu()
try:
    result = export_case(docs, truth.meta, ExportOptions(), seeds=analysis.seeds)
    verified, ocr_pages = result.verify["ok"], result.verify["ocr_pages"]
except Exception as exc:
    verified, ocr_pages = "blocked (" + type(exc).__name__ + ")", getattr(exc, "report", {}).get("ocr_pages")
export, export_cpu = time.perf_counter() - t1, cpu() - c1
print("RESULT", json.dumps({"detect_s": detect, "export_s": export, "detect_cpu": detect_cpu, "export_cpu": export_cpu, "verified": verified, "ocr_pages": ocr_pages,
                            "scanned": sum(p.scanned for p in analysis.pages), "failed": len(analysis.failed_pages)}))
"""


def mixed_record(pages: int = 300, scanned: float = 0.2, seed: int = 14) -> list[Figure]:
    from tools.synth.corpus import make_record

    with tempfile.TemporaryDirectory(prefix="deid-bench-record-") as tmp:
        src = Path(tmp) / "record.pdf"
        t0 = time.perf_counter()
        make_record(src, pages=pages, seed=seed, scanned=scanned)
        build = time.perf_counter() - t0
        proc = subprocess.Popen(
            [sys.executable, "-c", RECORD_CHILD, str(src), str(src.with_suffix(".truth.json"))],
            cwd=PROJECT_ROOT,
            env=_env(tmp),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with TreeMemory(proc.pid) as mem:
            out, err = proc.communicate()
        res = _result(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    nan = float("nan")
    note = (
        f"{pages} pages ({res.get('scanned', '?')} analysed as scans, {res.get('failed', '?')} failed), "
        f"built in {build:.0f} s (not counted); CPU {res.get('detect_cpu', nan):.0f} s (all processes)"
    )
    gate = (
        f"export verified={res.get('verified', '?')}, leak-gate OCR of {res.get('ocr_pages', '?')} pages; "
        f"CPU {res.get('export_cpu', nan):.0f} s (all processes)"
    )
    return [
        Figure(
            f"{pages}-page record (20 % scanned): detection",
            res.get("detect_s", float("nan")),
            "s",
            240.0,
            "",
            note,
        ),
        # an export that did not pass its leak gate measured nothing: no figure, not a fast one
        Figure(
            f"{pages}-page record: export (default leak gate)",
            res.get("export_s", nan) if res.get("verified") is True else nan,
            "s",
            180.0,
            "",
            gate,
        ),
        Figure(
            f"{pages}-page record: peak memory, process tree",
            mem.peak_kb / 1024 / 1024,
            "GB",
            1.5,
            "",
            "detection + export in one child process and its page/OCR workers, PSS summed "
            f"(RSS summed, shared libraries counted in every process: {mem.peak_rss_kb / 1024 / 1024:.2f} GB)",
        ),
    ]
