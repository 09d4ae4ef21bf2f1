"""Folder archive: ``<root>/<case_folder>/manifest.json`` plus the PDFs.

Manifest format (shared with the demo archive generator)::

    {"case": {case_id, patient_id, patient_name, sex, age, id_number, inpatient_no,
              institution, department, admission_date, discharge_date,
              main_diagnosis, main_operation, review_type, phone?, address?,
              family?: [{"relation": "丈夫", "name": …}]},
     "documents": [{"doc_id": "d01", "type": "入院记录", "title": "入院记录",
                    "date": "2025-03-02", "file": "d01.pdf"}]}

Messages name the case folder and document id, never the patient.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from core.archive.base import ArchiveCase, ArchiveSource, CaseFilter, Manifest, ManifestDocument
from core.errors import InputError
from core.models import CaseMeta

MANIFEST = "manifest.json"


def _bad(key: str, zh: str, en: str) -> InputError:
    return InputError(f"病例文件夹 {key} 的清单无效：{zh}", f"manifest of case folder {key} is invalid: {en}")


def parse_manifest(key: str, raw: bytes) -> Manifest:
    """Validate and parse manifest JSON bytes (raises InputError with the reason)."""
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", "?")
        raise _bad(key, f"不是合法的 JSON（第 {line} 行）", f"not valid JSON (line {line})") from None
    if not isinstance(data, dict):
        raise _bad(key, "顶层必须是对象", "top level must be an object")
    case = data.get("case")
    if not isinstance(case, dict):
        raise _bad(key, "缺少 case 对象", "missing 'case' object")
    if not str(case.get("case_id") or "").strip():
        raise _bad(key, "缺少 case_id", "missing case.case_id")
    docs = data.get("documents")
    if not isinstance(docs, list) or not docs:
        raise _bad(key, "documents 必须是非空列表", "'documents' must be a non-empty list")
    seen: set[str] = set()
    out: list[ManifestDocument] = []
    for i, d in enumerate(docs):
        if not isinstance(d, dict):
            raise _bad(key, f"第 {i + 1} 个文档不是对象", f"document #{i + 1} is not an object")
        doc_id = str(d.get("doc_id") or "").strip()
        file = str(d.get("file") or "").strip()
        if not doc_id or not file:
            raise _bad(
                key, f"第 {i + 1} 个文档缺少 doc_id 或 file", f"document #{i + 1} lacks doc_id or file"
            )
        if doc_id in seen:
            raise _bad(key, f"文档编号 {doc_id} 重复", f"duplicate doc_id {doc_id}")
        if Path(file).is_absolute() or ".." in Path(file).parts:
            raise _bad(
                key,
                f"文档 {doc_id} 的文件路径不允许越出病例文件夹",
                f"file of {doc_id} escapes the case folder",
            )
        seen.add(doc_id)
        out.append(
            ManifestDocument(
                doc_id,
                str(d.get("type") or ""),
                str(d.get("title") or d.get("type") or ""),
                str(d.get("date") or ""),
                file,
            )
        )
    meta = CaseMeta.from_dict(case)
    review_type = str(meta.extra.get("review_type") or "")
    return Manifest(key=key, meta=meta, review_type=review_type, documents=out)


class FolderArchive(ArchiveSource):
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.problems: list[str] = []

    def _folder(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key in (".", ".."):
            raise InputError("病例文件夹名无效", "invalid case folder name")
        return self.root / key

    def list_cases(self, flt: Optional[CaseFilter] = None) -> list[ArchiveCase]:
        flt = flt or CaseFilter()
        self.problems = []
        if not self.root.is_dir():
            raise InputError(f"找不到病例档案目录：{self.root}", f"archive folder not found: {self.root}")
        out = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if not (folder / MANIFEST).is_file():
                continue
            try:
                summary = self.read_manifest(folder.name).summary()
            except InputError as exc:
                self.problems.append(exc.message)
                continue
            if flt.matches(summary.department, summary.discharge_date, summary.review_type, summary.case_id):
                out.append(summary)
        return out

    def read_manifest(self, key: str) -> Manifest:
        path = self._folder(key) / MANIFEST
        if not path.is_file():
            raise InputError(
                f"病例文件夹 {key} 中没有 manifest.json", f"case folder {key} has no manifest.json"
            )
        return parse_manifest(key, path.read_bytes())

    def open_document(self, key: str, doc: ManifestDocument) -> bytes:
        path = self._folder(key) / doc.file
        if not path.is_file():
            raise InputError(
                f"病例文件夹 {key} 缺少文档 {doc.doc_id} 的文件 {doc.file}",
                f"case folder {key} is missing the file {doc.file} of document {doc.doc_id}",
            )
        return path.read_bytes()
