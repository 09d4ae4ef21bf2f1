"""帮助: how to use each page, what each category means, what to do on each error."""
from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from core import review
from ui.auth import require_user

USAGE = """
### 工作流程
1. **病例列表**：按科室、出院日期、评审类型、状态、病例编号筛选档案中的病例；点「导入并检测」（单个）或
   「导入全部符合条件的未导入病例」。导入与检测在后台进行，表格每秒刷新进度（已完成页数 / 总页数、当前步骤）；
   可「取消任务」（后台进程已停止、任务仍显示进行中时，再点一次即强制结束），失败后可「重新检测」（人工标注和审阅决定都会保留）。
2. **页面审阅**：左侧按病案目录顺序列出文档，取消勾选的文档不会导出。页面缩略图下「●」表示尚未查看，「✓」表示已查看。
   - 彩色方框是自动检测到的标识符，颜色代表类别（见下表）；灰色为已拒绝（不涂黑）。
   - 在画布上拖动即可**添加**方框（先在上方选择「新框类别」并填写原因）；打开画布工具栏中的编辑开关后可**移动 / 缩放 / 删除**方框。
   - 在「选择框」中选中一个框后可**接受**、**拒绝**、**删除**，或**全案隐藏此文字**（在本病例所有页面查找同一文字并涂黑）。
   - 「跳到下一未查看页」「跳到下一低置信度框」帮助逐页检查；「缩放」调整显示大小。
   - 打开「预览导出效果」显示真正涂黑后的页面（与导出文件一致，不是叠加层）。
   - 每一次操作都记录在审计日志中（谁、何时、哪一页、修改前后的方框位置）。
3. **提交与审核**：整理人提交，另一位审核人批准或退回（不能批准自己整理的病例）。
4. **导出**：已批准的病例生成一个合并的匿名化 PDF（按病案目录顺序），导出前自动重新打开文件检查所有已知标识符，
   校验通过后才可下载；同时生成带签名的清单文件。
"""

ERRORS = [
    ("不是 PDF 文件 / PDF 文件已损坏", "档案中的文件不是有效 PDF。请在来源系统重新导出该文档，再在病例列表中「重新导入」。"),
    ("PDF 已加密", "在来源系统中取消文档密码后重新导入。"),
    ("清单无效（manifest.json）", "病例文件夹的 manifest.json 格式错误或缺少字段（case_id、documents、file），请修正后重新导入；已导入的数据不受影响。"),
    ("缺少文档的文件", "manifest.json 列出的 PDF 不在病例文件夹中。补齐文件后重新导入；已导入的数据不受影响。"),
    ("某页检测失败", "该页标记为「⚠」，其余页面正常。请人工查看该页并手动添加方框，或稍后「重新检测」。"),
    ("校验发现仍可读的标识符，已阻止导出", "按提示的页码回到「页面审阅」补充方框（或使用「全案隐藏此文字」），重新提交审核后再导出。"),
    ("病例当前状态不能执行此操作", "导出需要已批准的病例；修改已批准病例后需重新审核。"),
    ("无权访问此页面 / 当前角色无权执行此操作", "请使用具有相应角色的账号登录，或联系管理员。"),
]


def category_legend_html(cats: dict) -> str:
    """Each category's Chinese name beside a swatch of its box colour."""
    items = "".join(
        f'<li style="list-style:none;margin:2px 0"><span style="display:inline-block;width:1.4em;height:0.9em;'
        f'border:2px solid {html.escape(v.get("color", "#000"))};background:{html.escape(v.get("color", "#000"))}33;'
        f'vertical-align:middle;margin-right:0.5em"></span>{html.escape(v.get("zh", k))}</li>'
        for k, v in cats.items())
    return f'<ul style="columns:3;padding:0">{items}</ul>'


def render() -> None:
    require_user()
    st.title("帮助")
    st.markdown(USAGE)
    st.markdown("### 方框类别")
    st.html(category_legend_html(review.categories()))
    st.markdown("### 常见错误与处理")
    st.dataframe(pd.DataFrame([{"提示": e, "处理方法": fix} for e, fix in ERRORS]), hide_index=True, width="stretch")
