"""The hostile-PDF kit: every file through ``python -m core.cli redact``, outcome per class.

    python -m tools.eval.hostile [--only mutations|public] [--jobs 2] [--timeout 120] [--no-ocr] [--sample N]

Two halves: (a) malformed, fuzzed and unusual files of public projects (qpdf's
oss-fuzz reproducers and damaged test files, pikepdf's and pdf.js's test PDFs),
selected by the rules in ``tools/eval/data/sources.json`` (``hostile_sets``) and
cached in ``.cache/eval/hostile/public/`` (never committed); (b) systematic
mutations of small PDFs built here (``tools.eval.hostile_kit``).

The contract each file must meet (issue 11): exit 0 with a sound output (it
opens, every page renders, the leak gate passes and the planted identifiers are
gone), or exit 2 with ONE line on stderr and no output file; exit 3 (the leak
gate refused) is safe but reported.  Anything else is a crash: a traceback, exit
1, a signal, several lines of stderr on a refusal, or no answer within the
timeout.  Refusals that came from the CLI's catch-all (an unexpected exception,
``文件无法安全处理（TypeError）``) meet the contract but are counted apart: each is a
failure the product did not recognise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from tools.eval.hostile_kit import KitFile, mutation_kit, quick_kit

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("EVAL_CACHE_DIR", ROOT / ".cache" / "eval")) / "hostile"
DATA = Path(__file__).resolve().parent / "data"
CATCH_ALL = re.compile(r"文件无法安全处理（\w+）")
OK_OUTCOMES = {"ok", "refused", "refused-unexpected", "leak-gate"}


# ------------------------------------------------------------------ public sets
def hostile_sets() -> list[dict]:
    return json.loads((DATA / "sources.json").read_text(encoding="utf-8"))["hostile_sets"]


def _mirror(repo: str) -> Path | None:
    for root in os.environ.get("EVAL_MIRRORS", "/work/.mirror").split(os.pathsep):
        git_dir = Path(root) / repo.replace("/", "+") / "repo"
        if git_dir.is_dir():
            return git_dir
    return None


def _selected(src: dict, git_dir: Path) -> list[str]:
    listing = subprocess.run(
        ["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-l", src["commit"], src["under"] + "/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pattern = re.compile(src["pattern"])
    paths = []
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        size = meta.split()[3]
        if size.isdigit() and int(size) <= src["max_bytes"] and pattern.search(path.rsplit("/", 1)[-1]):
            paths.append(path)
    paths.sort()
    limit = src.get("limit")
    if limit and len(paths) > limit:  # an even spread over the sorted list, same every run
        paths = [paths[round(k * (len(paths) - 1) / (limit - 1))] for k in range(limit)]
    return paths


def public_kit() -> tuple[list[KitFile], list[str]]:
    """(files of every available public set, ids of sets not available here)."""
    files, missing = [], []
    for src in hostile_sets():
        folder = CACHE / "public" / src["id"] / src["commit"][:12]
        index = folder / "_index.json"
        if not index.exists():
            git_dir = _mirror(src["repo"])
            if git_dir is None:
                missing.append(src["id"])
                continue
            paths = _selected(src, git_dir)
            folder.mkdir(parents=True, exist_ok=True)
            kept = []
            for path in paths:
                blob = subprocess.run(
                    ["git", "--git-dir", str(git_dir), "show", f"{src['commit']}:{path}"], capture_output=True
                )
                if blob.returncode == 0:
                    (folder / path.replace("/", "__")).write_bytes(blob.stdout)
                    kept.append(path)
            index.write_text(json.dumps(kept, indent=0), encoding="utf-8")
        for path in json.loads(index.read_text(encoding="utf-8")):
            data = (folder / path.replace("/", "__")).read_bytes()
            files.append(
                KitFile(
                    f"{src['id']}:{path.rsplit('/', 1)[-1]}",
                    src["id"],
                    data,
                    identifiers=[],
                    source=f"{src['repo']}@{src['commit'][:12]}:{path}",
                )
            )
    return files, missing


# ------------------------------------------------------------------ one file
@dataclass
class Outcome:
    name: str
    klass: str
    rc: int | None
    outcome: str
    detail: str
    seconds: float


def run_file(item: KitFile, workdir: Path, timeout: float, ocr: bool) -> Outcome:
    """Run the CLI on one kit file and judge the result against the contract."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", item.name)[:80]
    src, out = workdir / f"{safe}.pdf", workdir / f"{safe}.out.pdf"
    src.write_bytes(item.data)
    cmd = [sys.executable, "-m", "core.cli", "redact", str(src), "-o", str(out)]
    if item.identifiers and item.meta:
        meta = workdir / f"{safe}.json"
        meta.write_text(
            json.dumps(
                {"patient_name": item.identifiers[0], "id_number": item.identifiers[-1]}, ensure_ascii=False
            ),
            encoding="utf-8",
        )
        cmd += ["--meta", str(meta)]
    if not ocr:
        cmd.append("--no-ocr")
    t0 = time.perf_counter()
    if FORK:
        rc, outcome, detail = _forked(cmd, timeout, workdir / f"{safe}.err", out, item)
    else:
        rc, stderr = _spawned(cmd, timeout)
        outcome, detail = ("hang", "") if rc is None else judge(rc, stderr, out, item)
    seconds = time.perf_counter() - t0
    if rc is None:  # on a busy machine wall time says little: the CPU time the child got is in the detail
        return Outcome(
            item.name,
            item.klass,
            None,
            "hang",
            f"no answer in {timeout:.0f} s {detail}".strip(),
            round(seconds, 2),
        )
    for path in (src, out):
        path.unlink(missing_ok=True)
    return Outcome(item.name, item.klass, rc, outcome, detail, round(seconds, 2))


FORK = os.environ.get("HOSTILE_SPAWN") != "1"


def _spawned(cmd: list[str], timeout: float) -> tuple[int | None, str]:
    """``python -m core.cli …`` in a new interpreter (HOSTILE_SPAWN=1)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), DEID_WORKERS="1")
    env.pop("DEID_TRACEBACK", None)
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, errors="replace", timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None, ""
    return proc.returncode, proc.stderr


def _forked(
    cmd: list[str], timeout: float, err: Path, out: Path, item: KitFile
) -> tuple[int | None, str, str]:
    """The same ``core.cli.main`` in a fork of this process (the modules are
    imported once, not per file).  The child redirects stderr to a file; an
    exception escaping ``main`` prints its traceback and exits 1 as the
    interpreter would; the child judges its own result (so this process
    never runs MuPDF while forking) and writes the verdict next to stderr.
    A signal or the timeout ends only that child.  (rc, outcome, detail)."""
    import core.cli  # imported before forking

    verdict = err.with_suffix(".verdict")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(fd, 2)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            os.environ["DEID_WORKERS"] = "1"
            os.environ.pop("DEID_TRACEBACK", None)
            try:
                code = int(core.cli.main(cmd[3:]) or 0)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                import traceback

                traceback.print_exc()
            sys.stderr.flush()
            outcome, detail = judge(code, err.read_text(encoding="utf-8", errors="replace"), out, item)
            verdict.write_text(json.dumps([outcome, detail], ensure_ascii=False), encoding="utf-8")
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            _, _, usage = os.wait4(pid, 0)
            return None, "hang", f"{usage.ru_utime + usage.ru_stime:.0f} CPU-s used"
        time.sleep(0.05)
    rc = os.waitstatus_to_exitcode(status)
    stderr = err.read_text(encoding="utf-8", errors="replace") if err.exists() else ""
    if verdict.exists():
        outcome, detail = json.loads(verdict.read_text(encoding="utf-8"))
    else:
        outcome, detail = (
            ("crash", f"killed by signal {-rc}")
            if rc < 0
            else ("crash", f"exit {rc}, no verdict: {stderr[-150:]}")
        )
    for path in (err, verdict):
        path.unlink(missing_ok=True)
    return rc, outcome, detail


def judge(rc: int, stderr: str, out: Path, item: KitFile) -> tuple[str, str]:
    lines = [l for l in stderr.strip().splitlines() if l.strip()]
    first = lines[-1][:200] if lines else ""
    if "Traceback" in stderr:
        return "crash", "traceback: " + first
    if rc == 0:
        problem = unsound(out, item)
        return ("unsound", problem) if problem else ("ok", "")
    if rc < 0:
        return "crash", f"killed by signal {-rc}"
    if rc in (2, 3):
        if len(lines) != 1:
            return "crash", f"exit {rc} with {len(lines)} lines on stderr: " + " | ".join(
                l[:80] for l in lines[:4]
            )
        if out.exists():
            return "crash", f"exit {rc} but an output file was written"
        if rc == 3:
            return "leak-gate", first
        return ("refused-unexpected" if CATCH_ALL.search(first) else "refused"), first
    return "crash", f"exit {rc}: " + first


def unsound(out: Path, item: KitFile) -> str:
    """Why an output written with exit 0 is not sound ('' when it is)."""
    import pymupdf

    from core.verify import Identifier, verify_pdf

    pymupdf.TOOLS.mupdf_display_errors(False)

    if not out.exists():
        return "exit 0 without an output file"
    try:
        data = out.read_bytes()
        doc = pymupdf.open(stream=data, filetype="pdf")
        if doc.page_count < 1 or doc.needs_pass:
            return "output has no pages or needs a password"
        for page in doc:
            text = re.sub(
                r"\s", "", page.get_text(sort=True)
            )  # glyph by glyph: one line each, in place order
            if any(v in text for v in item.identifiers):
                return f"identifier left in the text layer of page {page.number + 1}"
        if where := _in_raw_streams(doc, item.identifiers):
            return where
            zoom = min(1.0, 2000 / max(page.rect.width, page.rect.height, 1))
            page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom) * (20 / 72), alpha=False)
        report = verify_pdf(
            data,
            [Identifier(v, "id_number" if v.isdigit() else "patient_name", "kit") for v in item.identifiers],
            ocr="none",
        )
        if not report.ok:
            return "leak gate on the output: " + (report.error or f"{len(report.leaks)} leak(s)")
    except Exception as exc:
        return f"output cannot be read ({type(exc).__name__})"
    return ""


def _in_raw_streams(doc, values: list[str]) -> str:
    """The kit's own look at every stream as stored and as decoded, for the identifiers in the
    encodings metadata uses (not the product's gate)."""
    needles = {v.encode(enc) for v in values for enc in ("utf-8", "utf-16-le", "utf-16-be", "gbk")}
    for xref in range(1, doc.xref_length()):
        try:
            if not doc.xref_is_stream(xref):
                continue
            blobs = [doc.xref_stream_raw(xref) or b""]
            try:
                blobs.append(doc.xref_stream(xref) or b"")
            except Exception:
                pass
        except Exception:
            continue
        if any(n in blob for n in needles for blob in blobs):
            return f"identifier left in the bytes of object {xref}"
    return ""


# ------------------------------------------------------------------ the kit
def run_kit(
    files: list[KitFile], jobs: int = 2, timeout: float = 120.0, ocr: bool = True, progress=None
) -> list[Outcome]:
    results: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="hostile-kit-") as tmp, ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(run_file, item, Path(tmp), timeout, ocr) for item in files]
        for n, fut in enumerate(futures, 1):
            results.append(fut.result())
            if progress:
                progress(n, len(files), results[-1])
    return results


def summary(results: list[Outcome]) -> dict:
    by_class: dict[str, Counter] = defaultdict(Counter)
    for r in results:
        by_class[r.klass][r.outcome] += 1
    total = Counter(r.outcome for r in results)
    return {
        "files": len(results),
        "classes": len(by_class),
        "outcomes": dict(total),
        "crashes": sum(v for k, v in total.items() if k not in OK_OUTCOMES),
        "by_class": {k: dict(v) for k, v in sorted(by_class.items())},
    }


def print_table(results: list[Outcome]) -> None:
    s = summary(results)
    cols = ["ok", "refused", "refused-unexpected", "leak-gate", "unsound", "crash", "hang"]
    print(f"\n{'class':22s} {'files':>5} " + " ".join(f"{c:>9.9s}" for c in cols))
    for klass, counts in s["by_class"].items():
        print(f"{klass:22s} {sum(counts.values()):>5} " + " ".join(f"{counts.get(c, 0):>9}" for c in cols))
    print(
        f"\n{s['files']} files, {s['classes']} classes, crashes (unsound + crash + hang): {s['crashes']}; "
        f"outcomes {s['outcomes']}"
    )
    bad = [r for r in results if r.outcome not in OK_OUTCOMES or r.outcome == "refused-unexpected"]
    for r in bad:
        print(f"  {r.outcome:18s} rc={r.rc} {r.name}: {r.detail}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.eval.hostile", description=__doc__.splitlines()[0])
    ap.add_argument(
        "--only",
        choices=["all", "mutations", "public", "quick"],
        default="all",
        help="quick: the fast subset that make test runs",
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per file")
    ap.add_argument("--no-ocr", action="store_true")
    ap.add_argument("--sample", type=int, default=0, help="every k-th file only (k chosen to keep N files)")
    ap.add_argument("--match", default="", help="only files whose name contains this")
    ap.add_argument("--names", default="", help="only these files (comma-separated names)")
    ap.add_argument("--out", type=Path, default=CACHE / "runs" / (time.strftime("%Y%m%d-%H%M%S") + ".json"))
    args = ap.parse_args(argv)
    files: list[KitFile] = []
    if args.only in ("all", "public"):
        public, missing = public_kit()
        files += public
        if missing:
            print(
                f"public sets not available here (no mirror, see tools/eval/data/README.md): {', '.join(missing)}"
            )
    if args.only in ("all", "mutations"):
        files += mutation_kit()
    if args.only == "quick":
        files += quick_kit()
    if args.match:
        files = [f for f in files if args.match in f.name]
    if args.names:
        wanted = set(args.names.split(","))
        files = [f for f in files if f.name in wanted]
    if args.sample and len(files) > args.sample:
        files = files[:: max(1, len(files) // args.sample)][: args.sample]
    print(
        f"{len(files)} files, {len({f.klass for f in files})} classes; timeout {args.timeout:.0f} s, "
        f"{args.jobs} jobs, OCR {'off' if args.no_ocr else 'on'}",
        flush=True,
    )

    def tick(n, total, r):
        mark = "" if r.outcome in OK_OUTCOMES else f"  <-- {r.outcome}: {r.detail[:100]}"
        print(f"[{n}/{total}] {r.outcome:18s} {r.seconds:6.1f}s {r.name}{mark}", flush=True)

    results = run_kit(files, args.jobs, args.timeout, not args.no_ocr, tick)
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"summary": summary(results), "results": [asdict(r) for r in results]},
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    print(f"results: {args.out}")
    return 1 if summary(results)["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
