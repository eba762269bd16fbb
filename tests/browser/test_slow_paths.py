"""The widget when time runs out: a hold that lapses, workers slower than the web's wait, and a
spent read budget. One platform with a short hold, no wait for workers and a tight budget."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser import widget
from tests.browser.widget import alert, day_button, time_buttons
from tests.support.catalog import Catalog
from tests.support.platform import Platform

# Time on a busy machine to poll a hold and its confirm; one digit, for the timer regex.
HOLD_SECONDS = 9
READS_PER_MINUTE = 12


@pytest.fixture(scope="module")
def platform_settings() -> dict[str, str]:
    return {
        "HOLD_TTL_SECONDS": str(HOLD_SECONDS),
        "BOOKING_WAIT_SECONDS": "0",  # every hold and confirm answers 202; the widget polls
        "RATE_LIMIT_USER_GET": f"{READS_PER_MINUTE}/minute",
    }


def test_countdown_reaches_zero_and_says_the_hold_expired(
    page: Page, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    page.goto(widget.demo_url(platform.base_url, location))
    widget.choose_first_time(page, location.dates[0])
    widget.fill_details(page)
    widget.hold(page)
    timer = page.get_by_role("timer")
    expect(timer).to_have_text(re.compile(rf"^0:0[0-{HOLD_SECONDS}]$"))

    expect(page.get_by_role("heading", name="Hold expired")).to_be_visible(
        timeout=(HOLD_SECONDS + 10) * 1000
    )
    expect(page.get_by_text("Your hold expired and the time was released")).to_be_visible()
    expect(page.get_by_role("button", name="Confirm")).to_have_count(0)
    page.get_by_role("button", name="Choose another time").click()
    expect(time_buttons(page).first).to_be_visible()


def test_pending_hold_and_confirm_are_polled_to_their_outcome(
    page: Page, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    replies: list[int] = []
    page.on(
        "response",
        lambda r: replies.append(r.status) if r.request.method == "POST" else None,
    )
    page.goto(widget.demo_url(platform.base_url, location))
    widget.choose_first_time(page, location.dates[0])
    widget.fill_details(page)
    widget.hold(page)
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    assert replies == [201, 202, 202]  # the session, then the hold and the confirm
    assert [b["status"] for b in catalog.bookings(location)] == ["confirmed"]


def test_spent_read_budget_is_said_in_words(
    page: Page, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    page.goto(widget.demo_url(platform.base_url, location))
    first, second = (day_button(page, day) for day in location.dates)
    for press in range(READS_PER_MINUTE):
        (first if press % 2 else second).click()
        expect(page.locator("gs-booking").get_by_role("status")).to_have_text("")
        if alert(page).is_visible():
            break
    expect(alert(page)).to_have_text(
        re.compile(r"^Too many requests\. Please wait \d+ seconds and try again\.$")
    )
