"""Core benchmarks: the loss surface, RProp on the tutorial, iRprop- on big data, memory."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench import baselines
from core import Dataset, generate, loss_surface, make_optimizer, train, tutorial_dataset


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    case: str
    ours_s: float
    baseline: str
    baseline_s: float | None
    target: str
    agreement: str

    @property
    def ratio(self) -> float | None:
        return None if self.baseline_s is None else self.baseline_s / self.ours_s


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Smallest wall time of ``repeat`` runs (the machine is noisy) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def max_rel(a: np.ndarray, b: np.ndarray) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def surface_rows(size: int = 512) -> list[Row]:
    data = tutorial_dataset()
    X, t = data.inputs.astype(np.float64), data.targets
    ours_s, surface = best_of(lambda: loss_surface(data, nx=size, ny=size), 20)
    b_s, b_loss = best_of(lambda: baselines.vectorised_surface(X, t, surface.wx, surface.wrec), 2)
    a_s, a_loss = best_of(lambda: baselines.tutorial_surface(X, t, surface.wx, surface.wrec), 1)
    case = f"loss surface {size}x{size}, tutorial dataset"
    return [
        Row(
            case,
            ours_s,
            "(a) tutorial loops",
            a_s,
            ">= 1000x",
            f"max rel diff {max_rel(surface.loss, a_loss):.1e}",
        ),
        Row(
            case,
            ours_s,
            "(b) vectorised BPTT",
            b_s,
            ">= 100x",
            f"max rel diff {max_rel(surface.loss, b_loss):.1e}",
        ),
    ]


def torch_surface(X: np.ndarray, t: np.ndarray, wx: np.ndarray, wrec: np.ndarray) -> np.ndarray:
    """PyTorch, float64, vectorised over the grid: the tutorial's loop over time."""
    import torch

    Xt, tt = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(t, dtype=torch.float64)
    rec, w = torch.meshgrid(torch.as_tensor(wrec), torch.as_tensor(wx), indexing="ij")
    w, rec = w[..., None].contiguous(), rec[..., None].contiguous()
    S = torch.zeros((*w.shape[:2], X.shape[0]), dtype=torch.float64)
    for k in range(X.shape[1]):
        S = Xt[:, k] * w + S * rec
    return ((tt - S) ** 2).mean(dim=-1).numpy()


def agreement(ours: np.ndarray, reference: np.ndarray) -> str:
    """Max relative difference over finite cells, and whether inf/NaN cells are the same."""
    finite = np.isfinite(reference)
    same = bool(
        (np.isfinite(ours) == finite).all() and (np.isnan(ours) == np.isnan(reference)).all()
    )
    rel = max_rel(ours[finite], reference[finite]) if finite.any() else 0.0
    return f"max rel diff {rel:.1e}, same inf/nan cells: {same}"


def long_surface_rows(
    n: int = 100,
    cases: tuple[tuple[int, int], ...] = (
        (128, 100),
        (128, 500),
        (128, 1000),
        (128, 1024),
        (128, 1025),
        (128, 2000),
        (512, 1000),
        (512, 2000),
    ),
) -> list[Row]:
    """Surfaces on the tutorial's overview window as sequences grow, against NumPy and PyTorch.

    The baselines cost O(nx ny n T) and take minutes at 512^2: there they run on a band of
    ``_BAND`` wrec rows of the same grid (their cost is the same for every row) and their
    time is scaled to the whole grid, which the case says.
    """
    return [row for size, width in cases for row in _long_surface_case(size, n, width)]


_BAND = 128  # wrec rows of a large grid on which the baselines are timed


def _long_surface_case(size: int, n: int, width: int) -> list[Row]:
    """One size and width: ours runs cold (a fresh dataset object each time, nothing cached)."""
    data = generate(n, width, seed=width)
    X, t = data.inputs.astype(np.float64), data.targets

    def ours() -> Any:
        return loss_surface(type(data)(data.inputs, data.lengths, data.targets), nx=size, ny=size)

    ours_s, surface = best_of(ours, 3)
    wx, wrec = surface.wx, surface.wrec
    rows_timed = min(size, _BAND)
    band = slice((size - rows_timed) // 2, (size + rows_timed) // 2)
    scale = size / rows_timed
    repeat = 3 if scale == 1 else 1
    case = f"loss surface {size}x{size}, n={n}, T={width}"
    if scale != 1:
        case += f" (baselines timed on {rows_timed} of its rows, x{scale:g})"
    b_s, b_loss = best_of(lambda: baselines.vectorised_surface(X, t, wx, wrec[band]), repeat)
    rows = [
        Row(
            case,
            ours_s,
            "(b) vectorised NumPy",
            b_s * scale,
            ">= 10x",
            agreement(surface.loss[band], b_loss),
        )
    ]
    try:
        c_s, c_loss = best_of(lambda: torch_surface(X, t, wx, wrec[band]), repeat)
    except ImportError:  # PyTorch is optional
        return rows
    rows.append(
        Row(
            case,
            ours_s,
            "(c) PyTorch, vectorised",
            c_s * scale,
            ">= 10x",
            agreement(surface.loss[band], c_loss),
        )
    )
    return rows


def rprop_rows(iterations: int = 500) -> list[Row]:
    data = tutorial_dataset()
    X, t = data.inputs.astype(np.float64), data.targets
    optimizer = make_optimizer("rprop")
    ours_s, result = best_of(lambda: train(data, optimizer, (-1.5, 2.0), iterations), 20)
    a_s, w = best_of(lambda: baselines.tutorial_rprop(X, t, (-1.5, 2.0), iterations), 3)
    same = (result.wx, result.wrec) == (float(w[0]), float(w[1]))
    return [
        Row(
            f"rprop, {iterations} iterations, tutorial dataset",
            ours_s,
            "(a) tutorial loop",
            a_s,
            ">= 10x",
            f"wx={result.wx:.8f} wrec={result.wrec:.8f}, identical: {same}",
        ),
    ]


def irprop_rows(n: int = 100_000, length: int = 100, iterations: int = 100) -> list[Row]:
    data = generate(n, length, seed=7)
    X, t = data.inputs.astype(np.float64), data.targets
    start = (0.5, 0.5)

    def ours() -> tuple[float, float]:
        # A fresh dataset object each run, so the one pass over the data is timed too.
        fresh = type(data)(data.inputs, data.lengths, data.targets)
        r = train(fresh, make_optimizer("irprop-"), start, iterations, record_trajectory=False)
        return r.wx, r.wrec

    ours_s, w = best_of(ours, 5)
    b_s, wb = best_of(lambda: baselines.vectorised_irprop_minus(X, t, start, iterations), 1)
    rel = max_rel(np.array(w), wb)
    return [
        Row(
            f"irprop-, {iterations} iterations, {n:,} x {length}",
            ours_s,
            "(b) vectorised BPTT",
            b_s,
            ">= 100x",
            f"max rel diff of weights {rel:.1e}",
        ),
    ]


_MEMORY_SCRIPT = """
import json, time
from core import generate, make_optimizer, train

def status(field):  # kB, from this process's own memory map (ru_maxrss survives exec)
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

before = status("VmRSS")
start = time.perf_counter()
data = generate({n}, {length}, seed=3)
result = train(data, make_optimizer("irprop-"), (0.5, 0.5), {iterations}, record_trajectory=False)
seconds = time.perf_counter() - start
peak = status("VmHWM")
report = {{"mb": (peak - before) / 1024, "s": seconds, "wx": result.wx, "wrec": result.wrec}}
print(json.dumps(report))
"""


def memory_rows(n: int = 1_000_000, length: int = 100, iterations: int = 100) -> list[Row]:
    """Peak RSS above the interpreter (numpy and core imported), in a fresh process."""
    script = _MEMORY_SCRIPT.format(n=n, length=length, iterations=iterations)
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
    report = json.loads(out.stdout)
    return [
        Row(
            f"generate + irprop- {iterations} it., {n:,} x {length}",
            report["s"],
            "-",
            None,
            "< 400 MB",
            f"peak memory {report['mb']:.0f} MB above baseline",
        ),
    ]


Trainer = Callable[[np.ndarray, np.ndarray, tuple[float, float], int], np.ndarray]


def _training_baselines() -> list[tuple[str, Trainer, int, str]]:
    """(name, iRprop- trainer, repeats, target): PyTorch's only where it is installed."""
    runs: list[tuple[str, Trainer, int, str]] = [
        ("(a) tutorial BPTT, row-major", baselines.tutorial_irprop_minus, 1, ">= 10x"),
        ("(b) vectorised BPTT, time-major", baselines.vectorised_irprop_minus, 3, ">= 1x"),
        ("(c) closed-form matvec", baselines.closed_form_irprop_minus, 3, ">= 1x"),
    ]
    if baselines.torch_available():
        runs += [
            ("(d) PyTorch closed-form", baselines.torch_closed_form_irprop_minus, 3, ">= 1x"),
            ("(d) PyTorch BPTT", baselines.torch_bptt_irprop_minus, 1, ">= 10x"),
        ]
    return runs


def long_training_rows(
    lengths: tuple[int, ...] = (500, 1000, 1025, 2000), n: int = 1000, iterations: int = 100
) -> list[Row]:
    """iRprop- on long sequences against every training baseline, measured in this process.

    The statistics' one pass is O(n T^2) where BPTT is O(n T) per iteration, so long
    sequences are where a fast path could lose its lead.
    """
    rows: list[Row] = []
    start = (0.5, 0.5)
    for length in lengths:
        data = generate(n, length, seed=7)
        X, t = data.inputs.astype(np.float64), data.targets

        def ours(data: Dataset = data) -> tuple[float, float]:
            fresh = type(data)(data.inputs, data.lengths, data.targets)  # statistics timed too
            r = train(fresh, make_optimizer("irprop-"), start, iterations, record_trajectory=False)
            return r.wx, r.wrec

        ours_s, w = best_of(ours, 3)
        case = f"irprop-, {iterations} iterations, {n:,} x {length}"
        for name, trainer, repeat, target in _training_baselines():
            b_s, wb = best_of(lambda: trainer(X, t, start, iterations), repeat)  # noqa: B023
            rel = max_rel(np.array(w), np.asarray(wb))
            rows.append(Row(case, ours_s, name, b_s, target, f"max rel diff of weights {rel:.1e}"))
    return rows
