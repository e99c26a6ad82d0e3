"""Headless Chromium driven by Selenium: the one setup the browser tests, the screenshots
and the explorer benchmark share.

Uses Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); nothing is
downloaded. ``chromium(...)`` yields a driver with a throwaway profile and quits it after.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["CHROMEDRIVER", "CHROMIUM", "REPO", "absent", "axe_source", "chromium"]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REPO = Path(__file__).resolve().parents[1]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


def absent() -> list[str]:
    """The browser binaries this machine lacks (empty when both are there)."""
    return [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]


def axe_source() -> str:
    """axe-core's script, as ``npm ci`` installed it (injected into a page by a test)."""
    return AXE.read_text(encoding="utf-8")


@contextlib.contextmanager
def chromium(
    width: int = 1280, height: int = 1100, *, mobile: bool = False, logs: bool = True
) -> Iterator[Any]:
    """A headless Chromium of ``width`` x ``height`` CSS pixels with a fresh profile.

    ``mobile`` emulates a phone (touch events, device-width viewport) at that size.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="rnnlab-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-quic",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
        ):
            options.add_argument(argument)
        if mobile:
            options.add_experimental_option(
                "mobileEmulation",
                {
                    "deviceMetrics": {
                        "width": width,
                        "height": height,
                        "pixelRatio": 2,
                        "touch": True,
                    }
                },
            )
        if logs:
            options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()
