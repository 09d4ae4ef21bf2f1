"""``redact IN.pdf -o OUT.pdf``: detect and remove identifiers in one PDF."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from core.cli.commands.common import add_verify_ocr, print_unseen_removed
from core.errors import InputError
from core.masking import mask
from core.policy import STYLES, available_policies

HELP = """Detect every identifier in IN.pdf (text layer and OCR of scanned pages) and
write a truly redacted, sanitised copy to OUT.pdf.

Exit codes: 0 success; 2 unusable input (not a PDF, encrypted, corrupt, zero
pages, or a file the engine cannot process safely) with a one-line message;
3 the leak check of the output found an identifier (no output file is
written).  A page that cannot be analysed or redacted is blanked (its
content replaced by a notice), reported on stderr and in the report.  Identifiers are never printed; the
report masks them (张**, 3201********1234).
"""


def register(sub) -> None:
    p = sub.add_parser("redact", help="de-identify one PDF", description=HELP, formatter_class=_Fmt)
    p.add_argument("input", metavar="IN.pdf", help="PDF to de-identify (one document or a whole record)")
    p.add_argument("-o", "--output", metavar="OUT.pdf", required=True, help="where to write the redacted PDF")
    p.add_argument(
        "--meta",
        metavar="CASE.json",
        help="archive-index record: case_id, patient_id, patient_name, sex, "
        "age, id_number, inpatient_no, institution, department, admission_date, discharge_date, "
        "main_diagnosis, main_operation; extra keys (phone, address, family names …) are searched too",
    )
    p.add_argument(
        "--policy", default="review", choices=available_policies(), help="what to hide (default: review)"
    )
    p.add_argument(
        "--style", choices=STYLES, help="black boxes, or neutral labels such as [患者] (default: policy's)"
    )
    p.add_argument(
        "--report",
        metavar="REPORT.json",
        help="write a JSON report (masked values, page, box, category, detector, confidence, verification)",
    )
    p.add_argument(
        "--no-ocr",
        action="store_true",
        help="skip OCR (text layer only): pages that need OCR (scans, image inserts, outlined text, untrusted "
        "text layers) are blanked",
    )
    add_verify_ocr(p)
    p.add_argument(
        "--dpi", type=int, default=None, help="OCR render resolution (default DEID_OCR_DPI or 150)"
    )
    p.set_defaults(func=run)


class _Fmt(argparse.RawDescriptionHelpFormatter):
    pass


def load_meta(path: str | None) -> dict:
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("找不到病例索引文件", "CASE.json not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError("病例索引文件不是有效的 JSON", "CASE.json is not valid JSON") from None
    if not isinstance(data, dict):
        raise InputError("病例索引文件应为 JSON 对象", "CASE.json must be a JSON object")
    return data


def finding_report(f) -> dict:
    return {
        "page": f.page_index + 1,
        "category": f.category.value,
        "detector": f.detector,
        "confidence": round(f.confidence, 3),
        "source": f.source.value,
        "boxes": [[round(v, 1) for v in r] for r in f.rects],
        "masked": mask(f.text, f.category.value),
    }


def run(args) -> int:
    from core.config import settings
    import pymupdf

    from core.engine import analyze_document, redact_to_bytes
    from core.pdf.open import open_pdf

    t0 = time.perf_counter()
    meta = load_meta(args.meta)
    doc = open_pdf(args.input)
    dpi = args.dpi or settings().ocr_dpi
    analysis = analyze_document(
        doc, meta, ocr=not args.no_ocr, dpi=dpi, progress=_progress if args.verbose else None
    )
    # fail closed: pages that could not be analysed are blanked, never released; so are pages that only OCR
    # could read when OCR is off
    failed = sorted(set(analysis.failed_pages) | set(analysis.unread_pages if args.no_ocr else []))
    data, report, plan = redact_to_bytes(
        doc,
        analysis.findings,
        policy=args.policy,
        style=args.style,
        seeds=analysis.seeds,
        meta=meta,
        blank_pages=failed,
        verify_ocr=args.verify_ocr,
    )
    summary = {
        "input_pages": doc.page_count,
        "output_pages": pymupdf.open("pdf", data).page_count,
        "policy": plan.policy,
        "style": plan.style,
        "findings": [finding_report(f) for f in analysis.findings],
        "counts": _counts(analysis.findings),
        "boxes_applied": len(plan.items),
        "failed_pages": [i + 1 for i in analysis.failed_pages],
        "blanked_pages": [i + 1 for i in plan.blanked],
        "unseen_removed": plan.unseen_removed,
        "scanned_pages": [p.index + 1 for p in analysis.pages if p.scanned],
        "verification": report.to_dict(),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    if args.report:
        _write_atomic(Path(args.report), json.dumps(summary, ensure_ascii=False, indent=2).encode("utf-8"))
    if not report.ok:
        if not report.leaks:  # the gate could not run (e.g. a stream it cannot read): fail closed
            print(
                f"校验无法完成，未写出文件 / verification could not run ({report.error}); no output written",
                file=sys.stderr,
            )
            return 3
        where = "；".join(leak.place() for leak in report.leaks[:5])
        print(
            f"校验失败：输出中仍可读到标识符（{where}），未写出文件 / verification failed: "
            f"{len(report.leaks)} identifier(s) still readable; no output written",
            file=sys.stderr,
        )
        return 3
    _write_atomic(Path(args.output), data)  # the bytes the leak gate checked, as they are
    print(
        f"已完成 / done: {doc.page_count} 页, {len(analysis.findings)} 处标识符, "
        f"{len(plan.items)} 个遮盖框, 校验通过 / verified ({summary['seconds']} s)"
    )
    if plan.blanked:
        print(
            f"注意：第 {summary['blanked_pages']} 页无法安全处理，已整页移除，请人工检查 / warning: "
            f"page(s) {summary['blanked_pages']} could not be processed safely and were blanked",
            file=sys.stderr,
        )
    print_unseen_removed(plan.unseen_removed)
    return 0


def _counts(findings) -> dict:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.category.value] = counts.get(f.category.value, 0) + 1
    return counts


def _progress(done: int, total: int, step: str) -> None:
    print(f"\r{step}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
