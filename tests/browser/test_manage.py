"""The manage link in Chromium: from the widget's confirmation to <gs-manage> on
/manage/{token}, viewing, confirming, cancelling, moving (and a move refused as
SLOT_FULL), and the calendar file (contract §9, §11)."""

import re

import icalendar
import requests
from playwright.sync_api import Locator, Page, expect

from tests.browser import widget
from tests.support.catalog import Catalog, Location
from tests.support.platform import Platform


def _manage(page: Page) -> Locator:
    return page.locator("gs-manage")


def _held(catalog: Catalog, location: Location, index: int = 0) -> dict:
    """A booking held for a customer (at the front desk), with its manage token."""
    slot = catalog.slots(location, location.dates[0])[index]
    held = catalog.hold(slot["id"])
    assert held.status_code == 201, held.text
    return held.json()["booking"]


def _status(catalog: Catalog, location: Location, booking_id: str) -> dict:
    return next(b for b in catalog.bookings(location) if b["id"] == booking_id)


def test_the_confirmation_links_to_the_manage_page_which_shows_the_booking(
    page: Page, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    page.goto(widget.demo_url(platform.base_url, location))
    widget.choose_first_time(page, location.dates[0])
    widget.fill_details(page, name="Layla Haddad")
    widget.hold(page)
    page.get_by_role("button", name="Confirm").click()
    link = page.locator("gs-booking").get_by_role("link", name="Manage your booking")
    href = link.get_attribute("href") or ""
    assert re.fullmatch(rf"{platform.base_url}/manage/[A-Za-z0-9_-]{{22,}}", href), href

    page.goto(href)
    manage = _manage(page)
    expect(manage.get_by_role("heading", name="Confirmed")).to_be_visible()
    expect(manage).to_contain_text("Layla Haddad")
    expect(manage.get_by_role("button", name="Cancel booking")).to_be_visible()


def test_the_manage_page_confirms_a_held_booking(
    page: Page, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    booking = _held(catalog, location)
    page.goto(f"{platform.base_url}/manage/{booking['manage_token']}")
    manage = _manage(page)
    expect(manage.get_by_role("heading", name="Held, not yet confirmed")).to_be_visible()
    manage.get_by_role("button", name="Confirm").click()
    expect(manage.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    assert _status(catalog, location, booking["id"])["status"] == "confirmed"


def test_the_manage_page_cancels_after_asking(
    page: Page, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    booking = _held(catalog, location)
    page.goto(f"{platform.base_url}/manage/{booking['manage_token']}")
    manage = _manage(page)
    manage.get_by_role("button", name="Cancel booking").click()
    expect(manage).to_contain_text("Cancel this booking?")
    manage.get_by_role("button", name="Yes, cancel it").click()
    expect(manage.get_by_role("heading", name="Booking cancelled")).to_be_visible()
    expect(manage.get_by_role("button", name="Cancel booking")).to_have_count(0)
    assert _status(catalog, location, booking["id"])["status"] == "cancelled"


def _choose_a_new_time(page: Page, location: Location) -> str:
    manage = _manage(page)
    manage.get_by_role("button", name="Reschedule").click()
    widget.day_button(page, location.dates[0]).click()
    first = widget.time_buttons(page).first
    slot_id = first.get_attribute("data-slot") or ""
    first.click()
    return slot_id


def test_the_manage_page_moves_the_booking(
    page: Page, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    booking = _held(catalog, location)
    page.goto(f"{platform.base_url}/manage/{booking['manage_token']}")
    chosen = _choose_a_new_time(page, location)
    _manage(page).get_by_role("button", name=re.compile(r"^Move to \d\d:\d\d$")).click()
    expect(_manage(page).get_by_role("heading", name="Booking moved")).to_be_visible()
    moved = _status(catalog, location, booking["id"])
    assert (moved["slot_id"], moved["status"]) == (chosen, "held")


def test_a_move_to_a_time_just_taken_says_so_and_keeps_the_booking(
    page: Page, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    booking = _held(catalog, location)
    page.goto(f"{platform.base_url}/manage/{booking['manage_token']}")
    chosen = _choose_a_new_time(page, location)
    assert catalog.hold(chosen, phone="+971501112233").status_code == 201
    catalog.wait_until_taken(location, location.dates[0], chosen)

    _manage(page).get_by_role("button", name=re.compile(r"^Move to ")).click()
    expect(_manage(page).get_by_role("alert")).to_contain_text("Someone else just took that time")
    expect(page.locator(f'gs-manage [data-slot="{chosen}"]')).to_have_count(0)
    expect(widget.time_buttons(page).first).to_be_visible()
    assert _status(catalog, location, booking["id"])["slot_id"] == booking["slot_id"]


def test_the_calendar_link_gives_the_booking_as_a_calendar_file(
    page: Page, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    booking = _held(catalog, location)
    page.goto(f"{platform.base_url}/manage/{booking['manage_token']}")
    link = _manage(page).get_by_role("link", name="Add to calendar")
    expect(link).to_be_visible()
    href = link.get_attribute("href") or ""
    assert href == f"{platform.base_url}/v1/manage/{booking['manage_token']}/ics"
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "booking.ics"
    fetched = requests.get(href, timeout=10)
    assert fetched.headers["Content-Type"].startswith("text/calendar")
    (event,) = icalendar.Calendar.from_ical(fetched.text).walk("VEVENT")
    assert str(event["UID"]) == booking["id"]
    assert str(event["LOCATION"]) == "Harbour Clinic"
