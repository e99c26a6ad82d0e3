"""The tables of ``docs/reliability.md``, rendered from measured values only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.load.server import ProcessSample
from bench.load.stats import EndpointStats, Run

MIB = 1024 * 1024


@dataclass(frozen=True)
class Step:
    """One ramp step: its traffic, and the server right after it."""

    run: Run
    rss: int  # bytes, whole server group
    fds: int


@dataclass(frozen=True)
class Growth:
    """One process (or, with no pid, all of them) over the soak."""

    kind: str
    pid: int | None
    fresh: ProcessSample | None  # right after start, before any load
    before: ProcessSample | None  # idle, just before the soak
    after: ProcessSample | None  # idle again, just after it
    rss_per_min: float  # bytes per minute, least squares after the warm-up
    fds_per_min: float
    fds_max: int  # most fds seen during the soak

    @property
    def label(self) -> str:
        return f"**{self.kind}**" if self.pid is None else f"{self.kind} (pid {self.pid})"


def _ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def jobs(jobs: dict[str, int]) -> str:
    return "/".join(str(jobs.get(k, 0)) for k in ("succeeded", "failed", "late"))


def ramp_table(steps: Sequence[Step]) -> str:
    columns = (
        "users", "req/s", "served req/s", "p50 ms", "p95 ms", "p99 ms", "429 share", "5xx",
        "no answer", "other 4xx", "async jobs ok/failed/late", "server CPU", "HTTP CPU",
        "locust CPU", "other CPU", "server RSS MiB", "server fds",
    )  # fmt: skip
    lines = ["| " + " | ".join(columns) + " |", "|" + "---:|" * len(columns)]
    for step in steps:
        s, run = step.run.stats, step.run
        lines.append(
            f"| {s.users} | {s.rps:,.1f} | {s.served_rps:,.1f} | {_ms(s.p50)} | {_ms(s.p95)} "
            f"| {_ms(s.p99)} | {s.share_429:.1%} | {s.server_errors} | {s.connection_errors} "
            f"| {s.other_errors} | {jobs(s.jobs)} | {run.server_cpu:.2f} | {run.api_cpu:.2f} | "
            f"{run.locust_cpu:.2f} | {run.other_cpu:.2f} | {step.rss / MIB:,.1f} | {step.fds} |"
        )
    return "\n".join(lines)


def _mib(sample: ProcessSample | None) -> str:
    return "-" if sample is None else f"{sample.rss / MIB:,.1f}"


def _fds(sample: ProcessSample | None) -> str:
    return "-" if sample is None else str(sample.fds)


def soak_table(rows: Sequence[Growth]) -> str:
    lines = [
        "| process | RSS MiB fresh | before | after | RSS growth MiB/min "
        "| fds fresh | before | after | max under load | fd growth /min |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for g in rows:
        lines.append(
            f"| {g.label} | {_mib(g.fresh)} | {_mib(g.before)} | {_mib(g.after)} "
            f"| {g.rss_per_min / MIB:+.3f} | {_fds(g.fresh)} | {_fds(g.before)} "
            f"| {_fds(g.after)} | {g.fds_max} | {g.fds_per_min:+.2f} |"
        )
    return "\n".join(lines)


def endpoint_table(rows: Sequence[EndpointStats]) -> str:
    lines = [
        "| request | count | share | p50 ms | p99 ms | statuses |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for e in rows:
        statuses = ", ".join(
            f"{'no answer' if s == 0 else s}: {n:,}" for s, n in sorted(e.statuses.items())
        )
        lines.append(
            f"| `{e.name}` | {e.requests:,} | {e.share:.1%} | {_ms(e.p50)} | {_ms(e.p99)} "
            f"| {statuses} |"
        )
    return "\n".join(lines)
