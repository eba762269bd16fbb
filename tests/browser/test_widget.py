"""<gs-booking> in Chromium against the real platform: booking, refusals, access, layout."""

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from axe_playwright_python import sync_playwright as axe_package
from playwright.sync_api import Browser, Page, expect

from tests.browser import widget
from tests.browser.widget import PHONE, TIME, alert, day_button, time_buttons
from tests.support.catalog import Catalog
from tests.support.hostpage import HostPages
from tests.support.platform import Platform

AXE_SCRIPT = Path(axe_package.__file__).with_name("axe.min.js")
AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target),
  }));
}"""


def _confirmed(page: Page) -> None:
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Booking confirmed")).to_be_visible()


def test_visitor_books_and_confirms_end_to_end(
    page: Page, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(widget.demo_url(platform.base_url, location))

    chosen = widget.choose_first_time(page, location.dates[0])
    widget.fill_details(page)
    widget.hold(page)
    _confirmed(page)

    booked = catalog.bookings(location)
    assert [(b["status"], b["customer"]["phone"]) for b in booked] == [("confirmed", PHONE)]
    assert booked[0]["slot_id"] == chosen.slot_id
    assert all(url.startswith(platform.base_url) for url in requested), requested


def test_slot_taken_after_listing_shows_slot_full_and_a_fresh_list(
    page: Page, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    day = location.dates[0]
    page.goto(widget.demo_url(platform.base_url, location))
    chosen = widget.choose_first_time(page, day)
    widget.fill_details(page)

    assert catalog.hold(chosen.slot_id).status_code == 201
    catalog.wait_until_taken(location, day, chosen.slot_id)
    page.get_by_role("button", name="Hold").click()

    expect(alert(page)).to_contain_text("Someone else just took that time")
    expect(time_buttons(page).first).to_be_visible()
    expect(page.locator(f'[data-slot="{chosen.slot_id}"]')).to_have_count(0)
    assert [b["customer"]["name"] for b in catalog.bookings(location)] == ["Walk-in"]


def test_phone_rejected_by_the_api_is_explained_under_the_field(
    page: Page, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    page.goto(widget.demo_url(platform.base_url, location))
    widget.choose_first_time(page, location.dates[0])
    widget.fill_details(page, phone="050 12")
    page.get_by_role("button", name="Hold").click()

    phone = page.get_by_label("Phone")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_be_focused()
    described = page.locator("gs-booking #phone-error")
    expect(described).to_have_text("phone must be a valid international number, e.g. +971501234567")
    expect(alert(page)).to_contain_text("Please correct the highlighted fields")
    expect(page.locator("gs-booking").get_by_role("status")).to_have_text("")
    assert catalog.bookings(location) == []


def test_booking_with_the_keyboard_alone(page: Page, platform: Platform, catalog: Catalog) -> None:
    location = catalog.location()
    page.goto(widget.demo_url(platform.base_url, location))
    expect(day_button(page, location.dates[0])).to_be_visible()

    widget.tab_to(page, re.compile(rf"^\S+ {location.dates[0].day} "))
    page.keyboard.press("Enter")
    expect(time_buttons(page).first).to_be_visible()
    time = widget.tab_to(page, TIME)
    page.keyboard.press("Space")
    widget.tab_to(page, re.compile("^Name"))
    page.keyboard.type("Omar Saleh")
    widget.tab_to(page, re.compile("^Phone"))
    page.keyboard.type(PHONE)
    widget.tab_to(page, re.compile("^Email"))
    page.keyboard.type("omar@example.org")
    page.keyboard.press("Enter")
    expect(page.get_by_role("timer")).to_be_visible()
    widget.tab_to(page, re.compile("^Confirm$"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Booking confirmed")).to_be_visible()
    booked = catalog.bookings(location)
    assert [(b["status"], b["customer"]["name"]) for b in booked] == [("confirmed", "Omar Saleh")]
    assert booked[0]["start_at"][11:16] == time[:5]


def test_no_serious_accessibility_violations(
    browser: Browser, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    context = browser.new_context(timezone_id="Europe/London", bypass_csp=True)
    page = context.new_page()
    page.goto(widget.demo_url(platform.base_url, location))

    def serious() -> list[dict]:
        page.add_script_tag(path=AXE_SCRIPT)
        found = page.evaluate(AXE_RUN)
        return [v for v in found if v["impact"] in ("serious", "critical")]

    widget.choose_first_time(page, location.dates[0])
    widget.fill_details(page, phone="12")
    page.get_by_role("button", name="Hold").click()
    expect(alert(page)).to_be_visible()
    assert serious() == []
    widget.fill_details(page)
    widget.hold(page)
    assert serious() == []
    _confirmed(page)
    assert serious() == []
    context.close()


def test_usable_on_a_360_pixel_wide_screen(
    browser: Browser, platform: Platform, catalog: Catalog, tmp_path: Path
) -> None:
    location = catalog.location()
    context = browser.new_context(
        timezone_id="Asia/Dubai", viewport={"width": 360, "height": 740}, device_scale_factor=1
    )
    page = context.new_page()
    page.goto(widget.demo_url(platform.base_url, location))
    widget.choose_first_time(page, location.dates[0])
    widget.fill_details(page)

    shot = tmp_path / "widget-360.png"
    page.locator("gs-booking").screenshot(path=shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    controls = page.locator("gs-booking").locator("button, input")
    for index in range(controls.count()):
        box = controls.nth(index).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, index
        assert box["height"] >= 44, index
    widget.hold(page)
    _confirmed(page)
    context.close()


def test_times_are_in_the_visitors_zone_with_the_locations_beside_them(
    browser: Browser, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location(timezone="Asia/Dubai")
    context = browser.new_context(timezone_id="America/New_York")
    page = context.new_page()
    page.goto(widget.demo_url(platform.base_url, location))
    day = location.dates[0]
    page.get_by_role("button", name=re.compile(r"^\S+ \d+ ")).first.click()
    expect(page.get_by_text("Times are in your time zone (America/New_York)")).to_be_visible()

    first = time_buttons(page).first
    slot_id = first.get_attribute("data-slot")
    starts = {s["id"]: s["start_at"] for s in catalog.slots(location, day)}
    starts |= {s["id"]: s["start_at"] for s in catalog.slots(location, day + dt.timedelta(1))}
    start = dt.datetime.fromisoformat(starts[slot_id])
    visitor = start.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M")
    assert first.get_attribute("aria-label") == f"{visitor}, {start:%H:%M} at the location"
    context.close()


def test_arabic_reads_right_to_left(page: Page, platform: Platform, catalog: Catalog) -> None:
    location = catalog.location()
    page.goto(widget.demo_url(platform.base_url, location, lang="ar"))
    panel = page.locator("gs-booking section")
    expect(panel).to_have_attribute("dir", "rtl")
    expect(panel).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", name="احجز موعدًا")).to_be_visible()
    widget.choose_first_time(page, location.dates[0])
    expect(page.get_by_label("الهاتف")).to_be_visible()
    expect(page.get_by_role("button", name="احجز مؤقتًا")).to_be_visible()


def test_network_failure_is_said_in_words_and_a_retry_works(
    page: Page, platform: Platform, catalog: Catalog
) -> None:
    location = catalog.location()
    page.goto(widget.demo_url(platform.base_url, location))
    page.route("**/v1/slots?*", lambda route: route.abort())
    day_button(page, location.dates[0]).click()
    expect(alert(page)).to_have_text(
        "Could not reach the booking service. Check your connection and try again."
    )
    page.unroute("**/v1/slots?*")
    day_button(page, location.dates[0]).click()
    expect(time_buttons(page).first).to_be_visible()
    expect(alert(page)).to_be_hidden()


def test_allowed_origin_embeds_the_widget_and_host_styles_stay_out(
    page: Page, platform: Platform, catalog: Catalog, host_pages: HostPages
) -> None:
    location = catalog.location()
    host = host_pages.origin("localhost")
    page.goto(f"{host}/?api={platform.base_url}&location={location.id}")

    day = day_button(page, location.dates[0])
    day.click()
    expect(time_buttons(page).first).to_be_visible()
    style = day.evaluate(
        "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.fontFamily, s.color]; }"
    )
    assert style[0] == "rgb(17, 85, 34)"  # the host's --gs-accent, not its red buttons
    assert "serif" not in style[1].split(",")[0] and style[2] != "rgb(0, 128, 0)"
    host_button = page.locator("#host-button")
    assert host_button.evaluate("e => getComputedStyle(e).minHeight") in ("auto", "0px")


def test_other_origin_is_refused_by_the_browser(
    page: Page, platform: Platform, catalog: Catalog, host_pages: HostPages
) -> None:
    location = catalog.location()
    other = host_pages.origin("127.0.0.1")
    page.goto(f"{other}/?api={platform.base_url}&location={location.id}")
    expect(alert(page)).to_contain_text("Could not reach the booking service")

    preflight = requests.options(
        f"{platform.base_url}/v1/sessions",
        headers={"Origin": other, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_manage_page_says_when_a_booking_cannot_be_loaded(page: Page, platform: Platform) -> None:
    page.goto(f"{platform.base_url}/manage/not-a-real-token")
    words = page.locator("gs-manage").get_by_role("alert")
    expect(words).to_contain_text("This booking could not be loaded")
    expect(words).to_contain_text("(NOT_FOUND)")
