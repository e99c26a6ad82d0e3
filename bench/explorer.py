"""The explorer's instant redraw: drag the start square, time until the paths are redrawn.

Starts ``rnnlab serve`` on a free port (or uses ``--url``), opens the page in headless
Chromium and drags the start square to ``--drags`` random points of the tutorial's
surface. For each drag the page itself reports the time from the pointer event to the
end of the redraw of every live run's path (``POST /runs`` for each optimizer, then the
canvas), so the WebDriver round trips are not counted. Prints p50, p95 and the largest,
and the page's weight (bytes the browser transferred to show it).

Usage: ``.venv/bin/python -m bench.explorer [--drags 200] [--race rprop,irprop-,sgd]``.
The target is a p95 under 100 ms on the tutorial dataset over loopback.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import time
from typing import Any

from bench.service_bench import live_server
from scripts.chromium import chromium

DRAG = """
const [wx, wrec, done] = arguments;
const overlay = document.getElementById('overlay');
const [wx0, wx1, wr0, wr1] = overlay.dataset.window.split(',').map(Number);
const [left, top, right, bottom] = overlay.dataset.plot.split(',').map(Number);
const box = overlay.getBoundingClientRect();
const scale = box.width / overlay.width;
const at = (x, y) => [box.left + (left + (x - wx0) / (wx1 - wx0) * (right - left)) * scale,
                      box.top + (bottom - (y - wr0) / (wr1 - wr0) * (bottom - top)) * scale];
const [sx, sy] = overlay.dataset.start.split(',').map(Number);
const send = (type, [clientX, clientY]) => overlay.dispatchEvent(new PointerEvent(type,
  {pointerId: 7, clientX, clientY, bubbles: true, isPrimary: true}));
const before = Number(overlay.dataset.redraws);
send('pointerdown', at(sx, sy));
send('pointermove', at(wx, wrec));
const wait = () => Number(overlay.dataset.redraws) > before
  ? (send('pointerup', at(wx, wrec)), done(Number(overlay.dataset.lastRedrawMs)))
  : setTimeout(wait, 1);
wait();
"""

WEIGHT = """
const entries = [...performance.getEntriesByType('navigation'),
                 ...performance.getEntriesByType('resource')];
// The page itself: the document and its static files (the API's answers are its data).
const page = entries.filter((e) => new URL(e.name).pathname === '/'
  || new URL(e.name).pathname.startsWith('/static/'));
const sum = (list, key) => list.reduce((s, e) => s + e[key], 0);
return [sum(page, 'transferSize'), sum(page, 'decodedBodySize'), sum(entries, 'transferSize'),
        page.length];
"""


def measure(url: str, drags: int, race: str, seed: int = 1) -> dict[str, Any]:
    """Drag ``drags`` times; the page's redraw times in ms and its weight in bytes."""
    rng = random.Random(seed)
    with chromium(1280, 1100, logs=False) as driver:
        driver.set_script_timeout(30)
        driver.get(f"{url}/#race={race}")
        deadline = time.monotonic() + 60
        while driver.find_element("id", "overlay").get_attribute("data-redraws") in ("0", None):
            if time.monotonic() > deadline:
                raise RuntimeError("the page never drew its runs")
            time.sleep(0.05)
        time.sleep(0.5)
        page_bytes, page_decoded, all_bytes, files = driver.execute_script(WEIGHT)
        for _ in range(5):  # warm up: connections, the dataset's statistics
            driver.execute_async_script(DRAG, rng.uniform(-2.5, 2.5), rng.uniform(-2.5, 2.5))
        times = [
            float(driver.execute_async_script(DRAG, rng.uniform(-2.5, 2.5), rng.uniform(-2.5, 2.5)))
            for _ in range(drags)
        ]
    times.sort()
    return {
        "drags": drags,
        "race": race,
        "p50_ms": statistics.median(times),
        "p95_ms": times[max(0, round(0.95 * len(times)) - 1)],
        "max_ms": times[-1],
        "page_bytes": page_bytes,
        "page_decoded_bytes": page_decoded,
        "page_files": files,
        "first_view_bytes": all_bytes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--drags", type=int, default=200)
    parser.add_argument("--race", default="rprop,irprop-,sgd", help="optimizers run live")
    args = parser.parse_args(argv)
    server = contextlib.nullcontext(args.url) if args.url else live_server()
    with server as url:
        for race in dict.fromkeys(["rprop", args.race]):
            r = measure(url, args.drags, race)
            print(
                f"drag -> redraw, {r['race']} ({r['drags']} drags): p50 {r['p50_ms']:.1f} ms, "
                f"p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.1f} ms (target p95 < 100 ms)"
            )
        print(
            f"page weight: {r['page_bytes'] / 1024:.1f} KiB transferred in {r['page_files']} files "
            f"({r['page_decoded_bytes'] / 1024:.1f} KiB decoded); first view with its data: "
            f"{r['first_view_bytes'] / 1024:.1f} KiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
