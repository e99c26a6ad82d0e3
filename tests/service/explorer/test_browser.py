"""The explorer page in a real headless Chromium against a live ``rnnlab serve``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); skipped
without them, except under CI=true where a missing browser is a failure.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._needs import missing
from tests._processes import Server, running

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TOKEN = "browser-test-token"


def _browser_or_skip() -> None:
    absent = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if absent:
        missing(f"{', '.join(absent)} not found: apt-get install chromium chromium-driver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

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
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,1100",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def serve(tmp_path: Path, **env: str) -> Server:
    server = Server({"RNNLAB_DATA_DIR": str(tmp_path / "data"), **env}, tmp_path / "server.log")
    server.wait_up()
    return server


def wait(driver: Any, condition: Any, timeout: float = 30) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def text(driver: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    value: str = driver.find_element(By.ID, element_id).text
    return value


def canvas_spread(driver: Any, element_id: str) -> float:
    """Standard deviation of the canvas's RGB values (0 for a blank or one-colour canvas)."""
    script = """
        const c = document.getElementById(arguments[0]);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0, sum = 0, sq = 0;
        for (let i = 0; i < d.length; i += 4) {
          for (let k = 0; k < 3; k++) { sum += d[i + k]; sq += d[i + k] * d[i + k]; n++; }
        }
        const mean = sum / n;
        return Math.sqrt(sq / n - mean * mean);
    """
    return float(driver.execute_script(script, element_id))


def click_weights(driver: Any, wx: float, wrec: float) -> None:
    """Click the surface where (wx, wrec) is drawn (the page's own mapping)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    overlay = driver.find_element(By.ID, "overlay")
    x, y = driver.execute_script("return toCanvas(arguments[0], arguments[1])", wx, wrec)
    width, height = overlay.size["width"], overlay.size["height"]
    ActionChains(driver).move_to_element_with_offset(
        overlay, round(x - width / 2), round(y - height / 2)
    ).click().perform()


def number(shown: str) -> float:
    assert re.fullmatch(r"-?\d+(\.\d+)?(e[+-]\d+)?", shown), shown
    return float(shown)


def test_heatmap_point_and_a_training_job(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    server = serve(tmp_path)
    with running(server):
        browser.get(server.url + "/")
        wait(
            browser,
            lambda d: d.find_element(By.ID, "surface").get_attribute("data-state") == "ready",
        )
        assert canvas_spread(browser, "surface") > 20, "the heatmap looks blank"
        assert canvas_spread(browser, "colourbar") > 20

        # Click (1, 2): the page shows the loss and gradient the API gives there.
        click_weights(browser, 1.0, 2.0)
        wait(browser, lambda d: text(d, "point-grad-wrec") not in {"–", "…"})
        shown = text(browser, "point-weights")
        wx, wrec = (float(v) for v in shown.strip("()").split(","))
        assert abs(wx - 1.0) < 0.02
        assert abs(wrec - 2.0) < 0.02
        expected = server.client.post("/gradient", json={"weights": {"wx": wx, "wrec": wrec}})
        api = expected.json()
        assert number(text(browser, "point-loss")) == pytest.approx(api["loss"], rel=1e-3)
        for axis in ("wx", "wrec"):
            value = number(text(browser, f"point-grad-{axis}"))
            assert value == pytest.approx(api["gradient"][axis], rel=1e-3)
        assert canvas_spread(browser, "grad-time") > 5, "no gradient-over-time plot"

        # Train the tutorial's run from (-1.5, 2) and watch it finish near (1, 1).
        form = browser.find_element(By.ID, "train-form")
        for name, value in (("wx", "-1.5"), ("wrec", "2"), ("iterations", "500")):
            field = form.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)
        browser.find_element(By.ID, "train-button").click()
        wait(
            browser,
            lambda d: (
                d.find_element(By.ID, "job-status").get_attribute("data-status") == "succeeded"
            ),
        )
        wait(
            browser,
            lambda d: (
                d.find_element(By.ID, "overlay").get_attribute("data-trajectory-points") == "501"
            ),
        )
        status = text(browser, "job-status")
        assert "(1.0014, 0.99967)" in status, status
        job_id = browser.find_element(By.ID, "job-status").get_attribute("data-job-id")
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"tr[data-job-id='{job_id}']"))

        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []


def test_a_generated_dataset_of_varying_lengths(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    server = serve(tmp_path)
    with running(server):
        browser.get(server.url + "/")
        wait(browser, lambda d: text(d, "surface-info").startswith("grid minimum"))
        tutorial_info = text(browser, "surface-info")
        form = browser.find_element(By.ID, "dataset-form")
        form.find_element(By.CSS_SELECTOR, "input[name=kind][value=spec]").click()
        for name, value in (("n_samples", "30"), ("length", "4"), ("max_length", "12")):
            field = form.find_element(By.NAME, name)
            field.clear()
            field.send_keys(value)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(browser, lambda d: text(d, "surface-info") not in {"", tutorial_info})
        wait(
            browser,
            lambda d: d.find_element(By.ID, "surface").get_attribute("data-state") == "ready",
        )
        grid = browser.find_element(By.NAME, "resolution").get_attribute("value")
        expected = server.client.get(
            "/loss-surface",
            params={
                "n_samples": 30,
                "min_length": 4,
                "max_length": 12,
                "seed": 0,
                "resolution": grid,
            },
        ).json()["min"]
        shown = re.search(r"grid minimum (\S+) at", text(browser, "surface-info"))
        assert shown is not None
        assert number(shown.group(1)) == pytest.approx(expected["loss"], rel=1e-3)
        assert canvas_spread(browser, "surface") > 20


def test_the_page_asks_for_the_token_and_retries(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    server = serve(tmp_path, RNNLAB_API_TOKEN=TOKEN)
    with running(server):
        assert httpx.get(server.url + "/loss-surface").status_code == 401
        browser.get(server.url + "/")
        dialog = wait(
            browser,
            lambda d: (
                d.find_element(By.ID, "token-dialog").get_attribute("open") is not None
                and d.find_element(By.ID, "token-dialog")
            ),
        )
        dialog.find_element(By.NAME, "token").send_keys(TOKEN)
        dialog.find_element(By.CSS_SELECTOR, "button[value=ok]").click()
        wait(
            browser,
            lambda d: d.find_element(By.ID, "surface").get_attribute("data-state") == "ready",
        )
        assert canvas_spread(browser, "surface") > 20
        stored = browser.execute_script("return sessionStorage.getItem('rnnlab.token')")
        assert stored == TOKEN
