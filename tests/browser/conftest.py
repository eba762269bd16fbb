"""Fixtures for browser tests: Debian's Chromium driving the real platform.

Each test module gets its own platform (web, worker and scheduler subprocesses on the
run's Postgres and Redis), so a module can run it with settings of its own
(`platform_settings`); each test arranges its own location and opens its own page.
"""

# First, so that services are provisioned before any application module is imported.
from tests.support.provision import TEST_ENV

# isort: split

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest
import redis
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from common.settings import get_settings
from tests.support import chromium, hostpage
from tests.support.catalog import Catalog
from tests.support.hostpage import HostPages
from tests.support.platform import Platform

LOCATION_ZONE = "Asia/Dubai"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module: while Playwright's sync API runs, its event loop holds this thread,
    and the async tests of other modules need the thread back."""
    with sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def host_pages() -> Iterator[HostPages]:
    with hostpage.serving() as pages:
        yield pages


@pytest.fixture(scope="module")
def platform_settings() -> dict[str, str]:
    """Settings a module's platform runs with, on top of the test run's."""
    return {}


@pytest.fixture(scope="module")
def platform(platform_settings: dict[str, str], host_pages: HostPages) -> Iterator[Platform]:
    settings = get_settings()
    redis.Redis.from_url(settings.redis_url).flushdb()
    _empty_tables(settings.database_url)
    env = {
        **TEST_ENV,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "WEB_PROCESSES": "1",
        "GENERATION_HORIZON_DAYS": "0",
        "CORS_ALLOWED_ORIGINS": host_pages.origin("localhost"),
        **platform_settings,
    }
    running = Platform(env=env)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def _empty_tables(url: str) -> None:
    """In a thread of its own: Playwright's sync API keeps an event loop in this one."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, _truncate(url)).result()


async def _truncate(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetchval(
            "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        await conn.execute(f"TRUNCATE {tables}")
    finally:
        await conn.close()


@pytest.fixture
def catalog(platform: Platform) -> Catalog:
    return Catalog(platform.base_url)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A visitor in the location's own time zone, on a phone-sized screen unless told."""
    context = browser.new_context(
        timezone_id=LOCATION_ZONE, locale="en-GB", viewport={"width": 800, "height": 900}
    )
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
