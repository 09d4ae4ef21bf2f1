"""Chinese display names for codes a clerk would otherwise see (categories,
detectors, statuses, the verification report), from
``core/rules/display_names.yaml`` and ``core/rules/categories.yaml``."""

from __future__ import annotations

from core.rules import load_rules


def _names(section: str) -> dict:
    return load_rules("display_names").get(section) or {}


def name(section: str, code) -> str:
    """Display name of ``code`` in ``section`` (the code itself when not listed)."""
    code = "" if code is None else str(code)
    return str(_names(section).get(code, code))


def detector_name(detector: str | None, source: str | None = None) -> str:
    return name("detectors", "manual" if source == "manual" else detector)


def category_name(category: str) -> str:
    return str((load_rules("categories").get(category) or {}).get("zh", category))


def category_color(category: str) -> str:
    return str((load_rules("categories").get(category) or {}).get("color", "#000000"))


def category_counts_text(counts: dict[str, int]) -> str:
    """``患者姓名 3，地址 2`` — most first."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return "，".join(f"{category_name(k)} {v}" for k, v in ordered)


def verify_rows(report: dict) -> list[dict]:
    """The verification report as short (项目, 结果) rows."""
    rows = []
    for key in _names("verify_fields"):
        if key not in report or key == "identifiers":
            continue
        value = report[key]
        if key == "ok":
            value = "通过：未发现残留标识符" if value else "未通过"
        elif key == "leaks":
            value = f"{len(value)} 处" if value else "无"
        elif key == "ocr_mode":
            value = name("ocr_modes", value)
        elif key == "seconds":
            value = f"{float(value):.1f}"
        elif isinstance(value, (list, dict)):
            value = str(len(value))
        rows.append({"项目": name("verify_fields", key), "结果": str(value)})
    return rows
