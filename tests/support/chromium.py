"""Debian's Chromium under Playwright: the browser the widget's tests and screenshots use.

Playwright cannot download its own browsers here, so it drives `/usr/bin/chromium`
(`apt-get install chromium`; `.ci/run` installs it when missing).
"""

import os

from playwright.sync_api import Browser, Playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
