"""``user add|disable|enable|reset-password|list`` for the server administrator.

Each change is audited with actor ``cli:<os user>``.  New and reset
passwords are random and strong, printed once, and must be changed at the
next login.
"""

from __future__ import annotations


from core.security import auth
from core.cli.commands.common import cli_actor, open_db


def register(subparsers) -> None:
    p = subparsers.add_parser("user", help="用户管理 / user administration")
    sub = p.add_subparsers(dest="user_command", metavar="<user command>")

    a = sub.add_parser("add", help="新增用户 / add a user")
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=sorted(auth.roles()))
    a.add_argument("--name", default="", help="显示名 / display name")
    a.add_argument("--db")
    a.set_defaults(func=run_add)

    for name, helptext, func in (
        ("disable", "停用用户 / disable", run_disable),
        ("enable", "启用用户 / enable", run_enable),
        ("reset-password", "重置密码 / reset password", run_reset),
    ):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("username")
        s.add_argument("--db")
        s.set_defaults(func=func)

    ls = sub.add_parser("list", help="列出用户 / list users")
    ls.add_argument("--db")
    ls.set_defaults(func=run_list)

    tok = sub.add_parser(
        "setup-token", help="首次启动：打印创建管理员的一次性令牌 / one-time token for the first admin"
    )
    tok.add_argument("--db")
    tok.set_defaults(func=run_setup_token)

    demo = sub.add_parser("demo", help="演示用户（每个角色一个，密码只打印一次）/ seed demo users")
    demo.add_argument("--db")
    demo.set_defaults(func=run_demo)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_add(args) -> int:
    db = open_db(args.db)
    user, password = auth.create_user(db, args.username, args.role, actor=cli_actor(), display_name=args.name)
    print(f"用户已创建 / user created: {user['username']} ({auth.role_name(user['role'])})")
    print(f"临时密码 / temporary password (shown once, change at first login): {password}")
    return 0


def run_disable(args) -> int:
    auth.set_disabled(open_db(args.db), args.username, True, actor=cli_actor())
    print(f"已停用 / disabled: {args.username}")
    return 0


def run_enable(args) -> int:
    auth.set_disabled(open_db(args.db), args.username, False, actor=cli_actor())
    print(f"已启用 / enabled: {args.username}")
    return 0


def run_reset(args) -> int:
    password = auth.reset_password(open_db(args.db), args.username, actor=cli_actor())
    print(f"新临时密码 / new temporary password (shown once, change at next login): {password}")
    return 0


def run_setup_token(args) -> int:
    token = auth.issue_setup_token(open_db(args.db))
    if token is None:
        print("已有管理员，无需令牌 / an admin exists; no token issued")
        return 0
    print(f"首次启动一次性令牌 / one-time setup token: {token}")
    return 0


def run_list(args) -> int:
    for u in auth.list_users(open_db(args.db)):
        state = "停用" if u["disabled"] else "正常"
        print(f"{u['username']}\t{auth.role_name(u['role'])}\t{state}")
    return 0


def run_demo(args) -> int:
    created = print_demo_users(open_db(args.db))
    if not created:
        print("演示用户已存在 / demo users already exist (passwords were printed when created)")
    return 0


def print_demo_users(db) -> list:
    """Seed demo users and print the new passwords once (called by ``make run`` on the demo)."""
    created = auth.seed_demo_users(db)
    if created:
        print("演示账号（密码只显示这一次）/ demo accounts (passwords shown once):")
        for username, role, password in created:
            print(f"  {auth.role_name(role)}\t{username}\t{password}")
    return created
