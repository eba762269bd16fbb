"""`python -m tests.browser.screenshots`: a picture of every widget state, for docs/widget.md.

Finds Postgres and Redis as `make test` does, runs the real platform, arranges
locations through the admin API and walks <gs-booking> through its states in
Debian's Chromium, writing `docs/widget/<state>.png`. The expired hold is shown by
moving the page's clock past the deadline, not by waiting for it.
"""

import datetime as dt
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, expect, sync_playwright

from common.pii import generate_key
from tests.support.platform import ROOT, Platform
from tests.support.services import Services

OUT = ROOT / "docs" / "widget"
# Not tests.support.provision's TEST_ENV: importing that module provisions services for pytest.
ENV = {
    "JWT_SECRET": secrets.token_urlsafe(48),
    "PII_KEY": f"k1:{generate_key()}",
    "EXPOSURE_SALT": "screenshots",
    "RATE_LIMIT_USER_GET": "100000/minute",
    "RATE_LIMIT_BOOKING_POST": "100000/minute",
    "RATE_LIMIT_SESSION_POST": "100000/minute",
    "WEB_PROCESSES": "1",
    "GENERATION_HORIZON_DAYS": "0",
}


@contextmanager
def _platform() -> Iterator[Platform]:
    services = Services()
    services.start()
    try:
        env = {**ENV, "DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url}
        os.environ.update(env)  # admin tokens are signed with the platform's secret
        from db.migrate import upgrade

        upgrade(services.database_url)
        running = Platform(env=env)
        try:
            yield running.start()
        finally:
            running.stop()
    finally:
        services.stop()


class Shots:
    """Opens a fresh visitor per picture and saves the widget (or the page) as PNG."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        from tests.support.catalog import Catalog

        self.browser = browser
        self.base_url = base_url
        self.catalog = Catalog(base_url)
        self.location = self.catalog.location(days=3)
        self.taken: list[str] = []

    def page(self, width: int = 560, zone: str = "Asia/Dubai") -> Page:
        context = self.browser.new_context(
            timezone_id=zone, locale="en-GB", viewport={"width": width, "height": 900}
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.clock.install()
        return page

    def save(self, page: Page, name: str, whole_page: bool = False) -> None:
        path = OUT / f"{name}.png"
        if whole_page:
            page.screenshot(path=path, full_page=True)
        else:
            page.locator("gs-booking, gs-manage").screenshot(path=path)
        page.context.close()
        print(f"  {path.relative_to(ROOT)}")

    def demo(self, page: Page, lang: str = "en", location_id: str | None = None) -> None:
        from tests.browser import widget

        location = self.location if location_id is None else None
        url = (
            widget.demo_url(self.base_url, location, lang)
            if location
            else f"{self.base_url}/demo?location={location_id}&lang={lang}"
        )
        page.goto(url)

    def day(self) -> dt.date:
        return self.location.dates[1]


def _states(shots: Shots) -> dict[str, Callable[[], None]]:
    from tests.browser import widget

    def dates() -> None:
        page = shots.page()
        shots.demo(page)
        expect(widget.day_button(page, shots.day())).to_be_visible()
        shots.save(page, "1-dates")

    def times() -> None:
        page = shots.page()
        shots.demo(page)
        widget.choose_first_time(page, shots.day())
        shots.save(page, "2-times-and-details")

    def phone_error() -> None:
        page = shots.page()
        shots.demo(page)
        widget.choose_first_time(page, shots.day())
        widget.fill_details(page, phone="050 12")
        page.get_by_role("button", name="Hold").click()
        expect(page.get_by_text("valid international number")).to_be_visible()
        shots.save(page, "3-phone-error")

    def held() -> None:
        page = shots.page()
        shots.demo(page)
        widget.choose_first_time(page, shots.day())
        widget.fill_details(page)
        widget.hold(page)
        shots.save(page, "4-held-countdown")

    def confirmed() -> None:
        page = shots.page()
        shots.demo(page)
        widget.choose_first_time(page, shots.day())
        widget.fill_details(page)
        widget.hold(page)
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("heading", name="Booking confirmed")).to_be_visible()
        shots.save(page, "5-confirmed")

    def slot_full() -> None:
        page = shots.page()
        shots.demo(page)
        chosen = widget.choose_first_time(page, shots.day())
        widget.fill_details(page)
        shots.catalog.hold(chosen.slot_id)
        page.get_by_role("button", name="Hold").click()
        expect(widget.alert(page)).to_contain_text("Someone else just took that time")
        shots.save(page, "6-slot-full")

    def expired() -> None:
        page = shots.page()
        shots.demo(page)
        widget.choose_first_time(page, shots.day())
        widget.fill_details(page)
        widget.hold(page)
        page.clock.fast_forward("11:00")
        expect(page.get_by_role("heading", name="Hold expired")).to_be_visible()
        shots.save(page, "7-hold-expired")

    def visitor_zone() -> None:
        page = shots.page(zone="Europe/London")
        shots.demo(page)
        widget.choose_first_time(page, shots.day())
        shots.save(page, "8-visitor-time-zone")

    def arabic() -> None:
        page = shots.page()
        shots.demo(page, lang="ar")
        widget.day_button(page, shots.day()).click()
        widget.time_buttons(page).first.click()
        shots.save(page, "9-arabic")

    def narrow() -> None:
        page = shots.page(width=360)
        shots.demo(page)
        widget.choose_first_time(page, shots.day())
        shots.save(page, "10-phone-360px", whole_page=True)

    def no_dates() -> None:
        page = shots.page()
        closed = shots.catalog.post("/admin/v1/locations", {"name": "Closed"}).json()
        shots.demo(page, location_id=closed["location"]["id"])
        expect(page.get_by_role("button", name="Join the waitlist")).to_be_visible()
        shots.save(page, "11-no-dates-waitlist")

    def offline() -> None:
        page = shots.page()
        page.route("**/v1/sessions", lambda route: route.abort())
        shots.demo(page)
        expect(widget.alert(page)).to_contain_text("Could not reach the booking service")
        shots.save(page, "12-network-error")

    def manage() -> None:
        page = shots.page()
        slot = shots.catalog.slots(shots.location, shots.day())[-1]
        booking = shots.catalog.hold(slot["id"], phone="+971501230000").json()["booking"]
        page.goto(f"{shots.base_url}/manage/{booking['manage_token']}")
        manage = page.locator("gs-manage")
        manage.get_by_role("button", name="Reschedule").click()
        widget.day_button(page, shots.day()).click()
        widget.time_buttons(page).first.click()
        expect(manage.get_by_role("button", name=re.compile("^Move to"))).to_be_visible()
        shots.save(page, "13-manage-page")

    return {
        "dates": dates,
        "times": times,
        "phone-error": phone_error,
        "held": held,
        "confirmed": confirmed,
        "slot-full": slot_full,
        "expired": expired,
        "visitor-zone": visitor_zone,
        "arabic": arabic,
        "narrow": narrow,
        "no-dates": no_dates,
        "offline": offline,
        "manage": manage,
    }


def main() -> int:
    from tests.support import chromium

    OUT.mkdir(parents=True, exist_ok=True)
    with _platform() as platform, sync_playwright() as playwright:
        browser = chromium.launch(playwright)
        try:
            shots = Shots(browser, platform.base_url)
            for take in _states(shots).values():
                take()
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
