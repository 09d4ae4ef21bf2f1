"""``demo-users``: seed one demo user per role; passwords printed once."""

from __future__ import annotations

from core.cli.commands.user import print_demo_users
from core.cli.commands.common import open_db


def register(subparsers) -> None:
    p = subparsers.add_parser("demo-users", help="创建演示账号（每个角色一个）/ seed demo users")
    p.add_argument("--db")
    p.set_defaults(func=run)


def run(args) -> int:
    if not print_demo_users(open_db(args.db)):
        print("演示用户已存在 / demo users already exist (passwords were printed when created)")
    return 0
