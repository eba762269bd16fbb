"""`python -m web`: serve the HTTP API."""

from aiohttp import web

from common.logging import configure_logging
from common.settings import get_settings
from web.app import create_app


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    web.run_app(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        access_log=None,
        reuse_port=True,
        print=None,
    )


if __name__ == "__main__":
    main()
