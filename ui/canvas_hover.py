"""Hover labels for the review canvas.

Box labels are not painted on the page (they covered the values being
checked); hovering a box shows its label as the canvas's tooltip instead.
A tiny inline component (no file, nothing fetched) keeps the current boxes
in the browser and sets the ``title`` of the drawing canvas under the
pointer to the label of the innermost box there.
"""

from __future__ import annotations

import streamlit as st

_JS = """
export default function(component) {
  const { data } = component;
  window.__deidHover = data || { boxes: [], width: 0 };
  if (window.__deidHoverInstalled) { return; }
  window.__deidHoverInstalled = true;
  document.addEventListener("mousemove", (e) => {
    const el = e.composedPath()[0];
    if (!el || el.tagName !== "CANVAS" || !el.classList.contains("upper-canvas")) { return; }
    const held = window.__deidHover || { boxes: [], width: 0 };
    const rect = el.getBoundingClientRect();
    if (!rect.width || !held.width) { return; }
    const k = held.width / rect.width;
    const x = (e.clientX - rect.left) * k, y = (e.clientY - rect.top) * k;
    const hit = (held.boxes || []).find((b) => x >= b.l - 2 && x <= b.r + 2 && y >= b.t - 2 && y <= b.b + 2);
    const text = hit ? hit.text : "";
    if (el.title !== text) { el.title = text; }
  }, { passive: true });
}
"""

_component = None


def _get():
    global _component
    if _component is None:
        _component = st.components.v2.component("deid_canvas_hover", js=_JS)
    return _component


def hover_labels(boxes: list[dict], width: int, key: str = "canvas_hover") -> None:
    """Tooltips for ``boxes`` (``review.canvas_hover_boxes``) on a canvas ``width`` pixels wide."""
    _get()(data={"boxes": boxes, "width": width}, key=key)
