"""Summaries of one locust run's request records, and the growth rates of the soak.

Latency percentiles leave the 429s out: the service answers them at once, so counting
them would make an overloaded server look faster. Throughput is given both ways: every
answer per second, and ``served`` (2xx and 3xx only) per second.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Record = tuple[str, int, float, float]  # name, status (0: no answer), latency ms, end time


@dataclass(frozen=True)
class RunStats:
    users: int
    seconds: float  # measured window
    requests: int
    served: int
    throttled: int  # 429
    server_errors: int  # 5xx
    connection_errors: int  # no answer: refused, reset, timed out
    other_errors: int  # 4xx other than 429: a request the service should have accepted
    p50: float  # ms, 429s excluded
    p95: float
    p99: float
    jobs: dict[str, int] = field(default_factory=dict)  # asynchronous jobs by outcome

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def served_rps(self) -> float:
        return self.served / self.seconds

    @property
    def share_429(self) -> float:
        return self.throttled / self.requests if self.requests else 0.0

    @property
    def errors(self) -> int:
        """Failures of the service: 5xx, no answer, unexpected 4xx, jobs failed or late."""
        failed_jobs = self.jobs.get("failed", 0) + self.jobs.get("late", 0)
        return self.server_errors + self.connection_errors + self.other_errors + failed_jobs


@dataclass(frozen=True)
class Run:
    """One locust run: its summary, its records, and the CPU the server and locust used."""

    stats: RunStats
    records: list[Record]
    server_cpu: float  # cores used by the whole server group
    api_cpu: float  # of which the HTTP processes (uvicorn, one event loop each)
    locust_cpu: float  # cores used by the load generator
    other_cpu: float  # cores used by everything else on the machine, this driver included


def _percentiles(latencies: list[float]) -> tuple[float, float, float]:
    if not latencies:
        return (float("nan"),) * 3
    p50, p95, p99 = np.percentile(np.asarray(latencies), [50, 95, 99])
    return float(p50), float(p95), float(p99)


def window(records: list[Record], warmup: float) -> list[Record]:
    """The records that ended after the first ``warmup`` seconds of the run."""
    if not records:
        return []
    start = min(r[3] for r in records) + warmup
    return [r for r in records if r[3] >= start]


def summarize(users: int, records: list[Record], jobs: dict[str, int]) -> RunStats:
    """Counts and percentiles over ``records`` (already windowed)."""
    if len(records) < 2:
        raise ValueError(f"{len(records)} requests recorded: the load did not run")
    statuses = Counter(r[1] for r in records)
    ends = [r[3] for r in records]
    p50, p95, p99 = _percentiles([r[2] for r in records if r[1] != 429])
    return RunStats(
        users=users,
        seconds=max(ends) - min(ends),
        requests=len(records),
        served=sum(n for s, n in statuses.items() if 200 <= s < 400),
        throttled=statuses[429],
        server_errors=sum(n for s, n in statuses.items() if s >= 500),
        connection_errors=statuses[0],
        other_errors=sum(n for s, n in statuses.items() if 400 <= s < 500 and s != 429),
        p50=p50,
        p95=p95,
        p99=p99,
        jobs=dict(jobs),
    )


@dataclass(frozen=True)
class EndpointStats:
    name: str
    requests: int
    share: float
    p50: float
    p99: float
    statuses: dict[int, int]


def by_endpoint(records: list[Record]) -> list[EndpointStats]:
    """Per request name, most frequent first: what the mix really sent and how it fared."""
    names = Counter(r[0] for r in records)
    rows = []
    for name, n in names.most_common():
        mine = [r for r in records if r[0] == name]
        p50, _, p99 = _percentiles([r[2] for r in mine if r[1] != 429])
        rows.append(
            EndpointStats(name, n, n / len(records), p50, p99, dict(Counter(r[1] for r in mine)))
        )
    return rows


def per_minute(times: list[float], values: list[float]) -> float:
    """Slope of a least-squares line through (time s, value), per minute."""
    if len(times) < 2:
        return float("nan")
    slope = np.polyfit(np.asarray(times) - times[0], np.asarray(values, dtype=float), 1)[0]
    return float(slope) * 60.0


def load_record(data: dict[str, Any]) -> tuple[list[Record], dict[str, int]]:
    records = [(str(n), int(s), float(ms), float(t)) for n, s, ms, t in data["requests"]]
    return records, {str(k): int(v) for k, v in data["jobs"].items()}
