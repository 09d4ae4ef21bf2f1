"""页面审阅: documents in catalog order, page thumbnails, the page with its
boxes on a drawable canvas, decisions per finding, preview of the export."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from core.security import audit
from core import display
from core.cases import review
from core.security.auth import authorize
from core.errors import DeidError
from core.models import Category
from core.store import documents as doc_store
from ui.auth import get_db, require_user, still_signed_in
from ui import redaction_pane
from ui.common import flash, imported_case_picker, set_flash
from ui.media import served_image_url

PAGE_KEY = "review_page_id"
EDITABLE = [c.value for c in Category if c not in (Category.AGE, Category.DATE)]
# Keyboard keys (Streamlit button shortcuts; "R" and "C" are Streamlit's own).
THUMB_WIDTH = 48  # px: six thumbnails in one row of the side column
KEY_PREV, KEY_NEXT, KEY_ACCEPT, KEY_REJECT, KEY_NEXT_OPEN = "PageUp", "PageDown", "A", "X", "N"


def render() -> None:
    user = require_user(page="页面审阅")
    db = get_db()
    st.title("页面审阅")
    with st.container():  # always there: a message appearing must not shift (and remount) the canvas below
        flash("review_flash")
    case_id = imported_case_picker(db, key="review_case")
    if not case_id:
        st.info("还没有导入的病例。请先在「病例列表」中导入。")
        return
    if st.session_state.get("review_viewed_case") != case_id:
        audit.record(db, user["username"], "case.view", case_id=case_id)
        st.session_state["review_viewed_case"] = case_id
        st.session_state.pop(PAGE_KEY, None)
    can_edit = authorize(user, "box.add")
    if can_edit and not review.case_editable(db, case_id):
        can_edit = False
        st.warning("此病例已提交审核（待审核），页面只读：审核期间不能修改框或文档。如需修改，请审核人退回。")
    from core.store import jobs as job_store

    running = job_store.active(db, case_id)
    if running:
        st.info(
            f"后台任务进行中（{running['step'] or running['kind']} {running['progress_done']}/{running['progress_total']}），"
            "检测完成前的页面可能还没有全部自动框。"
        )
    _documents(db, user, case_id, can_edit)
    _page_tools(case_id, can_edit)
    _review(db, user, case_id, can_edit)
    _page_actions(db, user, can_edit)
    redaction_pane.render(db, user, case_id, _focus(st.session_state.get(PAGE_KEY)), can_edit, _go)


@st.fragment
def _review(db, user, case_id, can_edit) -> None:
    """Navigation and the page.  A fragment: a page switch (下一页, PageDown, a
    thumbnail, 转到页面) reruns only this part, not the title, the case picker,
    the document list (sidebar) and the case-wide pane below (a table of every
    box of the case)."""
    if not still_signed_in(user):
        st.rerun()  # logged out elsewhere, idle or disabled: the page's guard shows the login form
    side, main = st.columns([1, 3.2])
    pages = review.pages(db, case_id)
    with side:
        _progress(db, case_id, pages)
    if not pages:
        with main:
            st.info("没有纳入导出的页面（请在侧栏「文档」中勾选）。")
        return
    page = _current_page(db, user, case_id, pages)
    with side:
        _navigation(db, case_id, pages, page)
    with main:
        _page_view(db, user, case_id, pages, page, can_edit)


# ---- documents -----------------------------------------------------------------


def _progress(db, case_id, pages) -> None:
    summary = review.progress_summary(db, case_id, pages)
    st.caption(
        f"已查看 {summary['viewed']}/{summary['pages']} 页 · 待确认框 {summary['open_findings']} 个"
        + (f" · 检测失败 {summary['failed_pages']} 页" if summary["failed_pages"] else "")
    )


def _documents(db, user, case_id, can_edit) -> None:
    """In the sidebar, outside the page fragment: a page switch does not redraw a checkbox per
    document; ticking one reruns the page (the pages, the navigation and the pane change)."""
    with st.sidebar:
        st.markdown("**文档（病案目录顺序）**")
        st.caption("勾选 = 纳入导出")
        for doc in doc_store.list_documents(db, case_id):
            label = f"{doc['type'] or doc['title']} · {doc['date']} · {doc['page_count']} 页"
            st.checkbox(
                label,
                value=bool(doc["included"]),
                key=f"inc_{doc['id']}",
                disabled=not can_edit,
                on_change=_toggle_document,
                args=(user, doc["id"]),
            )


def _toggle_document(user, document_id) -> None:
    db = get_db()
    try:
        review.set_document_included(db, user, document_id, st.session_state[f"inc_{document_id}"])
    except DeidError as exc:
        st.session_state["review_flash"] = ("error", exc.message_zh)


# ---- navigation ------------------------------------------------------------------


def _page_label(p: dict) -> str:
    mark = "✓" if p["viewed"] else "●"
    warn = " ⚠" if p["detect_status"] == "failed" else ""
    hidden = " ■整页隐藏" if p.get("hide_reason") else ""
    return f"{mark} {p['doc_type'] or p['doc_id']} 第{p['page_index'] + 1}页{warn}{hidden}"


def _current_page(db, user, case_id, pages) -> dict:
    ids = [p["id"] for p in pages]
    current = st.session_state.get(PAGE_KEY)
    if current not in ids:  # a new tab, a reload, another case: reopen where this user left the case
        last = review.last_place(db, user, case_id)
        current = last if last in ids else ids[0]
        _go(current)
    page = pages[ids.index(current)]
    if st.session_state.get("review_opened") != current:
        review.open_page(db, user, current)  # also this user's place in the case
        st.session_state["review_opened"] = current
        page = dict(page, viewed=1)
    return page


def _go(page_id: int, focus: int | None = None) -> None:
    st.session_state[PAGE_KEY] = page_id
    st.session_state["review_focus"] = focus
    if focus is not None:
        st.session_state[f"pick_{page_id}"] = focus  # the box list below the page selects it too
    st.session_state["review_switch_at"] = time.perf_counter()


def _focus(page_id: int | None) -> int | None:
    """The box in focus on this page: the one picked in the box list, else the one jumped to."""
    return st.session_state.get(f"pick_{page_id}", st.session_state.get("review_focus"))


def _navigation(db, case_id, pages, page) -> None:
    """Buttons change the page in their on_click callback: one script run per switch."""
    ids = [p["id"] for p in pages]
    i = ids.index(page["id"])
    st.markdown(f"**页面 {i + 1} / {len(pages)}**")
    st.button(
        "◀ 上一页",
        key="prev_page",
        disabled=i == 0,
        width="stretch",
        on_click=_go,
        args=(ids[max(i - 1, 0)],),
        shortcut=KEY_PREV,
    )
    st.button(
        "下一页 ▶",
        key="next_page",
        disabled=i == len(ids) - 1,
        width="stretch",
        on_click=_go,
        args=(ids[min(i + 1, len(ids) - 1)],),
        shortcut=KEY_NEXT,
    )
    st.button(
        "跳到下一待确认框",
        key="next_open",
        width="stretch",
        on_click=_go_next_open,
        args=(case_id, page["id"]),
        shortcut=KEY_NEXT_OPEN,
    )
    labels = {p["id"]: _page_label(p) for p in pages}
    st.session_state["jump_page"] = page["id"]
    st.selectbox(
        "转到页面（● 未查看，✓ 已查看）",
        ids,
        format_func=labels.get,
        key="jump_page",
        on_change=lambda: _go(st.session_state["jump_page"]),
    )
    _thumbnails(db, pages, i)


def _jumps(case_id, cols) -> None:
    """跳到下一未查看页 and 跳到下一低置信度框: outside the page fragment (a page switch does not
    redraw them); they start from the page shown when clicked (``PAGE_KEY``)."""
    cols[0].button(
        "跳到下一未查看页", key="next_unviewed", width="stretch", on_click=_go_unviewed, args=(case_id,)
    )
    cols[1].button("跳到下一低置信度框", key="next_low", width="stretch", on_click=_go_low, args=(case_id,))


def _go_unviewed(case_id) -> None:
    page_id = _shown_page_id()
    if page_id is None:
        return
    target = review.next_unreviewed(get_db(), case_id, page_id)
    if target is None:
        st.session_state["review_flash"] = ("info", "所有页面都已查看。")
    else:
        _go(target)


def _go_next_open(case_id, page_id) -> None:
    hit = review.next_open(get_db(), case_id, page_id, st.session_state.get(f"pick_{page_id}"))
    if hit is None:
        st.session_state["review_flash"] = ("info", "没有待确认的框。")
    else:
        _go(hit[0], focus=hit[1])


def _go_low(case_id) -> None:
    page_id = _shown_page_id()
    if page_id is None:
        return
    hit = review.next_low_confidence(get_db(), case_id, page_id)
    if hit is None:
        st.session_state["review_flash"] = ("info", "没有待确认的低置信度框。")
    else:
        _go(hit[0], focus=hit[1])


THUMBS = 6


def _thumbnails(db, pages, i) -> None:
    """The six pages of this page's block of six: one image of the six and one row of page buttons
    (two elements, not a column, an image and a button per page).  The image stays the same while
    下一页 moves through its block, so a page switch does not fetch and redraw it."""
    lo = max(0, min(i // THUMBS * THUMBS, len(pages) - THUMBS))
    strip = pages[lo : lo + THUMBS]
    st.image(_strip_png(db, tuple(p["id"] for p in strip)))
    marks = {
        p["id"]: f"{'✓' if p['viewed'] or n + lo == i else '●'}{lo + n + 1}" for n, p in enumerate(strip)
    }
    st.session_state["thumb_pick"] = pages[i]["id"]
    st.segmented_control(
        "缩略图",
        list(marks),
        format_func=marks.get,
        key="thumb_pick",
        label_visibility="collapsed",
        on_change=lambda: _go(st.session_state["thumb_pick"] or pages[i]["id"]),
    )


THUMB_GAP = 4  # px between two thumbnails of the strip


def _strip_png(db, page_ids: tuple[int, ...]) -> bytes:
    """One image of the block's thumbnails side by side, at their shown width: one element and
    one image for the browser to draw, made once per block and browser session (in memory only,
    like the renders), so a page switch neither resizes nor re-encodes six images."""
    held = st.session_state.get("thumb_strip")
    if held and held[0] == page_ids:
        return held[1]
    from PIL import Image
    import io

    thumbs = []
    for page_id in page_ids:
        with Image.open(io.BytesIO(review.thumbnail_png(db, page_id))) as img:
            h = max(1, round(img.height * THUMB_WIDTH / img.width))
            thumbs.append(img.convert("RGB").resize((THUMB_WIDTH, h), Image.Resampling.BILINEAR))
    width = len(thumbs) * THUMB_WIDTH + (len(thumbs) - 1) * THUMB_GAP
    strip = Image.new("RGB", (width, max(t.height for t in thumbs)), "white")
    for n, thumb in enumerate(thumbs):
        strip.paste(thumb, (n * (THUMB_WIDTH + THUMB_GAP), 0))
    out = io.BytesIO()
    strip.save(out, format="PNG")
    st.session_state["thumb_strip"] = (page_ids, out.getvalue())
    return out.getvalue()


# ---- the page ------------------------------------------------------------------------


@st.fragment
def _page_view(db, user, case_id, pages, page, can_edit) -> None:
    """The page, its canvas and its boxes.  A fragment: what the canvas reports
    on its own (its background fit once the image is drawn, each drawing) reruns
    only this part, not the navigation, thumbnails and case-wide pane."""
    t0 = time.perf_counter()
    if not still_signed_in(user):
        st.rerun()
    zoom = st.session_state.get("zoom", 100)
    preview = st.session_state.get("preview", False)
    st.caption(
        f"{page['doc_type']} · 第 {page['page_index'] + 1} 页" + (" · 扫描页" if page["scanned"] else "")
    )
    if page["detect_status"] == "failed":
        st.warning(
            f"此页自动检测失败：预览与导出中此页整页移除（失败关闭），请重新检测。（{page['detect_error']}）"
        )
    _duplicates(db, user, pages, page, can_edit)
    _hidden_note(db, page)
    findings = review.findings_view(db, page["id"])
    if preview:
        png, info = review.preview_png(db, user, page["id"])
        st.image(png, width=int(_render_width(page) * zoom / 100))
        st.caption(
            ("预览：整页隐藏" if info.get("hidden") else f"预览：已涂黑 {info['boxes']} 处")
            + ("" if info["ok"] else " · 校验发现残留，请检查")
        )
        _findings_panel(db, user, page, findings, can_edit)
    else:
        # the canvas is drawn last, into its place above the box table: it reports its new drawing
        # back as soon as it has it (a rerun of the canvas alone), and that rerun then follows this
        # run instead of holding it up
        slot = st.container()
        _findings_panel(db, user, page, findings, can_edit)
        with slot:
            _canvas(db, user, page, findings, zoom, can_edit)
    switch = st.session_state.pop("review_switch_at", None)
    st.caption(
        f"页面渲染 {(time.perf_counter() - t0) * 1000:.0f} ms"
        + (f" · 切换耗时 {(time.perf_counter() - switch) * 1000:.0f} ms" if switch else "")
    )


def _duplicates(db, user, pages, page, can_edit) -> None:
    """「与第 N 页重复」: the pages this page repeats (or that repeat it), found at detection."""
    from core.cases import duplicates

    twins = duplicates.duplicates_of(db, page["id"])
    if not twins:
        return
    position = {p["id"]: i for i, p in enumerate(pages)}
    for twin in twins:
        other = twin["other"]
        if other in position:
            name = f"第 {position[other] + 1} 页"
        else:
            o = doc_store.get_page(db, other)
            name = f"{o['doc_type'] or o['doc_id']} 第 {o['page_index'] + 1} 页（未纳入导出）"
        how = "文字相同" if twin["method"] == "text" else "图像相同"
        cols = st.columns([2.2, 1, 1.6]) if can_edit else st.columns([2.2, 1])
        cols[0].warning(f"与{name}重复（{how}）：同一份报告可能被扫描或归档了两次。")
        # inside the page fragment: a page switch or a change reruns the whole app (st.rerun)
        if other in position and cols[1].button(f"转到{name}", key=f"dup_go_{other}"):
            _go(other)
            st.rerun()
        if can_edit and cols[2].button(
            f"把{name}的决定应用到本页",
            key=f"dup_apply_{other}",
            help="按类别和相对位置匹配框：接受/拒绝照搬，对方已涂黑而本页没有的框在本页补画。",
        ):
            _apply_duplicate(db, user, other, page["id"])


def _apply_duplicate(db, user, source_page_id, target_page_id) -> None:
    from core.cases import duplicates

    try:
        counts = duplicates.apply_decisions(db, user, source_page_id, target_page_id)
    except (DeidError, ValueError) as exc:
        st.error(getattr(exc, "message_zh", "这两页不是重复页，不能照搬决定。"))
        return
    msg = f"已应用：{counts['decided']} 个框照搬决定，补画 {counts['added']} 个框"
    if counts["unmatched_rejected"]:
        msg += f"；{counts['unmatched_rejected']} 个已拒绝的框在本页没有对应框"
    _done(msg)


def _hidden_note(db, page) -> None:
    reasons = review.page_hide_reasons()
    current = doc_store.get_page(db, page["id"]).get("hide_reason") or ""
    if current:
        st.warning(
            f"本页已整页隐藏（{reasons.get(current, current)}）：导出时整页为黑色，"
            f"只显示「整页隐藏：{reasons.get(current, current)}」。"
        )


# ---- controls outside the page fragment: a page switch does not redraw them ------------------


def _page_tools(case_id, can_edit) -> None:
    """Zoom, preview, the new box's category and reason, and the jumps: the same for every page, so
    they sit above the page fragment (a change reruns the page; the fragment reads them from the
    session)."""
    widths = [1.2, 1, 1, 1.6, 1, 1] if can_edit else [1.2, 1, 1, 1, 1.6]
    cols = st.columns(widths, vertical_alignment="bottom")
    _jumps(case_id, cols[4:] if can_edit else cols[2:4])
    cols[0].select_slider(
        "缩放", options=[50, 75, 100, 125, 150, 200], value=100, key="zoom", format_func=lambda z: f"{z}%"
    )
    cols[1].toggle("预览导出效果", key="preview", help="显示按当前框真正涂黑后的页面（与导出一致）")
    if can_edit:
        cols[2].selectbox(
            "新框类别",
            EDITABLE,
            index=EDITABLE.index("manual"),
            key="new_cat",
            format_func=review.category_label,
        )
        cols[3].text_input("新框原因（可选）", key="new_reason", placeholder="例如：手写签名、家属姓名")


def _page_actions(db, user, can_edit) -> None:
    """整页隐藏 and 按坐标添加框, below the page: rarely used, they act on the page shown
    (``PAGE_KEY``) when clicked, so they need not be redrawn with every page switch."""
    if not can_edit:
        return
    _whole_page(db, user)
    _add_by_coordinates(db, user)


def _shown_page_id() -> int | None:
    return st.session_state.get(PAGE_KEY)


def _whole_page(db, user) -> None:
    """整页隐藏: a page such as an ID-card copy or a photo page hidden whole, with a reason."""
    reasons = review.page_hide_reasons()
    with st.expander("整页隐藏（身份证复印件、照片页等）"):
        c1, c2, c3 = st.columns([2, 1, 1])
        codes = list(reasons)
        code = c1.selectbox("原因", codes, format_func=reasons.get, key="hide_reason")
        try:
            if c2.button("整页隐藏本页", key="hide_page") and _shown_page_id():
                review.hide_page(db, user, _shown_page_id(), code)
                _done(f"已整页隐藏本页（{reasons[code]}）")
            if c3.button("取消整页隐藏", key="unhide_page") and _shown_page_id():
                if not doc_store.get_page(db, _shown_page_id()).get("hide_reason"):
                    _done("本页没有整页隐藏")
                review.hide_page(db, user, _shown_page_id(), "")
                _done("已取消整页隐藏，本页按框涂黑")
        except DeidError as exc:
            st.error(exc.message_zh)


def _add_by_coordinates(db, user) -> None:
    with st.expander("按坐标添加框（像素，100% 缩放）"):
        k1, k2, k3, k4 = st.columns(4)
        x0 = k1.number_input("左", min_value=0, value=50, key="bx0")
        y0 = k2.number_input("上", min_value=0, value=50, key="by0")
        x1 = k3.number_input("右", min_value=0, value=200, key="bx1")
        y1 = k4.number_input("下", min_value=0, value=90, key="by1")
        if st.button("添加此框", key="add_box_xy") and _shown_page_id():
            try:
                review.add_box(
                    db,
                    user,
                    _shown_page_id(),
                    (x0, y0, x1, y1),
                    st.session_state.get("new_cat", "manual"),
                    st.session_state.get("new_reason", ""),
                )
                _done("已添加")
            except DeidError as exc:
                st.error(exc.message_zh)


# ---- the canvas ------------------------------------------------------------------------


def _render_width(page) -> float:
    w, h = (page["height"], page["width"]) if page["rotation"] % 180 else (page["width"], page["height"])
    return w * review.REVIEW_DPI / 72


@st.fragment
def _canvas(db, user, page, findings, zoom, can_edit) -> None:
    """The page image and its boxes on the drawable canvas.  A fragment of its own: the
    canvas reports the drawing it was given back after every page switch (and its
    background fit when the image size changes); such an echo reruns only the canvas, not the
    page view with its controls and box table."""
    from streamlit_drawable_canvas import st_canvas

    image = review.display_image(db, page["id"])
    width, height = _image_size(image, zoom / 100)
    scale = zoom / 100
    # outlines only: labels show in the box lists and as the tooltip of the box under the pointer
    drawing = review.canvas_drawing(findings, scale, _focus(page["id"]))
    from ui.canvas_hover import hover_labels

    hover_labels(review.canvas_hover_boxes(findings, scale), width)
    new_cat = st.session_state.get("new_cat", "manual") if can_edit else "manual"
    base = _drawing_digest(page["id"], drawing)
    drawing["objects"].append(_marker(base))
    result = st_canvas(
        fill_color="rgba(255, 0, 0, 0.08)",
        stroke_width=2,
        stroke_color=review.category_color(new_cat),
        background_image=served_image_url(image, "page_canvas"),
        background_image_fit="stretch",
        width=width,
        height=height,
        drawing_mode="labeled_rect",
        label="",
        initial_drawing=drawing,
        # One key per zoom, never per page or change: the component stays mounted.  A page switch
        # swaps its background image and drawing (no new canvas, no fit report and rerun); an action
        # redraws only the boxes over the same background.
        key=f"canvas_{zoom}",
        disabled=not can_edit,
        update_streamlit=True,
        font_size=12,
    )
    if (
        can_edit
        and result is not None
        and result.json_data is not None
        and _marker_of(result.json_data) == base
    ):
        _apply_canvas(db, user, page, findings, result.boxes, scale)


def _image_size(image: bytes, scale: float) -> tuple[int, int]:
    from PIL import Image
    import io

    with Image.open(io.BytesIO(image)) as img:  # reads the header only
        return int(img.width * scale), int(img.height * scale)


MARKER = "@drawing:"


def _drawing_digest(page_id: int, drawing: dict) -> str:
    """Names the page and its drawing: the canvas is shared by all pages, so a report of another
    page's drawing (equal boxes or none) never matches."""
    import hashlib
    import json

    text = json.dumps([page_id, drawing["objects"]], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _marker(digest: str) -> dict:
    """An invisible, locked object naming the drawing the canvas was given.

    The canvas keeps its state across reruns and pages (same key); until it has
    loaded a new drawing it still reports the old one.  A report is applied only when it
    grew from the drawing of this run (its marker matches): a stale report (a box
    already added, a box deleted or decided by a button) is never applied twice."""
    return {
        "type": "LabeledRect",
        "label": MARKER + digest,
        "left": 0,
        "top": 0,
        "width": 1,
        "height": 1,
        "originX": "left",
        "originY": "top",
        "scaleX": 1,
        "scaleY": 1,
        "angle": 0,
        "stroke": "rgba(0,0,0,0)",
        "strokeWidth": 0,
        "fill": "rgba(0,0,0,0)",
        "visible": False,
        "selectable": False,
        "evented": False,
        "lockMovementX": True,
        "lockMovementY": True,
        "lockScalingX": True,
        "lockScalingY": True,
        "lockRotation": True,
        "fontSize": 1,
    }


def _marker_of(json_data: dict) -> str | None:
    for obj in (json_data or {}).get("objects", []):
        label = obj.get("label") or ""
        if label.startswith(MARKER):
            return label[len(MARKER) :]
    return None


def _apply_canvas(db, user, page, findings, boxes, scale) -> None:
    """Turn what the canvas sends back into store changes (add / move / delete)."""
    added, moved, deleted = review.canvas_changes(findings, boxes, scale)
    try:
        for rect in added:
            review.add_box(
                db,
                user,
                page["id"],
                rect,
                st.session_state.get("new_cat", "manual"),
                st.session_state.get("new_reason", ""),
            )
        for finding_id, rect_index, rect in moved:
            review.move_box(db, user, finding_id, rect, rect_index)
        for finding_id in deleted:
            review.delete_box(db, user, finding_id)
    except DeidError as exc:
        st.error(exc.message_zh)
        return
    changed = len(added) + len(moved) + len(deleted)
    if changed:
        st.session_state["review_flash"] = ("success", f"已保存 {changed} 处修改")
        st.rerun()


def _findings_panel(db, user, page, findings, can_edit) -> None:
    st.markdown(f"**本页的框（{len(findings)}）**")
    if findings:
        frame = pd.DataFrame(
            [
                {
                    "编号": f["id"],
                    "类别": f["label"],
                    "内容（已遮蔽）": f["masked"],
                    "置信度": round(f["confidence"], 2),
                    "状态": display.name("finding_status", f["status"]),
                    "来源": display.detector_name(f["detector"], f["source"]),
                }
                for f in findings
            ]
        )
        st.dataframe(frame, hide_index=True, width="stretch", height=min(38 * (len(findings) + 1), 320))
    if not can_edit:
        st.caption("审核人只读查看；修改由整理人完成（待审核期间整理人也只能查看）。")
        return
    c0, c1, c2, c3, c4, c5 = st.columns([1.6, 0.8, 0.8, 0.8, 1.1, 1.1])
    ids = [f["id"] for f in findings]
    focus = st.session_state.get("review_focus")
    by_id = {f["id"]: f for f in findings}
    pick_key = f"pick_{page['id']}"
    if st.session_state.get(pick_key) not in ids:  # picked box deleted, or a jump named none
        st.session_state[pick_key] = focus if focus in ids else (ids[0] if ids else None)
    chosen = (
        c0.selectbox(
            "选择框",
            ids,
            key=pick_key,
            format_func=lambda i: f"#{i} {by_id[i]['label']} {by_id[i]['masked']}",
        )
        if ids
        else None
    )
    try:
        if c1.button("接受", key="f_accept", disabled=chosen is None, shortcut=KEY_ACCEPT):
            review.decide(db, user, chosen, True)
            _done("已接受")
        if c2.button("拒绝", key="f_reject", disabled=chosen is None, shortcut=KEY_REJECT):
            review.decide(db, user, chosen, False)
            _done("已拒绝（该处不涂黑）")
        if c3.button("删除", key="f_delete", disabled=chosen is None):
            review.delete_box(db, user, chosen)
            _done("已删除")
        if c4.button(
            "全案隐藏此文字", key="f_hide_all", disabled=chosen is None or not by_id[chosen]["has_text"]
        ):
            n = review.hide_everywhere(db, user, chosen)
            _done(f"已在全案隐藏 {n} 处")
        if c5.button("本页全部接受", key="f_accept_page"):
            n = review.accept_page(db, user, page["id"])
            _done(f"已接受 {n} 个框")
    except DeidError as exc:
        st.error(exc.message_zh)


def _done(message: str) -> None:
    set_flash(message, key="review_flash")
    st.rerun()
