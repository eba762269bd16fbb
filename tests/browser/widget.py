"""Driving <gs-booking> the way a visitor does, through its accessible names (contract §11).

Playwright's role and label locators reach into the widget's open shadow root, so
these steps rely only on what the contract promises: day buttons named with the day
of the month, time buttons named with `HH:MM`, fields labelled "Name", "Phone" and
"Email", buttons "Hold" and "Confirm", and "Booking confirmed".
"""

import datetime as dt
import re
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, expect

from tests.support.catalog import Location

TIME = re.compile(r"^\d\d:\d\d")
PHONE = "+971501234567"


def demo_url(base_url: str, location: Location, lang: str = "en") -> str:
    return f"{base_url}/demo?location={location.id}&lang={lang}"


def day_button(page: Page, day: dt.date) -> Locator:
    """The date's button: its name is the weekday, the day of the month, then the month."""
    return page.get_by_role("button", name=re.compile(rf"^\S+ {day.day} "))


def time_buttons(page: Page) -> Locator:
    return page.get_by_role("button", name=TIME)


@dataclass(frozen=True)
class Shown:
    """A time button as the visitor saw it: its accessible name and the slot behind it."""

    name: str
    slot_id: str


def choose_first_time(page: Page, day: dt.date) -> Shown:
    day_button(page, day).click()
    first = time_buttons(page).first
    first.click()
    expect(first).to_have_attribute("aria-pressed", "true")
    return Shown(first.get_attribute("aria-label") or "", first.get_attribute("data-slot") or "")


def fill_details(page: Page, name: str = "Layla Haddad", phone: str = PHONE) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Phone").fill(phone)
    page.get_by_label("Email").fill("layla@example.org")


def hold(page: Page) -> None:
    page.get_by_role("button", name="Hold").click()
    expect(page.get_by_role("timer")).to_have_text(re.compile(r"^\d+:\d\d$"))


def alert(page: Page) -> Locator:
    return page.locator("gs-booking").get_by_role("alert")


FOCUSED_NAME = """() => {
  let node = document.activeElement;
  while (node && node.shadowRoot && node.shadowRoot.activeElement) {
    node = node.shadowRoot.activeElement;
  }
  if (!node) return "";
  const label = node.labels && node.labels.length ? node.labels[0].textContent : "";
  return (node.getAttribute("aria-label") || label || node.textContent || "").trim();
}"""


def tab_to(page: Page, name: re.Pattern[str], limit: int = 60) -> str:
    """Presses Tab until the focused control's accessible name matches; returns the name."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_NAME)
        if name.search(focused):
            return focused
    raise AssertionError(f"no control named {name.pattern!r} within {limit} presses of Tab")
