"""The tutorial's figures as images: core results in, PNG or SVG bytes out.

Pure functions over arrays. Each call builds its own `matplotlib.figure.Figure`
(no pyplot, no global state) and renders it with the Agg or SVG backend. The ``*_image``
functions do both in one call over plain data, so that a process of
``service.figures.renderer`` can run them. Over 300 lines because each of the three
figures is drawn here in full (axes, colours, annotations), next to the helpers they share.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator
from numpy.typing import NDArray

from service.figures.paths import Path, drawable

__all__ = [
    "MEDIA_TYPES",
    "TUTORIAL_LEVELS",
    "ImageFormat",
    "ImageSize",
    "gradient_over_time_figure",
    "gradient_over_time_image",
    "loss_surface_figure",
    "loss_surface_image",
    "point_colours",
    "render",
    "trajectory_figure",
    "trajectory_image",
]

ImageFormat = Literal["png", "svg"]
MEDIA_TYPES: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml"}

# The tutorial's contour levels on loss + 1, also the colour scale.
TUTORIAL_LEVELS: NDArray[np.float64] = np.logspace(-0.2, 8, 30)
COLOURMAP = "viridis"
OVERFLOW_COLOUR = "#c8c8c8"  # cells whose loss overflowed float64 (inf/nan)
OVERFLOW_HATCH = "xx"

# Point colours by regime of the backward pass: |wrec| > 1 explodes, < 1 vanishes.
_EXPLODING = ("#1f4fd8", "#7b3fbf", "#00a3c4", "#3d6b9e")
_VANISHING = ("#1a9850", "#66bd63", "#00735a", "#a6d96a")
_STABLE = ("#d62728", "#ff7f0e", "#e377c2", "#8c564b")
_TRAJECTORY_COLOURS = ("#ffffff", "#ff7f0e", "#ff4fa3", "#00e5ff", "#ffe000", "#b2ff59")

# matplotlib does not promise thread safety; rendering is short, so one at a time.
_render_lock = threading.Lock()


class Surface(Protocol):
    """A loss surface as `core.surface.loss_surface` returns it (row i is wrec[i])."""

    @property
    def wx(self) -> NDArray[np.float64]: ...
    @property
    def wrec(self) -> NDArray[np.float64]: ...
    @property
    def loss(self) -> NDArray[np.float64]: ...


class GradientSeries(Protocol):
    """`core.surface.GradientOverTime`: grads[i, k] = sum over sequences of dξ/dS_k."""

    @property
    def timesteps(self) -> NDArray[Any]: ...
    @property
    def grads(self) -> NDArray[np.float64]: ...


@dataclass(frozen=True, slots=True)
class ImageSize:
    """Pixel size and resolution of an image."""

    width: int
    height: int
    dpi: int = 100

    def figure(self, min_inches: tuple[float, float], **kwargs: Any) -> Figure:
        """A Figure of exactly this many pixels, at least ``min_inches`` big.

        A small image at a high dpi would leave no room for the axes, so the dpi is
        lowered (text and lines get smaller) until the figure is big enough in inches.
        """
        dpi = min(float(self.dpi), self.width / min_inches[0], self.height / min_inches[1])
        return Figure(figsize=(self.width / dpi, self.height / dpi), dpi=dpi, **kwargs)


def render(fig: Figure, fmt: ImageFormat) -> bytes:
    """The figure as PNG or SVG bytes."""
    buf = io.BytesIO()
    with _render_lock:
        FigureCanvasAgg(fig)
        # No dates, and SVG ids from a fixed salt rather than a random one: the same figure
        # gives the same bytes, as its strong ETag promises.
        metadata = {"Date": None} if fmt == "svg" else {"Software": "rnnlab"}
        with matplotlib.rc_context({"svg.hashsalt": "rnnlab"}):
            fig.savefig(buf, format=fmt, dpi=fig.dpi, metadata=metadata)
    return buf.getvalue()


def loss_surface_image(
    panels: Sequence[Surface],
    points: Sequence[tuple[float, float]],
    size: ImageSize,
    fmt: ImageFormat,
) -> bytes:
    """``loss_surface_figure`` rendered: the bytes of the image."""
    return render(loss_surface_figure(panels, points, size), fmt)


def gradient_over_time_image(
    result: GradientSeries,
    points: Sequence[tuple[float, float]],
    size: ImageSize,
    fmt: ImageFormat,
) -> bytes:
    """``gradient_over_time_figure`` rendered: the bytes of the image."""
    return render(gradient_over_time_figure(result, points, size), fmt)


def trajectory_image(
    panels: Sequence[Surface],
    paths: Sequence[Path],
    size: ImageSize,
    best: int | None,
    title: str,
    fmt: ImageFormat,
) -> bytes:
    """``trajectory_figure`` rendered: the bytes of the image."""
    return render(trajectory_figure(panels, paths, size, best=best, title=title), fmt)


def point_colours(points: Sequence[tuple[float, float]]) -> list[str]:
    """One colour per (wx, wrec) point: blue family if |wrec| > 1, green if < 1, red if 1."""
    used = {"exploding": 0, "vanishing": 0, "stable": 0}
    colours = []
    for _, wrec in points:
        if abs(wrec) > 1:
            regime, palette = "exploding", _EXPLODING
        elif abs(wrec) < 1:
            regime, palette = "vanishing", _VANISHING
        else:
            regime, palette = "stable", _STABLE
        colours.append(palette[used[regime] % len(palette)])
        used[regime] += 1
    return colours


def loss_surface_figure(
    panels: Sequence[Surface],
    points: Sequence[tuple[float, float]],
    size: ImageSize,
    *,
    title: str = "Loss surface",
) -> Figure:
    """The tutorial's loss-surface figure: one panel per surface, a shared log colour bar."""
    fig, axes = _surface_panels(panels, size, title=title)
    colours = point_colours(points)
    for ax in axes:
        for (wx, wrec), colour in zip(points, colours, strict=True):
            ax.plot(
                [wx],
                [wrec],
                marker="o",
                linestyle="none",
                color=colour,
                markeredgecolor="white",
                markersize=9,
                label=f"({wx:g}, {wrec:g})",
            )
    return fig


def trajectory_figure(
    panels: Sequence[Surface],
    trajectories: Sequence[Path],
    size: ImageSize,
    *,
    best: int | None = None,
    title: str = "Training trajectory",
) -> Figure:
    """Each trajectory drawn on the loss surface panels, its start and final point marked.

    The final point of trajectory ``best`` (the reported one of a multi-start job; the
    only one otherwise) is the large red star.
    """
    fig, axes = _surface_panels(panels, size, title=title)
    if best is None and len(trajectories) == 1:
        best = 0
    for ax in axes:
        for i, path in enumerate(trajectories):
            wx, wrec = drawable(path)
            if wx.size == 0:
                continue
            colour = _TRAJECTORY_COLOURS[i % len(_TRAJECTORY_COLOURS)]
            ax.plot(wx, wrec, color=colour, linewidth=0.8, alpha=0.8)
            ax.plot(wx, wrec, "o", color=colour, markersize=2.5, markeredgewidth=0)
            ax.plot([wx[0]], [wrec[0]], "s", color=colour, markeredgecolor="black", markersize=7)
            final_colour, final_size = ("#ff2020", 16) if i == best else (colour, 11)
            ax.plot(
                [wx[-1]],
                [wrec[-1]],
                "*",
                color=final_colour,
                markeredgecolor="black",
                markeredgewidth=0.6,
                markersize=final_size,
                zorder=6 if i == best else 5,
            )
    handles = [
        _marker_handle("s", "white", "start"),
        _marker_handle("*", "#ff2020", "final point" if len(trajectories) < 2 else "best final"),
    ]
    axes[-1].legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.8)
    return fig


def _marker_handle(marker: str, colour: str, label: str) -> Line2D:
    """A legend entry: a marker without a line."""
    return Line2D(
        [],
        [],
        marker=marker,
        linestyle="none",
        color=colour,
        markeredgecolor="black",
        markersize=8,
        label=label,
    )


def gradient_over_time_figure(
    result: GradientSeries,
    points: Sequence[tuple[float, float]],
    size: ImageSize,
) -> Figure:
    """dξ/dS_k for each point on a symlog axis, backpropagating from k = n to k = 0."""
    fig = size.figure((4.0, 2.5))
    ax = fig.add_subplot(1, 1, 1)
    timesteps = np.asarray(result.timesteps)
    grads = np.asarray(result.grads, dtype=np.float64)
    colours = point_colours(points)
    styles = ("-", "--", ":", "-.")
    for i, ((wx, wrec), colour) in enumerate(zip(points, colours, strict=True)):
        series = np.where(np.isfinite(grads[i]), grads[i], np.nan)
        label = f"({wx:g}, {wrec:g})"
        if not np.isfinite(grads[i]).all():
            label += " overflow"
        ax.plot(
            timesteps,
            series,
            linestyle=styles[i % len(styles)],
            color=colour,
            marker="o" if timesteps.size <= 60 else None,  # dots only where they stay apart
            markersize=3,
            linewidth=1.2,
            label=label,
        )
    ax.set_yscale("symlog", linthresh=1.0)
    if timesteps.size > 1:
        ax.set_xlim(float(timesteps.max()), float(timesteps.min()))  # backprop runs left to right
    if timesteps.size <= 25:
        ax.set_xticks(timesteps)
    ax.grid(True, which="major", alpha=0.3)
    ax.set_xlabel("time step k (backpropagation runs left to right)")
    ax.set_ylabel(r"$\partial \xi / \partial S_k$ (summed over sequences)")
    ax.set_title("Gradient over time")
    if points:
        legend = ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=9)
        legend.set_title("$(w_x, w_{rec})$")
    fig.subplots_adjust(left=0.14, right=0.74, bottom=0.14, top=0.9)
    return fig


# -- helpers ---------------------------------------------------------------------------


def _surface_panels(
    panels: Sequence[Surface], size: ImageSize, *, title: str
) -> tuple[Figure, list[Axes]]:
    """Side-by-side filled contour plots of loss + 1 on the tutorial's log scale."""
    if not panels:
        raise ValueError("at least one surface panel is needed")
    fig = size.figure((1.5 + 2.0 * len(panels), 1.5), layout="constrained")
    norm = LogNorm(vmin=float(TUTORIAL_LEVELS[0]), vmax=float(TUTORIAL_LEVELS[-1]))
    axes: list[Axes] = list(fig.subplots(1, len(panels), squeeze=False)[0])
    any_overflow = False
    for ax, surface in zip(axes, panels, strict=True):
        any_overflow |= _draw_surface(ax, surface, norm)
    ticks = np.logspace(0, 8, 9)
    mappable = ScalarMappable(norm=norm, cmap=COLOURMAP)
    cbar = fig.colorbar(mappable, ax=axes, ticks=ticks, extend="max", fraction=0.05, aspect=25)
    cbar.set_ticklabels([f"{t:.0e}" for t in ticks])
    cbar.ax.set_ylabel(r"$\xi + 1$", rotation=0, labelpad=18)
    if any_overflow:
        overflow = Patch(
            facecolor=OVERFLOW_COLOUR,
            hatch=OVERFLOW_HATCH,
            edgecolor="#808080",
            label="overflow (inf/nan)",
        )
        fig.legend(handles=[overflow], loc="outside lower right", fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=14)
    return fig, axes


def _draw_surface(ax: Axes, surface: Surface, norm: LogNorm) -> bool:
    """Fill one panel; overflowed cells stay hatched grey. True if any overflowed."""
    wx = np.asarray(surface.wx, dtype=np.float64)
    wrec = np.asarray(surface.wrec, dtype=np.float64)
    loss = np.asarray(surface.loss, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        shifted = loss + 1.0
    finite = np.isfinite(shifted)
    # The axes background is what shows through masked (overflowed) cells.
    ax.set_facecolor(OVERFLOW_COLOUR)
    ax.add_patch(_hatch_background(ax))
    if finite.sum() >= 1 and wx.size >= 2 and wrec.size >= 2:
        values = np.ma.masked_array(np.where(finite, shifted, 1.0), mask=~finite)
        ax.contourf(
            wx,
            wrec,
            values,
            levels=TUTORIAL_LEVELS,
            cmap=COLOURMAP,
            norm=norm,
            extend="max",
            zorder=1,
        )
    ax.set_xlim(float(wx.min()), float(wx.max()))
    ax.set_ylim(float(wrec.min()), float(wrec.max()))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))  # no crowding
    ax.set_xlabel("$w_x$")
    ax.set_ylabel("$w_{rec}$")
    return not bool(finite.all())


def _hatch_background(ax: Axes) -> Rectangle:
    return Rectangle(
        (0, 0),
        1,
        1,
        transform=ax.transAxes,
        facecolor=OVERFLOW_COLOUR,
        hatch=OVERFLOW_HATCH,
        edgecolor="#9a9a9a",
        linewidth=0,
        zorder=0,
    )
