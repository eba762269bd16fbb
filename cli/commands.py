"""Operator commands: `python -m cli <command>`.

- `migrate`: apply database migrations.
- `create-staff EMAIL --role admin [--password …]`: create or update a staff account.
- `token EMAIL [--ttl …]`: print a bearer token for that staff account, with its roles; it
  stops working when the account is deactivated, loses a role or changes its password.
- `reencrypt-pii`: after putting a new key first in PII_KEY, rewrite older ciphertexts.
"""

import argparse
import asyncio
import getpass
import sys

from common.passwords import hash_password
from common.pii import PiiKeys
from common.settings import get_settings
from common.tokens import issue_staff_token
from db.engine import create_engine
from db.migrate import upgrade
from db.pii import reencrypt
from db.staff import account_by_email, save_account
from domain.roles import STAFF_ROLES
from domain.staff import StaffAccount


async def create_staff(database_url: str, email: str, password: str, roles: list[str]) -> str:
    """Creates the account, or resets its password and roles if it exists; returns its id."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as conn:
            return await save_account(conn, email.strip().lower(), hash_password(password), roles)
    finally:
        await engine.dispose()


async def find_staff(database_url: str, email: str) -> StaffAccount | None:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            return await account_by_email(conn, email.strip().lower())
    finally:
        await engine.dispose()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cli")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations")
    staff = commands.add_parser("create-staff", help="create or update a staff account")
    staff.add_argument("email")
    staff.add_argument("--role", action="append", choices=sorted(STAFF_ROLES), required=True)
    staff.add_argument("--password", help="prompted for when omitted")
    tok = commands.add_parser("token", help="print a bearer token for a staff account")
    tok.add_argument("email")
    tok.add_argument("--ttl", type=int, default=12 * 3600, help="seconds (default 12 h)")
    commands.add_parser("reencrypt-pii", help="re-encrypt customer PII under the current key")
    return parser


async def _reencrypt(database_url: str, pii_spec: str) -> int:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        return await reencrypt(engine, PiiKeys.parse(pii_spec))
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    if args.command == "migrate":
        upgrade(settings.database_url)
    elif args.command == "create-staff":
        password = args.password or getpass.getpass("password: ")
        staff_id = asyncio.run(create_staff(settings.database_url, args.email, password, args.role))
        print(staff_id)
    elif args.command == "reencrypt-pii":
        count = asyncio.run(_reencrypt(settings.database_url, settings.pii_key))
        print(f"re-encrypted {count} bookings")
    elif args.command == "token":
        account = asyncio.run(find_staff(settings.database_url, args.email))
        if account is None or not account.active:
            print(f"no active staff account {args.email}; see create-staff", file=sys.stderr)
            return 1
        print(issue_staff_token(settings.jwt_secret, settings.jwt_issuer, account, args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
