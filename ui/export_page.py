"""导出: build the merged, redacted, verified PDF of an approved case with the
export engine (``core.export.from_store``), show the verification, offer the download."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core import display
from core.cases import review
from core.errors import DeidError, LeakError
from core.store import documents as doc_store
from ui.auth import get_db, require_user
from ui.common import flash, imported_case_picker, set_flash

RESULT_KEY = "export_result"


def render() -> None:
    user = require_user(page="导出")
    db = get_db()
    st.title("导出")
    flash("export_flash")
    case_id = imported_case_picker(db, key="export_case")
    if not case_id:
        st.info("还没有导入的病例。")
        return
    from core.cases import workflow

    status = workflow.display_name(workflow.status_of(db, case_id))
    st.caption(f"病例状态：{status}（只有「已批准」或「已导出」的病例可以导出）")
    _key_notice()
    docs = doc_store.list_documents(db, case_id, included_only=True)
    st.markdown("**将导出的文档（病案目录顺序）**：" + "、".join(d["type"] or d["title"] for d in docs))
    with st.form("export_form"):
        c1, c2 = st.columns(2)
        policy = c1.selectbox(
            "策略",
            ["review", "research"],
            key="ex_policy",
            format_func={"review": "评审（隐藏标识符）", "research": "科研（另做泛化）"}.get,
        )
        style = c2.selectbox(
            "遮盖样式",
            ["", "black", "label"],
            key="ex_style",
            format_func={"": "按策略默认", "black": "黑框", "label": "角色标签（[患者]、[医师A]…）"}.get,
        )
        c3, c4, c5 = st.columns(3)
        watermark = c3.checkbox("水印", value=True, key="ex_watermark")
        cover = c4.checkbox("封面", value=True, key="ex_cover")
        flatten = c5.checkbox("全部转为图像（flatten）", value=False, key="ex_flatten")
        password = st.text_input("打开密码（可选，AES-256）", type="password", key="ex_password")
        go = st.form_submit_button("导出", type="primary")
    if go:
        _export(db, user, case_id, policy, style, watermark, cover, flatten, password)
    _show_result(case_id)
    _history(db, user, case_id)


SIGNER_ZH = {
    "neutral": "中立签名身份（匿名化导出服务）",
    "institution": "本院证书（PDF 中显示机构）",
    "off": "不签 PDF，只签名清单",
    "invalid": "配置无效",
}


def _key_notice() -> None:
    """Say which keys an export will be signed with: demo keys (demo mode), or that keys are missing."""
    from core.export import signing

    keys = signing.key_status()
    if keys["demo_mode"]:
        st.warning(
            "演示模式（DEID_DEMO=1）：未配置的签名证书和 SM2 密钥会自动生成，导出文件使用演示密钥签名，"
            "封面和清单会注明，不能作为正式报送文件。"
        )
    elif not keys["ready"]:
        st.error(
            "未配置本院的导出签名密钥（或仍是演示密钥）：配置 DEID_SIGN_CERT / DEID_SIGN_KEY 和 "
            "DEID_SM2_KEY 之前不能导出（见帮助与 README「密钥与证书」）。"
        )
    st.caption(f"PDF 签名：{SIGNER_ZH.get(keys['signer'], keys['signer'])}")


def _export(db, user, case_id, policy, style, watermark, cover, flatten, password) -> None:
    from core.export.from_store import export_from_store
    from core.export.options import ExportOptions

    options = ExportOptions(
        policy=policy,
        style=style,
        watermark="default" if watermark else "",
        cover=cover,
        flatten=flatten,
        password=password,
    )
    bar = st.progress(0.0, text="导出中…")

    stage_zh = {"redact": "涂黑", "assemble": "合并", "verify": "校验", "sign": "签名"}

    def progress(stage, done=0, total=0):
        frac = (done / total) if total else 0.0
        bar.progress(min(max(frac, 0.0), 1.0), text=f"{stage_zh.get(stage, stage)} {done}/{total or '?'}")

    try:
        export_id, result = export_from_store(db, case_id, user, options, progress=progress)
    except LeakError as err:
        from core.export.check import describe_leaks

        report = getattr(err, "report", {"leaks": err.leaks})
        st.error("校验发现仍可读的标识符，已阻止导出：" + describe_leaks(report))
        return
    except DeidError as exc:
        st.error(exc.message_zh)
        return
    finally:
        bar.empty()
    st.session_state[RESULT_KEY] = {
        "case": case_id,
        "export_id": export_id,
        "file_name": result.file_name,
        "pdf": result.pdf,
        "manifest": result.manifest,
        "verify": result.verify,
        "counts": result.counts,
        "pages": result.page_count,
        "code": result.code,
    }
    set_flash(f"导出完成：{result.file_name}", key="export_flash")
    st.rerun()


def _show_result(case_id) -> None:
    res = st.session_state.get(RESULT_KEY)
    if not res or res["case"] != case_id:
        return
    verify = res["verify"] or {}
    if verify.get("ok"):
        st.success(f"校验通过：未发现残留标识符（{res['pages']} 页，病例代码 {res['code']}）")
    else:
        st.warning("校验未通过，请检查。")
    if res["counts"]:
        st.dataframe(
            pd.DataFrame([{"类别": review.category_label(k), "数量": v} for k, v in res["counts"].items()]),
            hide_index=True,
        )
    c1, c2 = st.columns(2)
    c1.download_button(
        "下载匿名化 PDF",
        res["pdf"],
        file_name=res["file_name"],
        mime="application/pdf",
        key="dl_pdf",
        type="primary",
    )
    c2.download_button(
        "下载清单（manifest.json）",
        json.dumps(res["manifest"], ensure_ascii=False, indent=2),
        file_name=res["file_name"].rsplit(".", 1)[0] + ".manifest.json",
        mime="application/json",
        key="dl_manifest",
    )
    with st.expander("校验报告"):
        st.dataframe(pd.DataFrame(display.verify_rows(verify)), hide_index=True, width="stretch")


def _history(db, user, case_id) -> None:
    try:
        from core.export.store import list_exports
    except ImportError:
        return
    rows = list_exports(db, case_id)
    if not rows:
        return
    st.markdown("**导出记录**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "编号": r["id"],
                    "策略": display.name("policies", r["policy"]),
                    "样式": display.name("styles", r["style"]),
                    "页数": r["page_count"],
                    "SHA-256": (r["sha256"] or "")[:16] + "…",
                    "校验": "通过" if r["verify_ok"] else "未通过",
                    "状态": display.name("export_status", r["status"]),
                    "操作人": r["actor"],
                }
                for r in rows
            ]
        ),
        hide_index=True,
    )
