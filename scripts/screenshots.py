"""Regenerate the README's pictures from a live server: three figures and three views of the lab.

Without ``--url`` it starts ``rnnlab serve`` on a free port with a throwaway data dir and
stops it afterwards. Writes into ``--out`` (default docs/img):

- loss-surface.png        GET /figures/loss-surface.png (the tutorial's two panels)
- gradient-over-time.png  GET /figures/gradient-over-time.png
- job-trajectory.png      GET /jobs/{id}/figure.png of the tutorial's RProp run
- explorer.png            the lab in headless Chromium: the tutorial's run, (1, 2) inspected
- lesson.png              the guided tour's step on exploding and vanishing gradients
- race.png                rprop, irprop- and sgd racing from one start

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
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

from scripts.chromium import chromium  # noqa: E402


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


def _wait(driver: Any, condition: Any, timeout: float = 60) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def _ready(driver: Any) -> None:
    """The surface drawn, the live runs computed, the point panel filled if asked for."""
    _wait(driver, lambda d: d.find_element("id", "surface").get_attribute("data-state") == "ready")
    _wait(driver, lambda d: int(d.find_element("id", "overlay").get_attribute("data-redraws")) > 0)
    _wait(driver, lambda d: d.find_element("id", "point-loss").text != "…")


def _race_finished(driver: Any) -> bool:
    status = driver.find_element("id", "run-status")
    return bool(
        status.get_attribute("data-at") == "500" and status.get_attribute("data-state") == "idle"
    )


def _shoot(driver: Any, target: Path, width: int) -> None:
    """The whole page at ``width`` CSS pixels, top to bottom."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    metrics = {"width": width, "height": int(height), "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)
    driver.save_screenshot(str(target))
    print(f"{target}  <- the explorer")


def explorer(url: str, token: str | None, out: Path) -> None:
    """Three views of the lab: the tutorial's run with (1, 2) inspected, a lesson, a race."""
    width = 1240
    with chromium(width, 1000, logs=False) as driver:
        driver.get(url + "/")
        if token:
            driver.execute_script("sessionStorage.setItem('rnnlab.token', arguments[0])", token)
        views = {
            "explorer.png": "#pt=1,2&gp=1,2;1,0.5;1,-2&race=rprop&it=500",
            "lesson.png": None,
            "race.png": "#start=2.5,-1.2&race=rprop,irprop-,sgd&it=500&gp=2.5,-1.2",
        }
        for name, fragment in views.items():
            if fragment is None:  # the tour's step on exploding and vanishing gradients
                driver.get(url + "/#lesson=0")
                _ready(driver)
                for _ in range(4):
                    driver.find_element("id", "lesson-next").click()
                _wait(driver, lambda d: d.find_element("id", "lesson-step").text == "Step 5 of 7")
                _wait(
                    driver,
                    lambda d: d.find_element("id", "grad-time").get_attribute("data-series") == "2",
                )
            else:
                driver.get(url + "/" + fragment)
                driver.refresh()
                _ready(driver)
                if name == "race.png":
                    driver.find_element("id", "race").click()
                    _wait(driver, _race_finished)
            _wait(driver, lambda d: d.find_element("id", "forward-info").text != "")
            _shoot(driver, out / name, width)
            driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


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
        explorer(url, args.token, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
