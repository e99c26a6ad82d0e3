"""service.figures.drawing: core results in, real PNG/SVG pictures out (no server involved)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from numpy.typing import NDArray

from core.datasets import generate, tutorial_dataset
from core.surface import TUTORIAL_POINTS, gradient_over_time, loss_surface
from service.figures import drawing as figures
from service.figures.paths import job_windows
from tests.service._images import assert_png, assert_svg, png_pixels
from tests.service.figures.test_paths import tutorial_like_path

SIZE = figures.ImageSize(width=800, height=320, dpi=80)


@dataclass(frozen=True)
class Path:
    wx: NDArray[np.float64]
    wrec: NDArray[np.float64]
    loss: NDArray[np.float64]


def tutorial_panels() -> list[figures.Surface]:
    data = tutorial_dataset()
    return [
        loss_surface(data, (-3, 3), (-3, 3), 50, 50),
        loss_surface(data, (-0.1, 2.1), (-0.1, 2.1), 50, 50),
    ]


def test_loss_surface_png_has_the_asked_size_and_content() -> None:
    fig = figures.loss_surface_figure(tutorial_panels(), TUTORIAL_POINTS, SIZE)
    assert_png(figures.render(fig, "png"), 800, 320)


def test_loss_surface_svg_is_well_formed() -> None:
    fig = figures.loss_surface_figure(tutorial_panels(), TUTORIAL_POINTS, SIZE)
    data = figures.render(fig, "svg")
    root = assert_svg(data)
    assert root.get("width") == "720pt"  # 800 px at 80 dpi: 10 in
    assert b"Loss surface" in data


def test_same_figure_renders_to_the_same_bytes() -> None:
    first = figures.render(figures.loss_surface_figure(tutorial_panels(), [], SIZE), "png")
    again = figures.render(figures.loss_surface_figure(tutorial_panels(), [], SIZE), "png")
    assert first == again


def test_overflowed_cells_render_hatched_instead_of_crashing() -> None:
    long = generate(30, 2000, seed=3)
    surface = loss_surface(long, (-3, 3), (-50, 50), 40, 40)
    assert surface.overflow
    fig = figures.loss_surface_figure([surface], TUTORIAL_POINTS, figures.ImageSize(500, 400))
    pixels = assert_png(figures.render(fig, "png"), 500, 400)
    grey = np.all(np.abs(pixels[..., :3] - 200 / 255) < 0.02, axis=-1)
    assert grey.mean() > 0.1, "overflow region should be drawn in the overflow grey"
    assert_svg(figures.render(fig, "svg"))


def test_a_surface_that_overflowed_everywhere_still_renders() -> None:
    wx = np.linspace(-1, 1, 5)
    surface = Path(wx=wx, wrec=wx, loss=np.full((5, 5), np.inf))
    fig = figures.loss_surface_figure([surface], [], figures.ImageSize(300, 300))  # type: ignore[list-item]
    png_pixels(figures.render(fig, "png"))


def test_point_colours_follow_the_gradient_regime() -> None:
    colours = figures.point_colours(TUTORIAL_POINTS)
    assert len(set(colours)) == len(colours)
    exploding = {colours[1], colours[2]}
    assert exploding <= set(figures._EXPLODING)
    assert {colours[3], colours[4], colours[5]} <= set(figures._VANISHING)
    assert colours[0] in figures._STABLE


def test_gradient_over_time_png_and_svg() -> None:
    result = gradient_over_time(tutorial_dataset(), TUTORIAL_POINTS)
    fig = figures.gradient_over_time_figure(result, TUTORIAL_POINTS, figures.ImageSize(700, 400))
    assert_png(figures.render(fig, "png"), 700, 400)
    svg = figures.render(fig, "svg")
    assert_svg(svg)
    assert fig.axes[0].get_yscale() == "symlog"
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["(2, 1)", "(1, 2)", "(1, -2)", "(1, 0)", "(1, 0.5)", "(1, -0.5)"]


def test_gradient_over_time_with_inf_and_nan_series() -> None:
    result = gradient_over_time(generate(30, 2000, seed=3), TUTORIAL_POINTS)
    assert not np.isfinite(result.grads).all()
    fig = figures.gradient_over_time_figure(result, TUTORIAL_POINTS, figures.ImageSize(600, 400))
    assert_png(figures.render(fig, "png"), 600, 400)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "(1, 2) overflow" in labels


def test_trajectory_figure_marks_start_and_final_point() -> None:
    paths = [tutorial_like_path((-1.5, 2), (1.0, 1.0)), tutorial_like_path((2.5, -1), (1, 1))]
    overview, zoom = job_windows(paths, 50)
    data = tutorial_dataset()
    panels = [
        loss_surface(data, (w.wx_min, w.wx_max), (w.wrec_min, w.wrec_max), 40, 40)
        for w in (overview, zoom)
    ]
    fig = figures.trajectory_figure(panels, paths, figures.ImageSize(900, 380))
    assert_png(figures.render(fig, "png"), 900, 380)
    assert_svg(figures.render(fig, "svg"))
    stars = [line for line in fig.axes[0].get_lines() if line.get_marker() == "*"]
    assert len(stars) == 2


def test_empty_panel_list_is_an_error() -> None:
    with pytest.raises(ValueError, match="panel"):
        figures.loss_surface_figure([], [], SIZE)


@pytest.mark.parametrize(
    ("width", "height", "dpi"), [(100, 100, 300), (4000, 100, 300), (137, 401, 77)]
)
def test_small_images_at_high_dpi_keep_their_pixel_size(width: int, height: int, dpi: int) -> None:
    size = figures.ImageSize(width, height, dpi)
    surface = figures.loss_surface_figure(tutorial_panels(), TUTORIAL_POINTS, size)
    assert png_pixels(figures.render(surface, "png")).shape[:2] == (height, width)
    result = gradient_over_time(tutorial_dataset(), TUTORIAL_POINTS)
    lines = figures.gradient_over_time_figure(result, TUTORIAL_POINTS, size)
    assert png_pixels(figures.render(lines, "png")).shape[:2] == (height, width)


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_the_same_figure_is_the_same_bytes(fmt: str) -> None:
    """What a strong ETag promises: redrawing gives the very same file."""
    data = tutorial_dataset()
    series = gradient_over_time(data, [(1.0, 2.0), (1.0, 0.5)])
    first, second = (
        figures.render(
            figures.gradient_over_time_figure(series, [(1.0, 2.0), (1.0, 0.5)], SIZE), fmt
        )  # type: ignore[arg-type]
        for _ in range(2)
    )
    assert first == second
