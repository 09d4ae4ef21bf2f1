"""Small synthetic case for export tests: real PDFs (PyMuPDF, builtin CJK
font), findings located with ``search_for`` (as a reviewed case would have)."""

from __future__ import annotations

import pymupdf

from core.export.options import ExportDocument
from core.models import CaseMeta, Finding

FONT = "china-s"
PATIENT = "王小红"
HUSBAND = "李建国"
DOCTOR_1 = "张伟明"
DOCTOR_2 = "刘洋"
NURSE = "赵敏"
HOSPITAL = "南京市妇幼保健院"
OTHER_HOSPITAL = "江苏省人民医院"
INPATIENT_NO = "ZY20250302"
ID_NUMBER = "320102199001011234"

META = CaseMeta(
    case_id="C-TEST-1",
    patient_name=PATIENT,
    inpatient_no=INPATIENT_NO,
    id_number=ID_NUMBER,
    institution=HOSPITAL,
    age="32岁",
    extra={"family": [{"relation": "丈夫", "name": HUSBAND}]},
)

# (category, text, role_hint) of everything the synthetic pages contain
IDENTIFIERS = [
    ("patient_name", PATIENT, ""),
    ("relative_name", HUSBAND, "丈夫"),
    ("doctor_name", DOCTOR_1, "主治医师"),
    ("doctor_name", DOCTOR_2, "住院医师"),
    ("nurse_name", NURSE, "责任护士"),
    ("institution", HOSPITAL, ""),
    ("institution", OTHER_HOSPITAL, ""),
    ("record_number", INPATIENT_NO, ""),
    ("id_number", ID_NUMBER, ""),
]


def text_page(doc: pymupdf.Document, lines: list[str]) -> pymupdf.Page:
    page = doc.new_page(width=595, height=842)
    y = 80
    for line in lines:
        page.insert_text((60, y), line, fontname=FONT, fontsize=11)
        y += 22
    return page


def admission_pdf() -> bytes:
    doc = pymupdf.open()
    text_page(
        doc,
        [
            f"{HOSPITAL} 入院记录",
            f"姓名：{PATIENT}  性别：女  年龄：32岁  住院号：{INPATIENT_NO}",
            f"身份证号：{ID_NUMBER}",
            f"丈夫：{HUSBAND}  职业：教师",
            "入院日期：2025-03-02 10:00  主诉：停经38周，下腹痛3小时。",
            f"主治医师：{DOCTOR_1}  住院医师：{DOCTOR_2}",
        ],
    )
    text_page(
        doc,
        [
            f"患者{PATIENT}，因妊娠期高血压转入，曾在{OTHER_HOSPITAL}产检。",
            f"{DOCTOR_1}查房：血压 150/95 mmHg，尿蛋白 (++)。",
            f"责任护士：{NURSE}",
        ],
    )
    return doc.tobytes()


def progress_pdf() -> bytes:
    doc = pymupdf.open()
    text_page(
        doc,
        [
            "病程记录 2025-03-03",
            f"{DOCTOR_2}医师记录：患者{PATIENT}血压控制可，{HUSBAND}陪护。",
            f"护士{NURSE}执行医嘱。上级医师{DOCTOR_1}同意继续观察。",
            f"{HOSPITAL}产科",
        ],
    )
    return doc.tobytes()


def scanned_pdf(text: str = f"检验报告 姓名 {PATIENT}", clean: bool = False) -> bytes:
    """One page that is only an image holding ``text`` (a scan)."""
    src = pymupdf.open()
    p = src.new_page(width=595, height=842)
    p.insert_text((60, 120), "检验报告单  血红蛋白 105 g/L", fontname=FONT, fontsize=16)
    if not clean:
        p.insert_text((60, 170), text, fontname=FONT, fontsize=16)
    pix = p.get_pixmap(dpi=150)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_image(page.rect, stream=pix.tobytes("png"))
    return doc.tobytes()


def findings_for(pdf: bytes, identifiers=IDENTIFIERS) -> list[Finding]:
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    out = []
    for page in doc:
        for category, text, hint in identifiers:
            for quad in page.search_for(text):
                out.append(Finding(page.number, category, [tuple(quad)], "test", 1.0, text, role_hint=hint))
    return out


def case_documents(scanned: bool = False) -> list[ExportDocument]:
    a, b = admission_pdf(), progress_pdf()
    docs = [
        # deliberately out of catalog order: progress note first
        ExportDocument("d02", "病程记录", b, findings_for(b), date="2025-03-03"),
        ExportDocument("d01", "入院记录", a, findings_for(a), date="2025-03-02"),
    ]
    if scanned:
        s = scanned_pdf(clean=True)
        docs.append(ExportDocument("d03", "辅助检查报告", s, [], date="2025-03-04"))
    return docs
