"""The app's own look in place of Streamlit's English chrome.

- The tab icon is a file shipped with the app (``ui/assets/app_icon.png``),
  served by the app itself: a Material icon name would make the browser
  fetch the favicon from an internet font host.
- What cannot be hidden or configured (select placeholders, the canvas
  toolbar's tooltips, a few aria labels) is translated in the browser from
  ``ui/assets/chrome_zh.json`` by a small observer script (same-origin
  component frames included).
- Streamlit's toolbar, ⋮ menu, "Running… / Stop" status, "Made with
  Streamlit", input hints ("Press Enter to apply") and table toolbars are
  English and not needed by a clerk: hidden (``client.toolbarMode`` in
  ``.streamlit/config.toml`` removes the developer items; this CSS the rest).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
APP_ICON = str(ASSETS / "app_icon.png")
DATE_FORMAT = "YYYY/MM/DD"
CHOOSE = "请选择"

HIDDEN = (
    '[data-testid="stToolbar"]',
    '[data-testid="stMainMenu"]',
    '[data-testid="stStatusWidget"]',
    '[data-testid="stAppDeployButton"]',
    '[data-testid="stDecoration"]',
    '[data-testid="InputInstructions"]',
    '[data-testid="stElementToolbar"]',
    "footer",
)
CSS = "<style>" + ", ".join(HIDDEN) + " { display: none !important; }</style>"


TRANSLATE_JS = """
(() => {
  const zh = %s;
  const attrs = ['placeholder', 'title', 'aria-label'];
  const fix = (root) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const t = n.nodeValue.trim();
      if (t && zh[t]) n.nodeValue = n.nodeValue.replace(t, zh[t]);
    }
    for (const el of root.querySelectorAll('*')) {
      for (const a of attrs) {
        const v = el.getAttribute(a);
        if (v && zh[v.trim()]) el.setAttribute(a, zh[v.trim()]);
      }
      if (el.shadowRoot) watch(el.shadowRoot);  // components that isolate their styles
      if (el.tagName === 'IFRAME') {
        try { const d = el.contentDocument; if (d && d.body) watch(d.body); } catch (e) {}
      }
    }
  };
  const watch = (root) => {
    if (!root || root.__deidZh) return;
    root.__deidZh = true;
    let pending = false;
    const run = () => { pending = false; fix(root); };
    run();
    new MutationObserver(() => {
      if (!pending) { pending = true; requestAnimationFrame(run); }
    }).observe(root, {subtree: true, childList: true, attributes: true, characterData: true, attributeFilter: attrs});
  };
  watch(document.body);
})();
"""


@lru_cache(maxsize=1)
def translations() -> dict[str, str]:
    return json.loads((ASSETS / "chrome_zh.json").read_text(encoding="utf-8"))


def hide_english_chrome() -> None:
    import streamlit as st

    st.html(CSS)
    st.html(
        "<script>" + TRANSLATE_JS % json.dumps(translations(), ensure_ascii=False) + "</script>",
        unsafe_allow_javascript=True,
        width=1,
    )
