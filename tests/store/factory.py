"""Build small real archives for tests: folder + manifest.json + generated PDFs.

Pages carry the patient's name and inpatient number in the text layer (CJK
builtin font), optionally one scanned page (an image of text, no text layer).
"""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def page_lines(meta: dict, doc_type: str, page_no: int) -> list[str]:
    return [
        f"{meta.get('institution', '示例市妇幼保健院')}  {doc_type}",
        f"姓名：{meta['patient_name']}   性别：{meta.get('sex', '女')}   年龄：{meta.get('age', '28岁')}",
        f"住院号：{meta['inpatient_no']}   科室：{meta['department']}",
        f"诊断：{meta.get('main_diagnosis', '重度子痫前期')}   第{page_no}页",
        "主诉：停经38周，头痛2天。体温36.8℃，血压160/110mmHg。",
        f"记录医师：{meta.get('doctor', '王建国')}",
    ]


def write_pdf(path: Path, meta: dict, doc_type: str, n_pages: int, scanned_pages=()) -> None:
    doc = pymupdf.open()
    for i in range(n_pages):
        page = doc.new_page(width=595, height=842)
        if i in scanned_pages:
            src = pymupdf.open()
            sp = src.new_page(width=595, height=842)
            _write_lines(sp, page_lines(meta, doc_type, i + 1))
            pix = sp.get_pixmap(dpi=120)
            page.insert_image(page.rect, stream=pix.tobytes("png"))
        else:
            _write_lines(page, page_lines(meta, doc_type, i + 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))


def _write_lines(page, lines):
    y = 72
    for line in lines:
        page.insert_text((60, y), line, fontsize=12, fontname="china-s")
        y += 28


def make_case(
    root: Path,
    case_id: str,
    *,
    department="产科",
    discharge_date="2025-03-10",
    review_type="孕产妇危重症评审",
    docs=(("d01", "入院记录", 2), ("d02", "病程记录", 2)),
    scanned=None,
    patient_name="李秀英",
    inpatient_no="ZY20250301",
    extra_case=None,
) -> Path:
    """One case folder; ``scanned`` maps doc_id → page indexes rendered as images."""
    folder = root / case_id
    meta = {
        "case_id": case_id,
        "patient_id": "P" + inpatient_no[-6:],
        "patient_name": patient_name,
        "sex": "女",
        "age": "28岁",
        "id_number": "320102199701011234",
        "inpatient_no": inpatient_no,
        "institution": "示例市妇幼保健院",
        "department": department,
        "admission_date": "2025-03-01",
        "discharge_date": discharge_date,
        "main_diagnosis": "重度子痫前期",
        "main_operation": "剖宫产术",
        "review_type": review_type,
        "family": [{"relation": "丈夫", "name": "陈志强"}],
    }
    meta.update(extra_case or {})
    documents = []
    for doc_id, doc_type, n in docs:
        write_pdf(folder / f"{doc_id}.pdf", meta, doc_type, n, (scanned or {}).get(doc_id, ()))
        documents.append(
            {
                "doc_id": doc_id,
                "type": doc_type,
                "title": doc_type,
                "date": discharge_date,
                "file": f"{doc_id}.pdf",
            }
        )
    (folder / "manifest.json").write_text(
        json.dumps({"case": meta, "documents": documents}, ensure_ascii=False), encoding="utf-8"
    )
    return folder


def make_archive(root: Path) -> Path:
    """Three small cases across departments, dates and review types."""
    make_case(
        root,
        "C2024001",
        department="产科",
        discharge_date="2024-05-02",
        review_type="孕产妇危重症评审",
        patient_name="李秀英",
        inpatient_no="ZY20240501",
    )
    make_case(
        root,
        "C2025002",
        department="新生儿科",
        discharge_date="2025-02-11",
        review_type="儿童死亡评审",
        patient_name="赵小宝",
        inpatient_no="ZY20250211",
        docs=(("d01", "病程记录", 1), ("d02", "住院病案首页", 1), ("d03", "死亡记录", 1)),
    )
    make_case(
        root,
        "C2025003",
        department="儿科",
        discharge_date="2025-08-20",
        review_type="儿童死亡评审",
        patient_name="孙浩然",
        inpatient_no="ZY20250820",
    )
    return root


def review_everything(db, user: dict, case_id: str) -> None:
    """What a preparer does before submitting: open every included page and
    accept every undecided box (through the review functions, audited)."""
    from core.cases import review

    for page in review.pages(db, case_id):
        review.open_page(db, user, page["id"])
        review.accept_page(db, user, page["id"])
