"""Page images for components that take a URL, served the way ``st.image`` serves images.

A decrypted page image shows patient identifiers: it is never written to disk
nor to a static folder.  Streamlit's in-memory media file manager holds it for
this browser session only, under an unguessable content-hash URL
(``/media/<sha224>.png``), and drops it once no run of the session shows it
any more.  A component then receives a short URL instead of the image as a
``data:`` URL of some 300 KB on every script run.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st


def _mimetype(image: bytes) -> str:
    if image.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if image.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    raise ValueError("not a PNG or JPEG image")


def served_image_url(image: bytes, slot: str) -> str | bytes:
    """An absolute URL of ``image`` on this app's own host (the canvas component takes
    http(s) URLs only), held at ``slot``: the next image at the same slot replaces it.

    Without a browser URL (no running server) the bytes come back unchanged, for the
    component to inline."""
    from streamlit import config
    from streamlit.runtime import Runtime

    page_url = st.context.url
    if not page_url or not Runtime.exists():
        return image
    parts = urlsplit(page_url)
    if parts.scheme not in ("http", "https"):
        return image
    path = Runtime.instance().media_file_mgr.add(image, _mimetype(image), f"deid-{slot}")
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""
    return f"{parts.scheme}://{parts.netloc}{prefix}/{path.lstrip('/')}"
