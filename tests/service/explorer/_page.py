"""Helpers for the explorer's browser tests: a live server, a browser, and the page's parts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scripts.chromium import absent, chromium
from tests._needs import missing
from tests._processes import Server

__all__ = [
    "attr",
    "browser",
    "browser_or_skip",
    "click_weights",
    "drag",
    "open_page",
    "serve",
    "surface_offset",
    "text",
    "wait",
]


def browser_or_skip() -> None:
    if absent():
        missing(f"{', '.join(absent())} not found: apt-get install chromium chromium-driver")


def serve(tmp_path: Path, **env: str) -> Server:
    server = Server({"RNNLAB_DATA_DIR": str(tmp_path / "data"), **env}, tmp_path / "server.log")
    server.wait_up()
    return server


@contextlib.contextmanager
def browser(**kwargs: Any) -> Iterator[Any]:
    """A headless Chromium (skipped, or failed in CI, without one)."""
    browser_or_skip()
    with chromium(**kwargs) as driver:
        yield driver


def wait(driver: Any, condition: Any, timeout: float = 30) -> Any:
    """Poll ``condition(driver)`` until it is truthy (a deadline, not a speed requirement)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def text(driver: Any, element_id: str) -> str:
    value: str = driver.find_element("id", element_id).text
    return value


def attr(driver: Any, element_id: str, name: str) -> str:
    value = driver.find_element("id", element_id).get_attribute(name)
    return value or ""


def classes(driver: Any, selector: str) -> str:
    """The first match's class list, read in one script (the element may be rebuilt meanwhile)."""
    script = "const e = document.querySelector(arguments[0]); return e ? e.className : ''"
    value: str = driver.execute_script(script, selector)
    return value


def open_page(driver: Any, url: str, fragment: str = "") -> None:
    """The page, its surface drawn and its live runs computed."""
    driver.get(url + "/" + fragment)
    wait(driver, lambda d: attr(d, "surface", "data-state") == "ready")
    wait(driver, lambda d: int(attr(d, "overlay", "data-redraws") or 0) > 0)


def surface_offset(driver: Any, wx: float, wrec: float) -> tuple[float, float]:
    """CSS pixels from the overlay's centre to where (wx, wrec) is drawn (the page's mapping)."""
    overlay = driver.find_element("id", "overlay")
    wx_min, wx_max, wrec_min, wrec_max = map(
        float, attr(driver, "overlay", "data-window").split(",")
    )
    left, top, right, bottom = map(float, attr(driver, "overlay", "data-plot").split(","))
    x = left + (wx - wx_min) / (wx_max - wx_min) * (right - left)
    y = bottom - (wrec - wrec_min) / (wrec_max - wrec_min) * (bottom - top)
    width, height = overlay.size["width"], overlay.size["height"]
    scale = width / 600
    return x * scale - width / 2, y * scale - height / 2


def click_weights(driver: Any, wx: float, wrec: float) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    dx, dy = surface_offset(driver, wx, wrec)
    overlay = driver.find_element("id", "overlay")
    ActionChains(driver).move_to_element_with_offset(
        overlay, round(dx), round(dy)
    ).click().perform()


def drag(driver: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press at ``start`` (weights), move to ``end`` in a few steps, release."""
    from selenium.webdriver.common.action_chains import ActionChains

    overlay = driver.find_element("id", "overlay")
    x0, y0 = surface_offset(driver, *start)
    x1, y1 = surface_offset(driver, *end)
    chain = ActionChains(driver).move_to_element_with_offset(overlay, round(x0), round(y0))
    chain.click_and_hold()
    for i in range(1, 6):
        chain.move_to_element_with_offset(
            overlay, round(x0 + (x1 - x0) * i / 5), round(y0 + (y1 - y0) * i / 5)
        )
    chain.release().perform()
