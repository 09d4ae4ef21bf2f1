"""The app's own HTTP routes for the login cookie (served next to Streamlit by
``st.App`` in app.py).  Streamlit's websocket cannot set cookies, so:

- ``POST /_deid/session/claim`` (body: the single-use code the login form
  handed to this browser) answers with ``Set-Cookie: deid_session=…;
  HttpOnly; SameSite=Strict; Path=/`` (``Secure`` under TLS);
- ``POST /_deid/session/logout`` revokes the cookie's session and deletes it.

Both refuse a cross-site request (an ``Origin`` that is not this host).
"""

from __future__ import annotations

from urllib.parse import urlsplit

CLAIM_PATH = "/_deid/session/claim"
LOGOUT_PATH = "/_deid/session/logout"


def _db():
    from core.store.db import open_db

    return open_db()


def _same_origin(request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def _secure() -> bool:
    from streamlit import config

    return bool(config.get_option("server.sslCertFile"))


async def _claim(request):
    from starlette.responses import Response

    from core.security import sessions

    if not _same_origin(request):
        return Response(status_code=403)
    code = (await request.body()).decode("ascii", "replace").strip()[:200]
    db = _db()
    try:
        value = sessions.claim(db, code)
    finally:
        db.conn.close()
    if value is None:
        return Response(status_code=403, headers={"Cache-Control": "no-store"})
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        sessions.COOKIE_NAME, value, httponly=True, samesite="strict", path="/", secure=_secure()
    )
    return response


async def _logout(request):
    from starlette.responses import Response

    from core.security import sessions

    if not _same_origin(request):
        return Response(status_code=403)
    db = _db()
    try:
        session_id = sessions.session_of_cookie(db, request.cookies.get(sessions.COOKIE_NAME))
        if session_id is not None:
            sessions.end(db, session_id, "logout")
    finally:
        db.conn.close()
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(sessions.COOKIE_NAME, path="/", httponly=True, samesite="strict", secure=_secure())
    return response


def session_routes() -> list:
    from starlette.routing import Route

    return [Route(CLAIM_PATH, _claim, methods=["POST"]), Route(LOGOUT_PATH, _logout, methods=["POST"])]
