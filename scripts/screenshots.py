"""Regenerate the README's pictures from a live server: three figures and the explorer page.

Without ``--url`` it starts ``rnnlab serve`` on a free port with a throwaway data dir and
stops it afterwards. Writes into ``--out`` (default docs/img):

- loss-surface.png        GET /figures/loss-surface.png (the tutorial's two panels)
- gradient-over-time.png  GET /figures/gradient-over-time.png
- job-trajectory.png      GET /jobs/{id}/figure.png of the tutorial's RProp run
- explorer.png            the explorer in headless Chromium, after that run and a click on (1, 2)

Usage: ``.venv/bin/python scripts/screenshots.py [--url URL] [--token TOKEN] [--out DIR]``.
Needs Debian's chromium and chromium-driver for the screenshot.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def local_server() -> Iterator[str]:
    """``rnnlab serve`` on a free port with a temporary data dir; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="rnnlab-screens-") as tmp:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RNNLAB_")}
        env.update(RNNLAB_DATA_DIR=str(Path(tmp) / "data"), PYTHONPATH=str(REPO))
        log = (Path(tmp) / "server.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"rnnlab serve did not start (log: {log.name})")
                time.sleep(0.1)
            yield url
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            log.close()


def save(client: httpx.Client, path: str, target: Path, **params: Any) -> None:
    response = client.get(path, params=params)
    response.raise_for_status()
    target.write_bytes(response.content)
    print(f"{target}  <- GET {path}")


def figures(client: httpx.Client, out: Path) -> str:
    """The three figures; returns the id of the training job it ran."""
    save(client, "/figures/loss-surface.png", out / "loss-surface.png")
    save(client, "/figures/gradient-over-time.png", out / "gradient-over-time.png")
    response = client.post("/train", params={"wait": 120}, json={})  # the tutorial's run
    response.raise_for_status()
    job = response.json()
    if job["status"] != "succeeded":
        raise RuntimeError(f"the training job did not succeed: {job}")
    save(client, f"/jobs/{job['id']}/figure.png", out / "job-trajectory.png")
    return str(job["id"])


def explorer(url: str, token: str | None, target: Path) -> None:
    """Screenshot of the page after training from (-1.5, 2) and clicking (1, 2)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory(prefix="rnnlab-chromium-") as profile:
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
            "--window-size=1240,1000",
        ):
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            wait = WebDriverWait(driver, 60, poll_frequency=0.05)
            driver.get(url + "/")
            if token:
                driver.execute_script("sessionStorage.setItem('rnnlab.token', arguments[0])", token)
                driver.refresh()
            surface = driver.find_element(By.ID, "surface")
            wait.until(lambda _: surface.get_attribute("data-state") == "ready")
            form = driver.find_element(By.ID, "train-form")
            for name, value in (("wx", "-1.5"), ("wrec", "2")):
                field = form.find_element(By.NAME, name)
                field.clear()
                field.send_keys(value)
            driver.find_element(By.ID, "train-button").click()
            status = driver.find_element(By.ID, "job-status")
            wait.until(lambda _: status.get_attribute("data-status") == "succeeded")
            overlay = driver.find_element(By.ID, "overlay")
            wait.until(lambda _: int(overlay.get_attribute("data-trajectory-points") or 0) > 100)
            driver.execute_script("guarded(inspect)({wx: 1, wrec: 2})")
            grad = driver.find_element(By.ID, "point-grad-wrec")
            wait.until(lambda _: grad.text not in {"–", "…"})
            height = driver.execute_script("return document.documentElement.scrollHeight")
            metrics = {
                "width": 1240,
                "height": int(height),
                "deviceScaleFactor": 1,
                "mobile": False,
            }
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            driver.execute_script("window.scrollTo(0, 0)")
            time.sleep(0.3)
            driver.save_screenshot(str(target))
            print(f"{target}  <- the explorer at {url}/")
        finally:
            driver.quit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--token", help="its API token, if it wants one")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    server = contextlib.nullcontext(args.url) if args.url else local_server()
    with server as url:
        headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
        with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
            figures(client, args.out)
        explorer(url, args.token, args.out / "explorer.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
