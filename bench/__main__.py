"""Run every benchmark, print the table and write it to docs/performance.md.

python -m bench            # all of it (a few minutes: the baselines are slow)
python -m bench --print    # print only, leave docs/ alone
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
from pathlib import Path

import numpy as np

from bench import core_bench
from bench.core_bench import Row

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "performance.md"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _ratio(value: float) -> str:
    return f"{value:,.0f}x" if value >= 10 else f"{value:.2g}x"


def table(rows: list[Row]) -> str:
    lines = [
        "| case | rnnlab | baseline | baseline time | ratio | target | results |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = "-" if r.baseline_s is None else f"{r.baseline_s * 1e3:,.1f} ms"
        ratio = "-" if r.ratio is None else _ratio(r.ratio)
        lines.append(
            f"| {r.case} | {r.ours_s * 1e3:,.2f} ms | {r.baseline} | {base} | {ratio} | "
            f"{r.target} | {r.agreement} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--print", dest="print_only", action="store_true")
    args = parser.parse_args()
    sections = [
        core_bench.surface_rows,
        core_bench.long_surface_rows,
        core_bench.rprop_rows,
        core_bench.irprop_rows,
        core_bench.long_training_rows,
        core_bench.memory_rows,
    ]
    try:
        from bench import http_bench, jobs_bench, service_bench
    except ImportError:  # the service benchmarks need the service's dependencies
        pass
    else:
        sections += [
            service_bench.loss_surface_rows,
            service_bench.point_rows,
            http_bench.tiny_call_rows,
            jobs_bench.train_wait_rows,
        ]
    rows: list[Row] = []
    for section in sections:
        new = section()
        for r in new:
            ratio = _ratio(r.ratio) if r.ratio else "-"
            print(f"{r.case:<48} {r.baseline:<22} {ratio:>8}  {r.agreement}", flush=True)
        rows.extend(new)
    text = table(rows)
    if args.print_only:
        print(text)
        return
    header = (
        "# Performance\n\n"
        "Written by `python -m bench` (`make bench`); do not edit by hand. Every ratio is a\n"
        "baseline's time over rnnlab's, both measured in the same run (best of several runs\n"
        "for the fast side). Baselines: (a) the tutorial's algorithm as written (Python loops\n"
        "over grid points; a forward and backward pass per iteration); (b) BPTT vectorised with\n"
        "NumPy over the whole grid or batch. See `bench/baselines.py`.\n\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}; "
        f"run on {dt.date.today().isoformat()}.\n\n"
    )
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(header + text + "\n")
    readme = README.read_text()
    before, _, rest = readme.partition(START)
    _, _, after = rest.partition(END)
    README.write_text(f"{before}{START}\n{text}\n{END}{after}")
    print(f"wrote {OUTPUT} and the table in {README.name}")


if __name__ == "__main__":
    main()
