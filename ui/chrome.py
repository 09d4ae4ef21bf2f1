"""The app's own look in place of Streamlit's English chrome.

- The tab icon is a file shipped with the app (``ui/assets/app_icon.png``),
  served by the app itself: a Material icon name would make the browser
  fetch the favicon from an internet font host.
- Streamlit's toolbar, ⋮ menu, "Running… / Stop" status, "Made with
  Streamlit", input hints ("Press Enter to apply") and table toolbars are
  English and not needed by a clerk: hidden (``client.toolbarMode`` in
  ``.streamlit/config.toml`` removes the developer items; this CSS the rest).
"""
from __future__ import annotations

from pathlib import Path

APP_ICON = str(Path(__file__).resolve().parent / "assets" / "app_icon.png")
DATE_FORMAT = "YYYY/MM/DD"
CHOOSE = "请选择"

HIDDEN = (
    '[data-testid="stToolbar"]', '[data-testid="stMainMenu"]', '[data-testid="stStatusWidget"]',
    '[data-testid="stAppDeployButton"]', '[data-testid="stDecoration"]', '[data-testid="InputInstructions"]',
    '[data-testid="stElementToolbar"]', 'footer',
)
CSS = "<style>" + ", ".join(HIDDEN) + " { display: none !important; }</style>"


def hide_english_chrome() -> None:
    import streamlit as st

    st.html(CSS)
