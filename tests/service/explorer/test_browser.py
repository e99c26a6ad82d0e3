"""The explorer lab in a real headless Chromium against a live ``rnnlab serve``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); skipped
without them, except under CI=true where a missing browser is a failure. Nothing here
depends on the machine's speed: conditions are polled with deadlines, never timed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests._processes import Server
from tests.service.explorer._page import (
    attr,
    browser,
    classes,
    click_weights,
    drag,
    open_page,
    serve,
    text,
    wait,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    live = serve(tmp_path_factory.mktemp("lab"))
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def page() -> Iterator[Any]:
    with browser() as driver:
        yield driver


def number(shown: str) -> float:
    assert re.fullmatch(r"-?\d+(\.\d+)?(e[+-]\d+)?", shown), shown
    return float(shown)


def legend(driver: Any) -> list[str]:
    """The legend's entries as text (read at once: the legend may be rebuilt meanwhile)."""
    script = "return [...document.querySelectorAll('#legend li')].map((li) => li.innerText)"
    items: list[str] = driver.execute_script(script)
    return items


def severe(driver: Any) -> list[Any]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_a_point_its_gradient_and_the_gradient_through_time(page: Any, server: Server) -> None:
    open_page(page, server.url)
    click_weights(page, 1.0, 2.0)
    wait(page, lambda d: text(d, "point-grad-wrec") not in {"–", "…"})
    wx, wrec = (float(v) for v in text(page, "point-weights").strip("()").split(","))
    assert abs(wx - 1.0) < 0.05
    assert abs(wrec - 2.0) < 0.05
    api = server.client.post("/gradient", json={"weights": {"wx": wx, "wrec": wrec}}).json()
    assert number(text(page, "point-loss")) == pytest.approx(api["loss"], rel=1e-3)
    assert number(text(page, "point-grad-wrec")) == pytest.approx(api["gradient"]["wrec"], rel=1e-3)
    # A second point joins the first on the same axis: exploding and vanishing side by side.
    click_weights(page, 1.0, 0.5)
    wait(page, lambda d: attr(d, "grad-time", "data-series") == "2")
    ticks = attr(page, "grad-time", "data-ticks").split()
    assert "0" in ticks
    assert ticks[0] == "−" + ticks[-1]  # symmetric, the top labelled
    assert len(page.find_elements("css selector", "#grad-legend li")) == 2
    assert severe(page) == []


def test_bug8_long_sequences_label_zero_and_the_top(page: Any, server: Server) -> None:
    spec = '{"n_samples":5,"length":300,"seed":1}'
    open_page(page, server.url, f"#ds=spec:{spec}&gp=1,1.5;1,0.5")
    wait(page, lambda d: attr(d, "grad-time", "data-series") == "2")
    ticks = attr(page, "grad-time", "data-ticks").split()
    assert "0" in ticks
    assert ticks[-1].startswith("1e")
    assert ticks[0] == "−" + ticks[-1]
    legend_text = text(page, "grad-legend")
    assert "(1, 1.5)" in legend_text


def test_run_controls_step_play_pause_stop_reset(page: Any, server: Server) -> None:
    open_page(page, server.url)
    assert attr(page, "overlay", "data-trajectory-points") == "501"
    assert int(attr(page, "loss-chart", "data-points")) == 501
    assert attr(page, "loss-chart", "data-lines") == "1"
    assert int(attr(page, "step-chart", "data-points")) > 400
    status = "run-status"
    page.find_element("id", "reset-run").click()
    wait(page, lambda d: attr(d, status, "data-at") == "0")
    page.find_element("id", "step").click()
    wait(page, lambda d: attr(d, status, "data-at") == "1")
    page.find_element("id", "step-n").clear()
    page.find_element("id", "step-n").send_keys("10")
    page.find_element("id", "step-many").click()
    wait(page, lambda d: attr(d, status, "data-at") == "11")
    assert attr(page, "overlay", "data-trajectory-points") == "12"
    page.find_element("id", "stop").click()  # the runs end here
    wait(page, lambda d: d.find_element("id", "iterations").get_attribute("value") == "11")
    wait(page, lambda d: attr(d, "overlay", "data-trajectory-points") == "12")
    page.find_element("id", "iterations").clear()
    page.find_element("id", "iterations").send_keys("500\t")
    wait(page, lambda d: attr(d, "overlay", "data-trajectory-points") == "501")
    page.find_element("id", "play").click()
    page.find_element("id", "pause").click()
    wait(page, lambda d: attr(d, status, "data-state") == "idle")
    paused = int(attr(page, status, "data-at"))
    assert 0 <= paused <= 500
    page.find_element("id", "play").click()
    wait(
        page,
        lambda d: attr(d, status, "data-at") == "500" and attr(d, status, "data-state") == "idle",
    )
    assert "rprop loss" in text(page, status)


def test_dragging_the_start_redraws_the_paths_without_a_job(page: Any, server: Server) -> None:
    jobs_before = len(server.client.get("/jobs?limit=500").json()["items"])
    open_page(page, server.url, "#race=rprop,sgd")
    redraws = int(attr(page, "overlay", "data-redraws"))
    drag(page, (-1.5, 2.0), (1.5, 0.5))
    wait(page, lambda d: int(attr(d, "overlay", "data-redraws")) > redraws + 1)
    wait(page, lambda d: attr(d, "start-wx", "value") != "-1.5")
    start = tuple(float(v) for v in attr(page, "overlay", "data-start").split(","))
    assert abs(start[0] - 1.5) < 0.1
    assert abs(start[1] - 0.5) < 0.1
    assert float(attr(page, "overlay", "data-last-redraw-ms")) >= 0
    assert len(legend(page)) == 2
    assert len(server.client.get("/jobs?limit=500").json()["items"]) == jobs_before


def test_race_from_here_keep_hide_and_remove(page: Any, server: Server) -> None:
    open_page(page, server.url)
    page.find_element("id", "race").click()
    wait(page, lambda d: len(legend(d)) == 3)
    wait(page, lambda d: attr(d, "run-status", "data-at") == "500")
    items = legend(page)
    assert any("sgd" in item and "diverged" in item for item in items), items
    assert any("rprop" in item and "done" in item for item in items), items
    colours = {
        e.value_of_css_property("background-color")
        for e in page.find_elements("css selector", "#legend .swatch")
    }
    assert len(colours) == 3  # every path its own colour (and its own end marker)
    page.find_element("id", "keep").click()
    wait(page, lambda d: len(legend(d)) == 6)
    drawn = int(attr(page, "overlay", "data-trajectory-points"))
    page.find_element("css selector", "#legend li:nth-child(4) input[type=checkbox]").click()
    wait(page, lambda d: int(attr(d, "overlay", "data-trajectory-points")) < drawn)
    page.find_element("css selector", "#legend li:nth-child(5) button[aria-label^=Remove]").click()
    wait(page, lambda d: len(legend(d)) == 5)


def test_the_url_reproduces_the_view_in_a_fresh_browser_and_history_walks_it(
    page: Any, server: Server
) -> None:
    open_page(page, server.url)
    page.find_element("id", "zoom-in").click()
    wait(page, lambda d: attr(d, "wx_min", "value") == "-1.5")
    click_weights(page, 1.0, 1.0)
    wait(page, lambda d: text(d, "point-loss") not in {"–", "…"})
    page.find_element("id", "keep").click()
    wait(page, lambda d: len(legend(d)) == 2)
    link = page.current_url
    shown = text(page, "point-weights")
    assert "kept=" in unquote(link)
    with browser() as other:
        open_page(other, link.split("/#")[0], "#" + link.split("#", 1)[1])
        wait(other, lambda d: text(d, "point-weights") == shown)
        assert attr(other, "wx_min", "value") == "-1.5"
        wait(other, lambda d: len(legend(d)) == 2)
    # Back: before the run was kept; back again: before the point was inspected.
    page.back()
    wait(page, lambda d: len(legend(d)) == 1)
    page.back()
    wait(page, lambda d: text(d, "point-weights") == "click the surface")
    page.forward()
    wait(page, lambda d: text(d, "point-weights") == shown)


def test_the_guided_tour(page: Any, server: Server) -> None:
    open_page(page, server.url)
    page.find_element("id", "lesson-open").click()
    titles = []
    for step in range(7):
        wait(page, lambda d, n=step: text(d, "lesson-step") == f"Step {n + 1} of 7")
        titles.append(text(page, "lesson-title"))
        assert f"lesson={step}" in page.current_url
        if step == 3:
            wait(page, lambda d: attr(d, "grad-time", "data-series") == "1")
        if step == 4:
            wait(page, lambda d: attr(d, "grad-time", "data-series") == "2")
        if step == 5:
            wait(page, lambda d: any("sgd" in i and "diverged" in i for i in legend(d)))
        if step < 6:
            page.find_element("id", "lesson-next").click()
    assert len(set(titles)) == 7
    wait(page, lambda d: any(i.startswith("live: rprop") and "done" in i for i in legend(d)))
    wait(page, lambda d: any("sgd" in i and "diverged" in i for i in legend(d)))
    assert page.find_element("id", "lesson-next").get_attribute("disabled") is not None
    page.find_element("id", "lesson-close").click()
    wait(page, lambda d: not d.find_element("id", "lesson").is_displayed())


def test_keyboard_only_inspect_zoom_start_and_open_a_run(page: Any, server: Server) -> None:
    from selenium.webdriver.common.keys import Keys

    open_page(page, server.url)
    overlay = page.find_element("id", "overlay")
    page.execute_script("arguments[0].focus()", overlay)
    overlay.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_UP, Keys.ENTER)
    wait(page, lambda d: text(d, "point-loss") not in {"–", "…"})
    assert text(page, "point-weights") == "(0.12, 0.12)"
    assert "cursor at" in text(page, "status") or "Inspecting" in text(page, "status")
    overlay.send_keys("s")
    wait(page, lambda d: attr(d, "overlay", "data-start") == "0.12,0.12")
    overlay.send_keys("+")
    wait(page, lambda d: attr(d, "wx_min", "value") != "-3")
    overlay.send_keys("0")
    wait(page, lambda d: attr(d, "wx_min", "value") == "-3")
    details = page.find_element("css selector", "#legend li button")
    details.send_keys(Keys.ENTER)
    wait(page, lambda d: "iterations" in text(d, "run-details"))
    assert page.find_element("id", "status").get_attribute("aria-live") == "polite"


def test_phone_viewport_fits_and_touch_zooms(server: Server) -> None:
    with browser(width=390, height=844, mobile=True) as phone:
        open_page(phone, server.url)
        overflow = phone.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        # A one-finger drag across the surface zooms into the rectangle it spans.
        rect = phone.execute_script(
            "const r = document.getElementById('overlay').getBoundingClientRect();"
            "return [r.left, r.top, r.width, r.height];"
        )
        left, top, width, height = rect
        x0, y0 = left + width * 0.3, top + height * 0.3
        x1, y1 = left + width * 0.6, top + height * 0.6

        def touch(kind: str, points: list[tuple[float, float]]) -> None:
            phone.execute_cdp_cmd(
                "Input.dispatchTouchEvent",
                {"type": kind, "touchPoints": [{"x": x, "y": y} for x, y in points]},
            )

        touch("touchStart", [(x0, y0)])
        for i in range(1, 6):
            touch("touchMove", [(x0 + (x1 - x0) * i / 5, y0 + (y1 - y0) * i / 5)])
        touch("touchEnd", [])
        wait(
            phone,
            lambda d: float(attr(d, "wx_max", "value")) - float(attr(d, "wx_min", "value")) < 3,
        )
        wait(phone, lambda d: attr(d, "surface", "data-state") == "ready")
        # Two fingers apart: a pinch zooms in around their middle.
        before = float(attr(phone, "wx_max", "value")) - float(attr(phone, "wx_min", "value"))
        cx, cy = left + width / 2, top + height / 2
        touch("touchStart", [(cx - 20, cy), (cx + 20, cy)])
        for i in range(1, 6):
            touch("touchMove", [(cx - 20 - 12 * i, cy), (cx + 20 + 12 * i, cy)])
        touch("touchEnd", [])
        wait(
            phone,
            lambda d: (
                float(attr(d, "wx_max", "value")) - float(attr(d, "wx_min", "value")) < before * 0.7
            ),
        )


def test_axe_finds_no_accessibility_violations(page: Any, server: Server) -> None:
    from scripts.chromium import AXE, axe_source

    if not AXE.exists():
        from tests._needs import missing

        missing("axe-core is not installed: npm ci")
    open_page(page, server.url)
    click_weights(page, 1.0, 2.0)
    wait(page, lambda d: text(d, "point-loss") not in {"–", "…"})
    page.find_element("id", "lesson-open").click()
    wait(page, lambda d: text(d, "lesson-step") == "Step 1 of 7")
    page.find_element("id", "keep").click()
    wait(page, lambda d: len(legend(d)) == 2)
    page.execute_script(axe_source())
    result = page.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then((r) => done(r.violations.map((v) => ["
        "  v.id, v.help, v.nodes.map((n) => n.target.join(' ')).slice(0, 5)])));"
    )
    assert result == []


def test_a_long_run_trains_as_a_job_and_comes_back_thinned(page: Any, server: Server) -> None:
    page.get(server.url + "/#it=20000")
    wait(page, lambda d: "Play trains them as jobs" in text(d, "run-status"))
    page.find_element("id", "play").click()
    wait(page, lambda d: any("job" in i and "done" in i for i in legend(d)), timeout=60)
    job_item = next(i for i in page.find_elements("css selector", "#legend li") if "job" in i.text)
    job_item.find_element("css selector", "button").click()
    wait(page, lambda d: "thinned to 2000 of 20001 points" in text(d, "run-details"))
    wait(page, lambda d: d.find_elements("css selector", "#jobs-list tr"))


# ---- the bugs of the issue, each reproduced -----------------------------------------------


def test_bug1_enter_submits_the_token_and_a_wrong_one_says_so(tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    token = "browser-test-token"
    server = serve(tmp_path, RNNLAB_API_TOKEN=token)
    try:
        with browser() as page:
            page.get(server.url + "/")
            dialog = wait(
                page,
                lambda d: (
                    d.find_element("id", "token-dialog").get_attribute("open") is not None
                    and d.find_element("id", "token-dialog")
                ),
            )
            dialog.find_element("name", "token").send_keys("wrong", Keys.ENTER)
            wait(page, lambda d: "not accepted" in text(d, "token-error"))
            assert page.find_element("id", "token-dialog").get_attribute("open") is not None
            page.find_element("name", "token").send_keys(token, Keys.ENTER)
            wait(page, lambda d: attr(d, "surface", "data-state") == "ready")
            assert page.execute_script("return sessionStorage.getItem('rnnlab.token')") == token
    finally:
        server.stop()


def test_bug2_a_rejected_dataset_id_is_not_kept(page: Any, server: Server) -> None:
    open_page(page, server.url)
    page.find_element("css selector", "input[name=kind][value=id]").click()
    field = page.find_element("id", "dataset_id")
    field.send_keys("u-00000000000000000000\n")
    wait(page, lambda d: "no stored dataset" in text(d, "dataset-error"))
    assert page.find_element("css selector", "input[name=kind][value=tutorial]").is_selected()
    assert "ds=tutorial" in page.current_url
    click_weights(page, 1.0, 1.0)  # the page still works on the dataset it shows
    wait(page, lambda d: text(d, "point-loss") not in {"–", "…"})
    assert not page.find_element("id", "point-error").is_displayed()


def test_bug3_and_bug9_errors_next_to_the_control_and_a_rejected_window_undone(
    page: Any, server: Server
) -> None:
    open_page(page, server.url)
    grid = page.find_element("id", "resolution")
    grid.clear()
    grid.send_keys("5000\n")  # over the server's limit: refused
    wait(page, lambda d: d.find_element("id", "window-error").is_displayed())
    message = text(page, "window-error")
    assert "more than this server allows" in message or "not valid" in message
    wait(page, lambda d: attr(d, "resolution", "value") == "120")  # the form shows what is drawn
    assert text(page, "status") != message  # said where it happened, not in the header
    page.find_element("id", "zoom-in").click()
    wait(page, lambda d: not d.find_element("id", "window-error").is_displayed())


def test_bug9_an_empty_learning_rate_means_the_default(page: Any, server: Server) -> None:
    open_page(page, server.url, "#race=sgd&opt=sgd")
    field = page.find_element("id", "hp-learning_rate")
    field.clear()
    field.send_keys("0.00001\t")
    wait(page, lambda d: "learning_rate" in unquote(d.current_url))
    field = page.find_element("id", "hp-learning_rate")
    field.clear()
    field.send_keys("\t")
    wait(page, lambda d: "learning_rate" not in unquote(d.current_url))
    wait(page, lambda d: any("sgd (defaults)" in i for i in legend(d)))
    assert not page.find_element("id", "run-error").is_displayed()


def test_bug4_5_6_job_ids_apart_selection_kept_no_false_overflow(
    tmp_path: Path,
) -> None:
    server = serve(tmp_path, RNNLAB_EMBEDDED_WORKERS="0")  # jobs stay queued
    try:
        ids = [server.client.post("/train", json={}).json()["id"] for _ in range(2)]
        with browser() as page:
            open_page(page, server.url)
            wait(page, lambda d: len(d.find_elements("css selector", "#jobs-list tr")) == 2)
            script = (  # read at once: the list is rebuilt as the jobs are watched
                "return [...document.querySelectorAll('#jobs-list tr')]"
                ".map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText))"
            )
            rows = page.execute_script(script)
            shown = [cells[0] for cells in rows]
            assert len(set(shown)) == 2
            assert {i[-6:] for i in ids} == set(shown)
            for cells in rows:
                assert cells[1] == "queued"
                assert "overflow" not in cells[2]
                assert cells[2] == "–"
    finally:
        server.stop()


def test_bug5_the_selected_job_stays_selected(page: Any, server: Server) -> None:
    job = server.client.post("/train?wait=30", json={"iterations": 50}).json()
    open_page(page, server.url)
    selector = f"#jobs-list tr[data-job-id='{job['id']}']"
    wait(page, lambda d: d.find_elements("css selector", selector))
    page.find_element("css selector", f"{selector} button").click()
    wait(
        page,
        lambda d: "selected" in classes(d, selector).split(),
    )
    page.find_element("id", "refresh-jobs").click()
    wait(
        page,
        lambda d: "selected" in classes(d, selector).split(),
    )
    wait(page, lambda d: any(job["id"][-6:] in i for i in legend(d)))


def test_bug7_a_new_dataset_clears_the_point_and_hides_other_data_runs(
    page: Any, server: Server
) -> None:
    open_page(page, server.url)
    click_weights(page, 1.0, 2.0)
    wait(page, lambda d: text(d, "point-loss") not in {"–", "…"})
    page.find_element("id", "keep").click()
    wait(page, lambda d: len(legend(d)) == 2)
    page.find_element("css selector", "input[name=kind][value=spec]").click()
    wait(page, lambda d: "ds=spec" in d.current_url)
    wait(page, lambda d: text(d, "point-weights") == "click the surface")
    assert text(page, "point-loss") == "–"
    wait(page, lambda d: any("other dataset, not drawn" in i for i in legend(d)))
    wait(page, lambda d: attr(d, "overlay", "data-trajectory-points") == "501")  # live run only
    # The live run trains on the dataset the form shows.
    spec = {"n_samples": 50, "length": 20, "seed": 0, "p_one": 0.5, "generator": "pcg64"}
    expected = server.client.post("/runs", json={"dataset": spec}).json()["starts"][0]["loss"]
    wait(page, lambda d: f"{float(f'{expected:.5g}'):.5g}"[:4] in text(d, "run-status"))
