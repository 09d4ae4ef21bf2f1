"""Accounts, passwords, login, lockout and the permission check.

- Passwords are stored as bcrypt hashes (cost ``DEID_BCRYPT_ROUNDS``, default 12).
- Password rule: length >= 10, at least three of four character classes
  (lower, upper, digit, symbol), must not contain the username.
- Lockout: 5 failed logins lock the account for 15 minutes.  The failure
  counter is incremented atomically (``BEGIN IMMEDIATE``) *before* the
  password is checked, so parallel guesses all count.
- One failure message for unknown, disabled, locked and wrong-password
  attempts, and bcrypt runs for each of them (no early answer).
- Per-client throttle: 20 failed logins from one client (the address the UI
  passes) within 15 minutes refuse that client for the rest of the window.
- Passwords longer than 72 bytes (bcrypt's limit) are refused with a message.
- ``authorize(user, action)`` / ``require(user, action)`` read the permission
  table ``core/rules/permissions.yaml``; every core action that changes or
  reveals data calls ``require`` (or is decorated with ``@requires``).

Functions that depend on time take ``now`` (epoch seconds) so tests can use
a fake clock.  Every account change and every login attempt is audited.
"""

from __future__ import annotations

import functools
import inspect
import os
import secrets
import string
import time
from typing import Callable, overload

import bcrypt

from core.security import audit
from core.crypto import sha256_hex
from core.errors import DeidError, NotFound, PermissionDenied
from core.masking import mask
from core.rules import load_rules
from core.store import accounts, audit_log
from core.store.tx import transaction

MAX_FAILED = 5
LOCK_SECONDS = 15 * 60
MIN_LENGTH = 10
MAX_PASSWORD_BYTES = 72  # bcrypt uses (and bcrypt 5 accepts) at most 72 bytes
CLIENT_MAX_FAILED = 20
CLIENT_WINDOW_SECONDS = 15 * 60
LOGIN_FAILED_ZH = "登录失败：用户名或密码错误，或账号已锁定、已停用。请稍后再试或联系管理员。"
LOGIN_FAILED_EN = "login failed: wrong username or password, or the account is locked or disabled"
TOO_LONG_ZH = f"密码过长：最多 {MAX_PASSWORD_BYTES} 字节（约 24 个汉字或 72 个字母数字）"
DEFAULT_IDLE_MINUTES = 30
SETTING_DEFAULTS = {"session_idle_minutes": "30", "audit_retention_days": "180"}
PUBLIC_FIELDS = (
    "id",
    "username",
    "display_name",
    "role",
    "must_change",
    "disabled",
    "created_at",
    "last_login_at",
    "locked_until",
)


class AuthError(DeidError):
    """Login refused (wrong credentials, locked, disabled)."""

    exit_code = 4


class PasswordRuleError(DeidError):
    exit_code = 2

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("密码不符合要求：" + "；".join(problems), "password does not meet the rule")


# ---------------------------------------------------------------- roles and permissions


def permissions() -> dict:
    return load_rules("permissions")


def page_roles(page: str) -> tuple[str, ...]:
    """The roles that may open ``page`` (``pages/<page>.py``); () = every logged-in user.
    A page missing from the table is refused to everybody (fail closed)."""
    table = permissions().get("pages", {})
    if page not in table:
        raise KeyError(f"page {page!r} has no roles in core/rules/permissions.yaml")
    return tuple(table[page] or ())


def roles() -> dict[str, str]:
    """Role code -> Chinese display name."""
    return {code: meta["zh"] for code, meta in permissions()["roles"].items()}


def role_name(role: str | None) -> str:
    return roles().get(role or "", role or "")


CASE_ACTION_PREFIXES = ("case.", "page.", "box.", "document.", "export.")
TWO_ADMIN_ROLE = "supervisor"  # granting or changing it needs a second admin when there is one


def case_roles() -> set[str]:
    """Roles that may touch case content (from the permission table)."""
    return {
        role
        for action, allowed in permissions()["actions"].items()
        if action.startswith(CASE_ACTION_PREFIXES)
        for role in (allowed or [])
    }


def authorize(user: dict | None, action: str) -> bool:
    if not user or user.get("disabled"):
        return False
    allowed = permissions()["actions"].get(action)
    return bool(allowed) and user.get("role") in allowed


def require(user: dict | None, action: str, db=None, *, case_id=None) -> dict:
    """Raise ``PermissionDenied`` unless ``user`` may do ``action``; return the user.

    With ``db`` the refusal is audited (``permission.denied``).
    """
    if user is not None and authorize(user, action):
        return user
    if db is not None:
        actor = (user or {}).get("username") or "(anonymous)"
        audit.record(db, actor, "permission.denied", case_id=case_id, detail={"action": action})
    raise PermissionDenied(
        f"当前角色无权执行此操作（{action}）",
        f"role {(user or {}).get('role') or 'anonymous'} may not do {action}",
    )


def requires(action: str) -> Callable:
    """Decorator: the wrapped function's ``user`` argument must be allowed ``action``.

    The ``db`` argument (when the function has one) is used to audit refusals.
    """

    def decorate(func):
        sig = inspect.signature(func)
        if "user" not in sig.parameters:
            raise TypeError(f"{func.__name__} needs a 'user' parameter to use @requires")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            bound = sig.bind_partial(*args, **kwargs)
            require(
                bound.arguments.get("user"),
                action,
                bound.arguments.get("db"),
                case_id=bound.arguments.get("case_id"),
            )
            return func(*args, **kwargs)

        wrapper.required_action = action
        return wrapper

    return decorate


# ---------------------------------------------------------------- passwords


def password_too_long(password: str | None) -> bool:
    return len((password or "").encode("utf-8")) > MAX_PASSWORD_BYTES


def password_problems(password: str, username: str = "") -> list[str]:
    problems = []
    if password_too_long(password):
        problems.append(TOO_LONG_ZH)
    if len(password or "") < MIN_LENGTH:
        problems.append(f"长度至少 {MIN_LENGTH} 位")
    classes = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if classes < 3:
        problems.append("至少包含大写字母、小写字母、数字、符号中的三类")
    if username and username.lower() in (password or "").lower():
        problems.append("不能包含用户名")
    return problems


def check_password_rule(password: str, username: str = "") -> None:
    problems = password_problems(password, username)
    if problems:
        raise PasswordRuleError(problems)


def generate_password(length: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits + "!#%+-=?@_"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if not password_problems(pw) and all(
            any(c in group for c in pw)
            for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#%+-=?@_")
        ):
            return pw


def _rounds() -> int:
    return max(4, min(16, int(os.environ.get("DEID_BCRYPT_ROUNDS", "12"))))


def hash_password(password: str) -> str:
    if password_too_long(password):
        raise PasswordRuleError([TOO_LONG_ZH])
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(_rounds())).decode("ascii")


def check_hash(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode("utf-8"), hashed.encode("ascii"))
    except ValueError:
        return False


_DUMMY_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(8))
    return _DUMMY_HASH


# ---------------------------------------------------------------- users


def _now(now: float | None) -> float:
    return time.time() if now is None else float(now)


@overload
def public(row: dict) -> dict: ...
@overload
def public(row: None) -> None: ...
@overload
def public(row: dict | None) -> dict | None: ...
def public(row: dict | None) -> dict | None:
    if row is None:
        return None
    return {k: row.get(k) for k in PUBLIC_FIELDS}


def _row(db, username: str) -> dict | None:
    return accounts.user_row(db, username)


def get_user(db, username: str) -> dict | None:
    return public(_row(db, username))


def require_user(db, username: str) -> dict:
    """The account's public fields; NotFound when there is no such account."""
    user = get_user(db, username)
    if user is None:
        raise NotFound("用户不存在", "no such user")
    return user


def list_users(db) -> list[dict]:
    return [public(r) for r in accounts.user_rows(db)]


def has_admin(db) -> bool:
    return accounts.has_active_admin(db)


def _valid_username(username: str) -> bool:
    return bool(username) and len(username) <= 64 and all(c.isalnum() or c in "._-" for c in username)


def create_user(
    db,
    username: str,
    role: str,
    password: str | None = None,
    *,
    actor: str = "system",
    display_name: str = "",
    must_change: bool = True,
    now: float | None = None,
) -> tuple[dict, str]:
    """Create a user; returns ``(user, password)`` (a strong random one when not given)."""
    username = (username or "").strip()
    if not _valid_username(username):
        raise DeidError("用户名只能包含字母、数字、点、下划线和短横线", "invalid username")
    if role not in roles():
        raise DeidError(f"未知角色：{role}", f"unknown role {role}")
    if _row(db, username):
        raise DeidError("用户名已存在", "username already exists")
    password = password or generate_password()
    check_password_rule(password, username)
    t = _now(now)
    hashed = hash_password(password)
    with transaction(db):
        pending = _needs_second_admin(db, actor, None, role)
        accounts.insert_user(
            db, username, display_name or "", role, hashed, must_change=must_change, now=t, disabled=pending
        )
        audit.record(
            db,
            actor,
            "user.add",
            detail={
                "user": username,
                "role": role,
                "must_change": bool(must_change),
                "pending_confirmation": pending,
            },
        )
        user = require_user(db, username)
        if pending:  # the account stays disabled until another admin confirms the supervisor role
            user["pending_grant"] = _request_grant(db, username, None, role, actor, t, new_account=True)
    return user, password


def _client_key(client: str | None) -> str | None:
    return sha256_hex(("login-client|" + client).encode("utf-8")) if client else None


def _refuse_client(db, client_key: str | None, now: float, where: dict) -> None:
    """Per-client throttle: refuse a client that failed too often in the current window."""
    if client_key and accounts.client_blocked_until(db, client_key, now):
        audit.record(db, "(unknown)", "auth.throttled", detail=where)
        minutes = CLIENT_WINDOW_SECONDS // 60
        raise AuthError(
            f"登录尝试过于频繁，请 {minutes} 分钟后再试", "too many failed logins from this client"
        )


def _count_client_failure(db, client_key: str | None, now: float) -> None:
    if client_key:
        accounts.client_failed(db, client_key, now, window=CLIENT_WINDOW_SECONDS, limit=CLIENT_MAX_FAILED)


def authenticate(
    db, username: str, password: str, *, now: float | None = None, client: str | None = None
) -> dict:
    """Check credentials; returns the public user or raises ``AuthError``.

    Unknown user, disabled or locked account and wrong password give one and
    the same message, each after a bcrypt check.  The failure counter is
    incremented before the check (atomically), so parallel guesses all count.
    Every attempt is audited (the reason is kept there), with ``client`` (the
    workstation's address, also the throttle key) when known.
    """
    t = _now(now)
    where = {"client": client} if client else {}
    client_key = _client_key(client)
    _refuse_client(db, client_key, t, where)
    if password_too_long(password):
        _count_client_failure(db, client_key, t)
        audit.record(db, "(unknown)", "auth.login_failed", detail={"reason": "password_too_long", **where})
        raise AuthError(TOO_LONG_ZH + "，请检查输入", "password longer than 72 bytes")
    attempt = accounts.begin_attempt(db, (username or "").strip(), t)
    good = check_hash(password or "", attempt["password_hash"] if attempt else _dummy_hash())
    if attempt is not None and not attempt["refusal"] and good:
        accounts.login_succeeded(db, attempt["id"], t)
        audit.record(db, attempt["username"], "auth.login", detail=where)
        return require_user(db, attempt["username"])
    _count_client_failure(db, client_key, t)
    if attempt is None:
        audit.record(
            db,
            "(unknown)",
            "auth.login_failed",
            detail={"reason": "unknown_user", "username": mask(username or ""), **where},
        )
    elif attempt["refusal"]:
        audit.record(
            db, attempt["username"], "auth.login_failed", detail={"reason": attempt["refusal"], **where}
        )
    else:
        name, failed = attempt["username"], attempt["failed"]
        audit.record(
            db, name, "auth.login_failed", detail={"reason": "bad_password", "failed": failed, **where}
        )
        if failed >= MAX_FAILED:
            accounts.lock(db, attempt["id"], t + LOCK_SECONDS)
            audit.record(db, name, "auth.locked", detail={"minutes": LOCK_SECONDS // 60})
    raise AuthError(LOGIN_FAILED_ZH, LOGIN_FAILED_EN)


def change_password(
    db, username: str, old_password: str, new_password: str, *, now: float | None = None
) -> dict:
    row = _row(db, username)
    if password_too_long(old_password):
        raise AuthError("原密码错误：" + TOO_LONG_ZH, "current password longer than 72 bytes")
    if row is None or row["disabled"] or not check_hash(old_password or "", row["password_hash"]):
        raise AuthError("原密码错误", "current password is wrong")
    check_password_rule(new_password, username)
    if new_password == old_password:
        raise PasswordRuleError(["新密码不能与原密码相同"])
    accounts.set_password(db, row["id"], hash_password(new_password), _now(now))
    audit.record(db, username, "auth.password_changed")
    return require_user(db, username)


def reset_password(
    db, username: str, *, actor: str, new_password: str | None = None, now: float | None = None
) -> str:
    """Admin reset: sets a (random) temporary password that must be changed at next login; unlocks."""
    row = _row(db, username)
    if row is None:
        raise DeidError("用户不存在", "no such user")
    new_password = new_password or generate_password()
    check_password_rule(new_password, username)
    accounts.reset_password(db, row["id"], hash_password(new_password), _now(now))
    audit.record(db, actor, "user.reset_password", detail={"user": username})
    return new_password


def set_disabled(db, username: str, disabled: bool, *, actor: str) -> dict:
    row = _row(db, username)
    if row is None:
        raise DeidError("用户不存在", "no such user")
    if not disabled and accounts.pending_grant_for(db, username):
        raise DeidError(
            "该账号的审核人角色待另一名管理员确认，确认后自动启用",
            "the account's supervisor role awaits a second admin's confirmation",
        )
    if disabled and row["role"] == "admin" and row["username"] == actor:
        raise DeidError("不能停用自己的管理员账号", "an admin cannot disable their own account")
    accounts.set_disabled(db, row["id"], disabled)
    audit.record(db, actor, "user.disable" if disabled else "user.enable", detail={"user": username})
    return require_user(db, username)


def _is_admin_account(db, username: str) -> bool:
    row = _row(db, username)
    return row is not None and row["role"] == "admin" and not row["disabled"]


def _needs_second_admin(db, actor: str, from_role: str | None, to_role: str) -> bool:
    """Supervisor granted or changed by an admin account while more than one admin exists.

    The server's command line (``cli:<os user>``, ``system``) is outside the
    app's accounts and acts alone (audited as such).
    """
    touches = TWO_ADMIN_ROLE in (from_role, to_role) and from_role != to_role
    return touches and _is_admin_account(db, actor) and accounts.active_admin_count(db) > 1


def _request_grant(
    db,
    username: str,
    from_role: str | None,
    to_role: str,
    actor: str,
    now: float,
    *,
    new_account: bool = False,
) -> int:
    grant_id = accounts.add_grant(db, username, from_role, to_role, actor, now, new_account=new_account)
    audit.record(
        db,
        actor,
        "user.role_grant_requested",
        detail={
            "user": username,
            "from": from_role,
            "to": to_role,
            "grant": grant_id,
            "new_account": new_account,
        },
    )
    return grant_id


def _check_role_separation(row: dict, role: str, actor: str) -> None:
    if row["username"] == actor:
        raise DeidError("不能修改自己的角色", "an account cannot change its own role")
    cases = case_roles()
    if (row["role"] == "admin" and role in cases) or (row["role"] in cases and role == "admin"):
        raise DeidError(
            "管理员账号不能同时担任病例角色（整理人、审核人）：请为其另建账号",
            "an admin account cannot hold a case role; create a separate account",
        )


def set_role(db, username: str, role: str, *, actor: str, now: float | None = None) -> dict:
    """Change an account's role; returns the user (with ``pending_grant`` when a second admin must confirm).

    An account never switches between admin and a case role, and nobody
    changes their own role.  Granting or changing the supervisor role, when
    more than one admin exists, only files a pending grant that another admin
    confirms (``confirm_role_grant``).
    """
    row = _row(db, username)
    if row is None:
        raise DeidError("用户不存在", "no such user")
    if role not in roles():
        raise DeidError(f"未知角色：{role}", f"unknown role {role}")
    _check_role_separation(row, role, actor)
    if _needs_second_admin(db, actor, row["role"], role):
        user = require_user(db, username)
        user["pending_grant"] = _request_grant(db, username, row["role"], role, actor, _now(now))
        return user
    accounts.set_role(db, row["id"], role)
    audit.record(db, actor, "user.role_change", detail={"user": username, "from": row["role"], "to": role})
    return require_user(db, username)


def pending_role_grants(db) -> list[dict]:
    return accounts.pending_grants(db)


def _pending_grant(db, grant_id: int, actor: str, not_admin_zh: str, not_admin_en: str) -> dict:
    grant = accounts.grant(db, grant_id)
    if grant is None or grant["status"] != "pending":
        raise DeidError("该角色申请不存在或已处理", "no such pending role grant")
    if not _is_admin_account(db, actor):
        raise PermissionDenied(not_admin_zh, not_admin_en)
    return grant


def confirm_role_grant(db, grant_id: int, *, actor: str, now: float | None = None) -> dict:
    """A second admin confirms a pending supervisor grant; returns the user as changed."""
    grant = _pending_grant(
        db, grant_id, actor, "只有管理员可以确认角色变更", "only an admin can confirm a role grant"
    )
    if actor == grant["requested_by"]:
        raise PermissionDenied(
            "需要另一名管理员确认（不能确认自己的申请）", "a second admin must confirm; not the one who asked"
        )
    row = _row(db, grant["username"])
    if row is None or (grant["from_role"] is not None and row["role"] != grant["from_role"]):
        raise DeidError("账号在申请后已变化，请重新申请", "the account changed since the request; ask again")
    _check_role_separation(row, grant["to_role"], actor)
    t = _now(now)
    with transaction(db):
        accounts.decide_grant(db, grant_id, "confirmed", actor, t)
        accounts.set_role(db, row["id"], grant["to_role"])
        if grant["new_account"]:
            accounts.set_disabled(db, row["id"], False)
        audit.record(
            db,
            actor,
            "user.role_grant_confirmed",
            detail={
                "user": row["username"],
                "from": grant["from_role"],
                "to": grant["to_role"],
                "grant": grant_id,
                "requested_by": grant["requested_by"],
            },
        )
        audit.record(
            db,
            actor,
            "user.role_change",
            detail={
                "user": row["username"],
                "from": row["role"] if grant["from_role"] else None,
                "to": grant["to_role"],
                "requested_by": grant["requested_by"],
                "confirmed_by": actor,
            },
        )
    return require_user(db, row["username"])


def cancel_role_grant(db, grant_id: int, *, actor: str, now: float | None = None) -> None:
    grant = _pending_grant(
        db, grant_id, actor, "只有管理员可以撤销角色申请", "only an admin can cancel a role grant"
    )
    accounts.decide_grant(db, grant_id, "cancelled", actor, _now(now))
    audit.record(
        db, actor, "user.role_grant_cancelled", detail={"user": grant["username"], "grant": grant_id}
    )


def is_active(db, username: str) -> bool:
    row = _row(db, username)
    return row is not None and not row["disabled"]


# ---------------------------------------------------------------- settings


def get_setting(db, key: str) -> str:
    value = audit_log.setting(db, key)
    return value if value is not None else SETTING_DEFAULTS.get(key, "")


def set_setting(db, key: str, value: str, *, actor: str) -> None:
    if key == "audit_retention_days" and int(value) < audit.RETENTION_FLOOR_DAYS:
        raise DeidError("审计日志保存期不能少于 180 天", "audit retention must be at least 180 days")
    if key == "session_idle_minutes" and not (1 <= int(value) <= 24 * 60):
        raise DeidError("空闲超时须在 1–1440 分钟之间", "idle timeout must be 1–1440 minutes")
    old = get_setting(db, key)
    audit_log.put_setting(db, key, str(value))
    audit.record(db, actor, "settings.change", detail={"key": key, "from": old, "to": str(value)})


def idle_timeout_seconds(db) -> int:
    return int(get_setting(db, "session_idle_minutes") or DEFAULT_IDLE_MINUTES) * 60


# ---------------------------------------------------------------- first start and demo users


def issue_setup_token(db, *, now: float | None = None) -> str | None:
    """A one-time token for creating the first admin (None when an admin exists).

    Only its hash is stored; the caller prints it to the server terminal.
    Issuing a new token invalidates older unused ones, so only the server's
    command line calls this (``python -m core.cli user setup-token``); the
    first-start page uses ``first_setup_token``.
    """
    if has_admin(db):
        return None
    token = secrets.token_urlsafe(18)
    t = _now(now)
    accounts.replace_setup_token(db, sha256_hex(token.encode()), t)
    return token


def first_setup_token(db, *, now: float | None = None) -> str | None:
    """The app's first start: a token only when none is outstanding (never voids the admin's token)."""
    if has_admin(db) or accounts.setup_token_outstanding(db):
        return None
    return issue_setup_token(db, now=now)


def create_first_admin(db, token: str, username: str, password: str, *, now: float | None = None) -> dict:
    if has_admin(db):
        raise AuthError("管理员已存在", "an admin already exists")
    token_id = accounts.unused_setup_token(db, sha256_hex((token or "").strip().encode()))
    if token_id is None:
        audit.record(db, "(setup)", "auth.login_failed", detail={"reason": "bad_setup_token"})
        raise AuthError("一次性令牌无效（请查看服务器终端输出）", "invalid one-time setup token")
    user, _ = create_user(db, username, "admin", password, actor="(setup)", must_change=False, now=now)
    accounts.use_setup_token(db, token_id, _now(now))
    audit.record(db, user["username"], "auth.setup_admin")
    return user


DEMO_USERS = (
    ("zhengli", "preparer", "演示整理人"),
    ("shenhe", "supervisor", "演示审核人"),
    ("shenji", "auditor", "演示审计员"),
    ("guanli", "admin", "演示管理员"),
)


def seed_demo_users(db) -> list[tuple[str, str, str]]:
    """One user per role with random strong passwords (no must-change).

    Returns ``[(username, role, password)]`` for users created now; existing
    demo users are left alone (their passwords were printed when created).
    """
    created = []
    for username, role, display in DEMO_USERS:
        if _row(db, username):
            continue
        _, pw = create_user(db, username, role, actor="system", display_name=display, must_change=False)
        created.append((username, role, pw))
    return created
