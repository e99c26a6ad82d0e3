"""Load ramp and soak against a local ``rnnlab serve``; writes docs/reliability.md.

python -m bench.load                         # ramp 8..512 users, 30 s each, 5-minute soak
python -m bench.load --soak-seconds 600      # a longer soak
python -m bench.load --steps 2,4 --step-seconds 3 --soak-seconds 5 --output /tmp/r.md

It starts ``rnnlab serve`` itself (this venv's console script, a free loopback port, a
fresh data dir; any RNNLAB_* setting in the environment is passed on), then runs locust
headless (one process, ``bench/load/locustfile.py``) once per ramp step and once for the
soak, sampling RSS and open fds of every server process during the soak. Missed targets
are reported, not failed: the exit status is non-zero only when the run could not
complete (the server died, locust failed). The server is stopped at the end, always.

One module over 300 lines on purpose: it is the campaign's script (start, ramp, soak,
sample, write), read top to bottom; the pieces others reuse live beside it (server,
stats, report, stalls).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import psutil

from bench.load import report, stalls, stats
from bench.load.report import Growth, Step
from bench.load.server import ProcessSample, Server, ServerDiedError, running_server
from bench.load.stats import Run
from service.config import Settings

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
OUTPUT = ROOT / "docs" / "reliability.md"
LOCUST_GRACE = 60.0  # seconds past its run time before a locust run counts as hung
P99_LIMIT_MS = 1000.0
TARGET_RPS = 150.0
TARGET_RSS_MIB_PER_MIN = 0.2


class LoadFailedError(RuntimeError):
    """The load generator did not run or did not report."""


def _cpu_seconds(processes: Sequence[psutil.Process]) -> float:
    total = 0.0
    for p in processes:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def _machine_busy_seconds() -> float:
    """CPU seconds all cores have spent on anything but idling since boot."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + t.irq + t.softirq + t.steal)


def run_locust(
    server: Server,
    users: int,
    seconds: float,
    workdir: Path,
    tag: str,
    tick: Callable[[], None] | None = None,
    tick_every: float = 10.0,
) -> Run:
    """One headless locust run of ``users`` users for ``seconds``; ``tick`` every so often.

    The first 15 % of the run (at most 5 s: users start within a second) is left out of
    the statistics.
    """
    record, log = workdir / f"{tag}.json", workdir / f"{tag}.log"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", server.url, "-u", str(users), "-r", str(users), "-t", f"{seconds:.0f}s",
        "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]  # fmt: skip
    env = {**os.environ, "RNNLAB_LOAD_RECORD": str(record), "PYTHONPATH": str(ROOT)}
    group = server.group()
    api = server.http_processes(group)
    server_start, api_start = _cpu_seconds(group), _cpu_seconds(api)
    busy_start, started = _machine_busy_seconds(), time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    locust_cpu = 0.0
    try:
        generator = psutil.Process(proc.pid)
        deadline = started + seconds + LOCUST_GRACE
        next_tick = started
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise LoadFailedError(
                    f"locust still running {LOCUST_GRACE:.0f} s after its run time"
                )
            if server.proc.poll() is not None:
                raise ServerDiedError(f"rnnlab serve exited with {server.proc.returncode}")
            with contextlib.suppress(psutil.Error):
                locust_cpu = _cpu_seconds([generator])
            if tick is not None and time.monotonic() >= next_tick:
                tick()
                next_tick += tick_every
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    elapsed = time.monotonic() - started
    server_cpu, api_cpu = _cpu_seconds(group) - server_start, _cpu_seconds(api) - api_start
    other_cpu = max(0.0, _machine_busy_seconds() - busy_start - server_cpu - locust_cpu)
    if proc.returncode != 0 or not record.exists():
        tail = log.read_text(errors="replace")[-2000:]
        raise LoadFailedError(f"locust ({tag}) exited with {proc.returncode}:\n{tail}")
    records, jobs = stats.load_record(json.loads(record.read_text()))
    warmup = min(5.0, 0.15 * seconds)
    summary = stats.summarize(users, stats.window(records, warmup), jobs)
    return Run(
        summary,
        records,
        server_cpu=server_cpu / elapsed,
        api_cpu=api_cpu / elapsed,
        locust_cpu=locust_cpu / elapsed,
        other_cpu=other_cpu / elapsed,
    )


def ramp(server: Server, users: Sequence[int], seconds: float, workdir: Path) -> list[Step]:
    """One locust run per number of users, the server sampled after each."""
    steps = []
    for n in users:
        run = run_locust(server, n, seconds, workdir, f"ramp-{n}")
        server.check()
        after = server.sample()
        steps.append(Step(run, sum(p.rss for p in after), sum(p.fds for p in after)))
        s = run.stats
        print(
            f"{n:>4} users: {s.rps:7.1f} req/s ({s.served_rps:7.1f} served), "
            f"p99 {s.p99:8.1f} ms, 429 {s.share_429:6.1%}, 5xx {s.server_errors}, "
            f"no answer {s.connection_errors}, other 4xx {s.other_errors}, jobs {s.jobs}, "
            f"server CPU {run.server_cpu:.2f} (HTTP {run.api_cpu:.2f}), "
            f"locust CPU {run.locust_cpu:.2f}, other CPU {run.other_cpu:.2f}",
            flush=True,
        )
    return steps


@dataclass(frozen=True)
class Soak:
    run: Run
    users: int
    samples: list[tuple[float, list[ProcessSample]]]  # seconds since the soak began
    seconds: float
    warmup: float
    before: list[ProcessSample]
    after: list[ProcessSample]
    fds_before: dict[int, Counter[str]]  # by pid, what the open fds are
    fds_after: dict[int, Counter[str]]
    data_before: int  # bytes in the data dir
    data_after: int


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def soak(
    server: Server,
    users: int,
    seconds: float,
    every: float,
    idle: float,
    workdir: Path,
    data_dir: Path,
) -> Soak:
    """``users`` users for ``seconds``, sampling the server group every ``every`` seconds,
    between two samples taken after ``idle`` seconds without load."""
    (before, fds_before), data_before = server.idle(idle), _dir_size(data_dir)
    samples: list[tuple[float, list[ProcessSample]]] = []
    started = time.monotonic()

    def take() -> None:
        server.check()
        samples.append((time.monotonic() - started, server.sample()))

    run = run_locust(server, users, seconds, workdir, "soak", take, every)
    take()
    after, fds_after = server.idle(idle)
    server.check()
    return Soak(
        run, users, samples, seconds, 0.1 * seconds, before, after, fds_before, fds_after,
        data_before, _dir_size(data_dir),
    )  # fmt: skip


def fd_changes(
    old: dict[int, Counter[str]], new: dict[int, Counter[str]], growth: Sequence[Growth]
) -> list[str]:
    """What each server process gained or lost in open fds from ``old`` to ``new``."""
    labels = {g.pid: g.label for g in growth if g.pid is not None}
    lines = []
    for pid in sorted(old.keys() | new.keys()):
        was, now = old.get(pid, Counter()), new.get(pid, Counter())
        delta = {k: now[k] - was[k] for k in was.keys() | now.keys() if now[k] != was[k]}
        if delta:
            change = ", ".join(f"{n:+d} {k}" for k, n in sorted(delta.items()))
            lines.append(f"- {labels.get(pid, f'pid {pid}')}: {change}")
    return lines or ["- none"]


def growth_rows(fresh: list[ProcessSample], result: Soak) -> list[Growth]:
    """Per server process (by role and pid) and in total: before, after, growth per minute."""
    order = ("api", "launcher", "consumer", "scheduler", "worker", "other")
    timeline = [(t, {p.pid: p for p in snapshot}) for t, snapshot in result.samples]
    fitted = [(t, by_pid) for t, by_pid in timeline if t >= result.warmup]
    fresh_, before, after = ({p.pid: p for p in s} for s in (fresh, result.before, result.after))
    kinds: dict[int, str] = {}
    for by_pid in (fresh_, before, *(m for _, m in timeline), after):
        kinds.update({pid: p.kind for pid, p in by_pid.items() if pid not in kinds})

    rows = []
    for pid, kind in sorted(kinds.items(), key=lambda item: (order.index(item[1]), item[0])):
        seen = [(t, by_pid[pid]) for t, by_pid in fitted if pid in by_pid]
        times = [t for t, _ in seen]
        rows.append(
            Growth(
                kind,
                pid,
                fresh_.get(pid),
                before.get(pid),
                after.get(pid),
                stats.per_minute(times, [p.rss for _, p in seen]),
                stats.per_minute(times, [p.fds for _, p in seen]),
                max((m[pid].fds for _, m in timeline if pid in m), default=0),
            )
        )

    def total(snapshot: list[ProcessSample]) -> ProcessSample:
        return ProcessSample(0, "total", sum(p.rss for p in snapshot), sum(p.fds for p in snapshot))

    totals = [(t, total(s)) for t, s in result.samples]
    fit = [(t, s) for t, s in totals if t >= result.warmup]
    rows.append(
        Growth(
            "all server processes",
            None,
            total(fresh),
            total(result.before),
            total(result.after),
            stats.per_minute([t for t, _ in fit], [s.rss for _, s in fit]),
            stats.per_minute([t for t, _ in fit], [s.fds for _, s in fit]),
            max((s.fds for _, s in totals), default=0),
        )
    )
    return rows


def server_log_summary(log: Path) -> list[str]:
    """Statuses the server logged, and the distinct exceptions of its tracebacks."""
    statuses: Counter[int] = Counter()
    exceptions: Counter[str] = Counter()
    in_traceback = False
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError, TypeError):
                entry = json.loads(line)
                if "status" in entry and "path" in entry:
                    statuses[int(entry["status"])] += 1
                if entry.get("exc_info"):  # a traceback inside a JSON log line: its last line
                    last = str(entry["exc_info"]).strip().splitlines()[-1]
                    exceptions[f"{entry.get('message', '')[:80]}: {last}"[:160]] += 1
        if line.startswith("Traceback"):
            in_traceback = True
        elif in_traceback and line and not line.startswith(" "):
            exceptions[line[:160]] += 1
            in_traceback = False
    lines = [
        "statuses in the access log: "
        + (", ".join(f"{s}: {n:,}" for s, n in sorted(statuses.items())) or "none")
    ]
    lines.append(f"tracebacks: {sum(exceptions.values())}")
    lines += [f"  {n} x {text}" for text, n in exceptions.most_common(5)]
    return lines


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        model = found.group(1).strip() if found else model
    memory = psutil.virtual_memory().total / 1024**3
    return (
        f"{platform.machine()}, {os.cpu_count()} cores ({model}), {memory:.0f} GiB; "
        f"Python {platform.python_version()}, locust {importlib.metadata.version('locust')}"
    )


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = [
        line
        for line in git("status", "--porcelain").splitlines()
        if "docs/reliability.md" not in line
    ]
    return head + (" with uncommitted changes" if changed else "")


def settings_line() -> str:
    s = Settings()
    passed = sorted(k for k in os.environ if k.startswith("RNNLAB_"))
    return (
        f"queue {'Redis' if s.queue_url else 'embedded SQLite'}, "
        f"`EMBEDDED_WORKERS={s.embedded_workers}`, "
        f"`MAX_CONCURRENT_COMPUTATIONS={s.max_concurrent_computations}`, "
        f"`MAX_PENDING_COMPUTATIONS={s.max_pending_computations}`, "
        f"`MAX_QUEUED_JOBS={s.max_queued_jobs}`, "
        f"`JOB_RETENTION_SECONDS={s.job_retention_seconds:g}`, `LOG_LEVEL={s.log_level}`; "
        + ("settings from the environment: " + ", ".join(passed) if passed else "all defaults")
    )


def best(steps: Sequence[Step]) -> Step | None:
    """The step with the most served req/s whose p99 is under 1 s with no error at all."""
    good = [s for s in steps if s.run.stats.p99 < P99_LIMIT_MS and s.run.stats.errors == 0]
    return max(good, key=lambda s: s.run.stats.served_rps, default=None)


def findings(steps: Sequence[Step], growth: Sequence[Growth]) -> list[str]:
    """Capacity, onsets, and each target: met or not, with the measured value."""
    runs = [s.run.stats for s in steps]
    top = best(steps)
    top_stats = top.run.stats if top else None
    errors = next((s for s in runs if s.errors), None)
    slow = next((s for s in runs if s.p99 >= P99_LIMIT_MS), None)
    throttled = next((s for s in runs if s.throttled), None)
    whole = growth[-1]
    assert whole.before is not None
    assert whole.after is not None
    fd_change = whole.after.fds - whole.before.fds
    rss_rate = whole.rss_per_min / report.MIB
    return [
        (
            f"- **Capacity**: {top_stats.served_rps:,.1f} served req/s at {top_stats.users} "
            f"users (p99 {top_stats.p99:,.0f} ms, no errors)."
            if top_stats
            else "- **Capacity**: no step had p99 < 1 s without errors."
        ),
        (
            f"- **Error onset**: {errors.users} users ({errors.server_errors} x 5xx, "
            f"{errors.connection_errors} without answer, {errors.other_errors} other "
            f"4xx, async jobs {errors.jobs})."
            if errors
            else f"- **Error onset**: none up to {runs[-1].users} users."
        ),
        (
            f"- **Beyond capacity**: {runs[-1].served_rps:,.1f} served req/s at "
            f"{runs[-1].users} users, {runs[-1].served_rps / top_stats.served_rps:.0%} of the "
            f"best, with {runs[-1].share_429:.1%} of requests answered 429."
            if top_stats and runs[-1] is not top_stats
            else "- **Beyond capacity**: the ramp did not go past the best step."
        ),
        (
            f"- **p99 reaches 1 s** at {slow.users} users ({slow.p99:,.0f} ms)."
            if slow
            else f"- **p99 stays under 1 s** up to {runs[-1].users} users."
        ),
        (
            f"- **429 onset**: {throttled.users} users ({throttled.share_429:.1%} of requests)."
            if throttled
            else f"- **429 onset**: none up to {runs[-1].users} users."
        ),
        "",
        "Targets (a measurement: a missed target does not fail the command):",
        "",
        f"- >= {TARGET_RPS:.0f} req/s at p99 < 1 s with 0 x 5xx: "
        + (
            f"**met** ({top_stats.served_rps:,.1f})"
            if top_stats and top_stats.served_rps >= TARGET_RPS
            else f"**not met** ({top_stats.served_rps if top_stats else 0:,.1f})"
        ),
        f"- RSS growth < {TARGET_RSS_MIB_PER_MIN} MiB/min (all server processes): "
        + ("**met**" if rss_rate < TARGET_RSS_MIB_PER_MIN else "**not met**")
        + f" ({rss_rate:+.3f} MiB/min)",
        "- fd growth 0 (all server processes, idle before vs after the soak): "
        + ("**met**" if fd_change <= 0 else "**not met**")  # fewer is no growth
        + f" ({whole.before.fds} -> {whole.after.fds})",
    ]


@dataclass(frozen=True)
class Campaign:
    """Everything one run measured, for the document."""

    command: str
    started: dt.datetime
    load: tuple[float, float, float]  # load average when it started
    step_seconds: float
    sample_seconds: float
    idle_seconds: float
    fresh: list[ProcessSample]  # the server right after start
    fresh_fds: dict[int, Counter[str]]
    steps: list[Step]
    soak: Soak
    log_lines: list[str]


def document(c: Campaign) -> str:
    s, soak_run = c.soak.run.stats, c.soak.run
    growth = growth_rows(c.fresh, c.soak)
    heaviest = max(c.steps, key=lambda step: step.run.stats.users)
    return "\n".join(
        [
            "# Reliability",
            "",
            "Written by `python -m bench.load` (`make load`); do not edit by hand. It starts",
            "`rnnlab serve` on a loopback port with a fresh data dir, runs locust headless",
            "(`bench/load/locustfile.py`, one process) in steps of increasing users, then",
            "soaks the server at a steady load while sampling RSS and open file descriptors",
            "of every server process (the launcher, its HTTP processes, the job consumer, its",
            "scheduler and workers).",
            "The load generator runs on the same cores as the server, so the server's share",
            "of the machine is smaller than its core count: see the CPU columns (cores used).",
            "",
            f"- Command: `{c.command}`",
            f"- Run: {c.started:%Y-%m-%d %H:%M} UTC on commit {commit()}; load average at "
            f"start {c.load[0]:.2f}, {c.load[1]:.2f}, {c.load[2]:.2f}",
            f"- Machine: {machine()}",
            f"- Server: {settings_line()}",
            "- Traffic: each user pauses 0.05-0.25 s between requests, and after a 429 waits"
            " as long as its `Retry-After` says; the weights are in the locustfile (the shares"
            " sent are in the last tables). A 429 is load shedding, not an error, and latency"
            " percentiles leave the 429s out. `served` counts 2xx and 3xx; `no answer` is a"
            " refused, reset or timed-out connection; async jobs are polled every 0.25 s for"
            " up to 30 s (`late` after that). CPU columns: cores used during the step by the"
            " server (all its processes), its HTTP processes alone, locust, and everything else"
            " on the machine (this driver included: other work competing for the cores).",
            "",
            "## Findings",
            "",
            *findings(c.steps, growth),
            "",
            f"## Ramp ({c.step_seconds:g} s per step)",
            "",
            report.ramp_table(c.steps),
            "",
            f"## Soak ({c.soak.seconds:g} s at {c.soak.users} users)",
            "",
            f"{s.rps:,.1f} req/s ({s.served_rps:,.1f} served), p50 {s.p50:,.1f} ms, "
            f"p99 {s.p99:,.1f} ms, 429 share {s.share_429:.1%}, 5xx {s.server_errors}, "
            f"no answer {s.connection_errors}, other 4xx {s.other_errors}, async jobs "
            f"ok/failed/late {report.jobs(s.jobs)}; server CPU {soak_run.server_cpu:.2f} "
            f"cores (HTTP processes {soak_run.api_cpu:.2f}), locust {soak_run.locust_cpu:.2f}, "
            f"other {soak_run.other_cpu:.2f}. Data dir "
            f"{c.soak.data_before / report.MIB:,.1f} MiB before, "
            f"{c.soak.data_after / report.MIB:,.1f} MiB after ("
            f"{(c.soak.data_after - c.soak.data_before) / report.MIB / c.soak.seconds * 60:+,.2f}"
            " MiB/min).",
            "",
            "`fresh`: right after start; `before` and `after`: around the soak, each after"
            f" {c.idle_seconds:g} s without load (idle timeouts of connections and pooled"
            " threads have run by then); growth per minute: least-squares slope of the"
            f" samples under load (every {c.sample_seconds:g} s) after the first"
            f" {c.soak.warmup:g} s of the soak.",
            "",
            report.soak_table(growth),
            "",
            "Open fds by what they are, idle after the soak against idle before it:",
            "",
            *fd_changes(c.soak.fds_before, c.soak.fds_after, growth),
            "",
            "and against the fresh server:",
            "",
            *fd_changes(c.fresh_fds, c.soak.fds_after, growth),
            "",
            "Server log over the whole run:",
            "",
            *(f"    {line}" for line in c.log_lines),
            "",
            "## Requests by endpoint",
            "",
            f"Soak ({c.soak.users} users):",
            "",
            report.endpoint_table(stats.by_endpoint(soak_run.records)),
            "",
            f"Heaviest ramp step ({heaviest.run.stats.users} users):",
            "",
            report.endpoint_table(stats.by_endpoint(heaviest.run.records)),
            "",
        ]
    )


def kept_stalls(path: Path) -> str:
    """The previous run's table of ``python -m bench.load.stalls``, kept as it was."""
    old = path.read_text() if path.exists() else ""
    if stalls.START not in old or stalls.END not in old:
        return ""
    block = old.split(stalls.START, 1)[1].split(stalls.END, 1)[0]
    return f"\n## The largest admitted requests\n\n{stalls.START}{block}{stalls.END}\n"


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the finally blocks that stop everything


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--steps", default="8,16,32,64,128,256,512", help="users per ramp step")
    parser.add_argument("--step-seconds", type=float, default=30.0)
    parser.add_argument("--soak-seconds", type=float, default=300.0)
    parser.add_argument("--soak-users", type=int, help="default: half the best step's users")
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument(
        "--idle-seconds", type=float, default=15.0, help="without load before each idle sample"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    users = [int(u) for u in args.steps.split(",")]
    if min(users) < 1 or args.step_seconds < 1 or args.soak_seconds < 1:
        parser.error("steps need at least one user, runs at least 1 s")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started, load = dt.datetime.now(dt.UTC), os.getloadavg()
    if load[0] > 0.5:
        print(f"note: the machine is busy (load average {load[0]:.2f})", flush=True)
    stopped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rnnlab-load-") as tmp:
        workdir, data_dir = Path(tmp), Path(tmp) / "data"
        log = workdir / "serve.log"
        try:
            with running_server(data_dir, log, stopped) as server:
                fresh, fresh_fds = server.sample(), server.fd_kinds()
                print(f"rnnlab serve at {server.url}, {len(fresh)} processes", flush=True)
                steps = ramp(server, users, args.step_seconds, workdir)
                top = best(steps)
                soak_users = args.soak_users or max(
                    1, (top.run.stats.users if top else min(users)) // 2
                )
                every = min(args.sample_seconds, args.soak_seconds / 5)
                print(f"soak: {soak_users} users for {args.soak_seconds:g} s", flush=True)
                result = soak(
                    server,
                    soak_users,
                    args.soak_seconds,
                    every,
                    args.idle_seconds,
                    workdir,
                    data_dir,
                )
        except (ServerDiedError, LoadFailedError, ValueError) as e:
            print(f"load run failed: {e}", file=sys.stderr)
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted; server stopped", file=sys.stderr)
            return 130
        finally:
            if stopped:
                print("had to kill: " + "; ".join(stopped), file=sys.stderr)
        campaign = Campaign(
            command="python -m bench.load" + "".join(f" {shlex.quote(a)}" for a in sys.argv[1:]),
            started=started,
            load=load,
            step_seconds=args.step_seconds,
            sample_seconds=every,
            idle_seconds=args.idle_seconds,
            fresh=fresh,
            fresh_fds=fresh_fds,
            steps=steps,
            soak=result,
            log_lines=server_log_summary(log),
        )
    text = document(campaign)
    if stopped:
        text += "\nSIGTERM did not stop the whole server; killed: " + "; ".join(stopped) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    text += kept_stalls(args.output)
    args.output.write_text(text)
    print(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
