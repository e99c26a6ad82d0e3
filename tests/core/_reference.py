"""Independent references for the core tests: the tutorial's facts, exact arithmetic, plain loops.

The facts below come from the tutorial rnnlab implements, "How to implement an RNN (1/2) -
Minimal example" (P. Roelants): what it prints, and what follows exactly from its dataset
and formulas (tests/core/test_reference.py recomputes those with Fractions). Nothing here
imports core's numerics: the exact loss and gradient are computed with
``fractions.Fraction`` from the recurrence itself, and the optimiser loops are written
from the tutorial's text and the papers, one weight at a time.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import ModuleType

import numpy as np
import pytest
from hypothesis import strategies as st

EPS = float(np.finfo(np.float64).eps)
# Products of tiny weights and data underflow: absolute errors of this size are rounding too.
UNDERFLOW = 1e-300

# ---------------------------------------------------------------------------------------
# The tutorial's facts.

# Its dataset: np.random.seed(1), then 20 rows of np.around(np.random.rand(10)); the
# targets are the row sums (103 ones in all). ``tutorial_rows`` draws it the same way.
TUTORIAL_TARGETS = (2, 4, 6, 6, 4, 4, 6, 5, 7, 5, 7, 6, 4, 7, 3, 6, 4, 5, 6, 6)

# Loss and gradients at points its loss-surface figure annotates, on that dataset:
# (wx, wrec) -> (loss, dξ/dwx, dξ/dwrec); exact decimals (test_reference checks them).
TUTORIAL_VALUES = {
    (2.0, 1.0): (28.35, 56.7, 467.2),
    (1.0, 2.0): (265551.15, 535908.3, 2174323.9),
    (1.0, -2.0): (85002.75, 168858.3, -739548.9),
    (1.0, 0.0): (21.35, -6.3, -5.7),
}

# Its gradient-over-time figure at (1, 2): dξ/dS_k summed over sequences is 884.3 at k = n
# and 905523.2 at k = 0, doubling at each step back (the figure plots it N^2 times larger).
TRACE_AT_1_2 = (884.3, 905523.2)

# Its RProp run: eta+ 1.2, eta- 0.5, Delta 0.001, 500 iterations from (wx, wrec) =
# (-1.5, 2). It prints "Final weights are: wx = 1.0014,  wRec = 0.9997"; in float64 the
# run (``tutorial_rprop`` with exact gradient signs, test_reference) ends at RPROP_END.
RPROP_START = (-1.5, 2.0)
RPROP_ITERATIONS = 500
RPROP_PRINTED = "wx = 1.0014,  wRec = 0.9997"
RPROP_END = (1.001355547207059, 0.9996744737846419)

# Its final test: a 12-step sequence (longer than any it trained on) with target 5; the
# trained model outputs 4.99896..., printed as "Target output: 5 vs Model output: 5.00".
TEST_SEQUENCE = (0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1)
TEST_TARGET = 5
TEST_OUTPUT = 4.99896
TEST_PRINTED = "Target output: 5 vs Model output: 5.00"


def tutorial_rows() -> list[list[float]]:
    """The tutorial's 20 x 10 bits, drawn exactly as its notebook does (global legacy RNG).

    The global state is saved and restored so that the tests leave it as they found it.
    """
    saved = np.random.get_state()
    try:
        np.random.seed(1)
        return [np.around(np.random.rand(10)).tolist() for _ in range(20)]
    finally:
        np.random.set_state(saved)


@dataclass(frozen=True)
class Exact:
    """Exact loss and gradient (as Fractions) and float magnitudes bounding rounding errors."""

    loss: Fraction
    grad_wx: Fraction
    grad_wrec: Fraction
    # Means over sequences of |residual terms| x |derivative terms|: what a float evaluation
    # of the same sums can lose to rounding, up to a factor (number of operations) x eps.
    loss_scale: float
    wx_scale: float
    wrec_scale: float
    mean_residual: Fraction
    residual_scale: float


def exact(
    sequences: Sequence[Sequence[float]], targets: Sequence[float], wx: float, wrec: float
) -> Exact:
    """The model's loss and gradient at double (wx, wrec), computed without any rounding."""
    a, r = Fraction(wx), Fraction(wrec)
    aa, ar = abs(a), abs(r)
    n = len(sequences)
    loss = gx = gr = mean_res = Fraction(0)
    loss_scale = wx_scale = wrec_scale = res_scale = 0.0
    for row, t in zip(sequences, targets, strict=True):
        s = ds_dwx = ds_dwrec = Fraction(0)
        s_abs = dx_abs = dr_abs = Fraction(0)
        for value in row:
            x = Fraction(value)
            ds_dwrec = ds_dwrec * r + s
            dr_abs = dr_abs * ar + s_abs
            ds_dwx = ds_dwx * r + x
            dx_abs = dx_abs * ar + abs(x)
            s = s * r + x * a
            s_abs = s_abs * ar + abs(x) * aa
        residual = s - Fraction(t)
        loss += residual * residual
        gx += 2 * residual * ds_dwx
        gr += 2 * residual * ds_dwrec
        mean_res += residual
        magnitude = _float(s_abs) + abs(float(t))
        loss_scale += magnitude * magnitude
        wx_scale += magnitude * _float(dx_abs)
        wrec_scale += magnitude * _float(dr_abs)
        res_scale += magnitude
    return Exact(
        loss / n,
        gx / n,
        gr / n,
        loss_scale / n,
        2 * wx_scale / n,
        2 * wrec_scale / n,
        mean_res / n,
        res_scale / n,
    )


def _float(x: Fraction) -> float:
    """float(x), or inf where it is beyond float64 (magnitudes only)."""
    try:
        return float(x)
    except OverflowError:
        return math.inf


def rel_close(value: float, exact_value: Fraction, rtol: float, atol: float = 0.0) -> bool:
    """|value - exact| <= rtol |exact| + atol, decided in exact arithmetic."""
    if not math.isfinite(value):
        return False
    return abs(Fraction(value) - exact_value) <= Fraction(rtol) * abs(exact_value) + Fraction(atol)


def rounding_slack(dataset_n: int, width: int) -> float:
    """Relative rounding allowance of a float pass over n sequences of width steps."""
    return 8.0 * (width + dataset_n + 8) * EPS


# ---------------------------------------------------------------------------------------
# Datasets for hypothesis.

finite_weight = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
stable_wrec = st.floats(-1.5, 1.5, allow_nan=False, allow_infinity=False)
real_input = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
# Multiples of 2^-8 in [-2, 2]: sums and products of a few are exact in float64.
dyadic_input = st.integers(-512, 512).map(lambda k: k / 256.0)


# Grid axes: a few values, sorted or not, around the valley, the tutorial's range or far out.
grid_axis = st.lists(
    st.one_of(
        st.floats(-3.0, 3.0),
        st.floats(0.99, 1.01),
        st.floats(-1e3, 1e3),
        st.sampled_from([0.0, 1.0, -1.0]),
    ),
    min_size=1,
    max_size=6,
).map(lambda v: np.asarray(v, dtype=np.float64))


@st.composite
def datasets(
    draw: st.DrawFn,
    *,
    max_n: int = 5,
    max_width: int = 8,
    binary: bool | None = None,
    explicit_targets: bool | None = None,
    exact_sums: bool = False,
) -> tuple[list[list[float]], list[float] | None]:
    """Small ragged datasets: bits or reals, targets default (row sums) or explicit.

    ``exact_sums`` draws reals on a dyadic grid, so that the data's own sums are exact.
    """
    n = draw(st.integers(1, max_n))
    is_binary = draw(st.booleans()) if binary is None else binary
    reals = dyadic_input if exact_sums else real_input
    element = st.sampled_from([0.0, 1.0]) if is_binary else reals
    rows = [draw(st.lists(element, min_size=1, max_size=max_width)) for _ in range(n)]
    with_targets = draw(st.booleans()) if explicit_targets is None else explicit_targets
    targets = None
    if with_targets:
        target = (
            st.integers(-3, 12).map(float)
            if is_binary and draw(st.booleans())
            else st.floats(-10.0, 10.0, allow_nan=False)
        )
        targets = [draw(target) for _ in range(n)]
    return rows, targets


def default_targets(
    rows: Sequence[Sequence[float]], targets: Sequence[float] | None
) -> list[float]:
    """The targets from_sequences should use: given ones, else each row's sum (as float64)."""
    if targets is not None:
        return list(targets)
    return [float(np.sum(np.asarray(row, dtype=np.float64))) for row in rows]


def forward_slack(inputs: np.ndarray, targets: np.ndarray, wx: object, wrec: object) -> np.ndarray:
    """Rounding allowance of a float forward pass's loss at broadcast points (wx, wrec).

    rounding_slack x mean_i (|wx| sum_k |x_ik| |wrec|^(T - k) + |t_i|)^2, from |values|.
    """
    a = np.abs(np.asarray(wx, dtype=np.float64))
    r = np.abs(np.asarray(wrec, dtype=np.float64))
    a, r = np.broadcast_arrays(a, r)
    X = np.abs(np.asarray(inputs, dtype=np.float64))
    n, T = X.shape
    with np.errstate(over="ignore", invalid="ignore"):
        s = np.zeros((*a.shape, n))
        for k in range(T):
            s = s * r[..., None] + X[:, k]
        output = np.where(a[..., None] == 0, 0.0, a[..., None] * s)  # 0 * inf is 0 here
        magnitude = output + np.abs(targets)
        return np.asarray(rounding_slack(n, T) * np.mean(magnitude * magnitude, axis=-1))


# ---------------------------------------------------------------------------------------
# Plain optimiser loops, one weight at a time (lists of two floats).

GradFn = Callable[[float, float], tuple[float, float]]


def _sign(x: float) -> float:
    return float(np.sign(x))


def tutorial_rprop(grad: GradFn, w: list[float], iterations: int) -> list[tuple[float, float]]:
    """The tutorial's RProp loop, transcribed: Delta 0.001, previous sign 0, eta 1.2 / 0.5."""
    eta_p, eta_n = 1.2, 0.5
    W = list(w)
    W_delta = [0.001, 0.001]
    W_sign = [0.0, 0.0]
    path = [(W[0], W[1])]
    for _ in range(iterations):
        g = grad(W[0], W[1])
        W_prev_sign = W_sign
        W_sign = [_sign(g[0]), _sign(g[1])]
        for i in range(2):
            if W_sign[i] == W_prev_sign[i]:
                W_delta[i] *= eta_p
            else:
                W_delta[i] *= eta_n
        for i in range(2):
            W[i] -= W_sign[i] * W_delta[i]
        path.append((W[0], W[1]))
    return path


def plain_irprop_minus(
    grad: GradFn,
    w: list[float],
    iterations: int,
    *,
    delta0: float = 0.001,
    eta_plus: float = 1.2,
    eta_minus: float = 0.5,
    delta_min: float = 1e-6,
    delta_max: float = 50.0,
) -> list[tuple[float, float]]:
    """iRprop- as Igel and Hüsken (2000) write it, one weight at a time."""
    W = list(w)
    delta = [delta0, delta0]
    prev = [0.0, 0.0]
    path = [(W[0], W[1])]
    for _ in range(iterations):
        g = list(grad(W[0], W[1]))
        for i in range(2):
            if g[i] * prev[i] > 0:
                delta[i] = min(delta[i] * eta_plus, delta_max)
            elif g[i] * prev[i] < 0:
                delta[i] = max(delta[i] * eta_minus, delta_min)
                g[i] = 0.0
            else:
                delta[i] = min(max(delta[i], delta_min), delta_max)
            W[i] -= _sign(g[i]) * delta[i]
            prev[i] = g[i]
        path.append((W[0], W[1]))
    return path


# ---------------------------------------------------------------------------------------
# Optional references (the ``reference`` extra).


def optional_reference(module: str) -> ModuleType:
    """Import an optional reference library; skip without it, but fail under CI=true.

    Install it with ``pip install -e '.[reference]'`` (torch pinned to a CPU build).
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{module} is missing: CI must install the reference extra")
        pytest.skip(f"{module} is an optional reference: pip install -e '.[reference]'")
