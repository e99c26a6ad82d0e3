"""``rnnlab-client``: the client for shell scripts.

Each command prints its result as JSON on stdout (indented on a terminal, one line on a
pipe); errors go to stderr, the server's problem document as JSON. The exit code says
what happened:

    0  success
    1  the server answered an error (4xx/5xx): its problem document is on stderr
    2  usage: the command line is wrong (argparse's own code)
    3  no answer: the server could not be reached, or a timeout ran out
    4  the job ended failed or cancelled (train --wait, job wait); its JSON is on stdout
    5  job wait / train --wait: --timeout ran out before the job ended

Over 300 lines because it holds one subcommand per operation with its options and help;
each is a few lines handing its arguments to ``Client``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import numpy as np

from rnnlab_client import __version__
from rnnlab_client._api import DatasetArgs
from rnnlab_client._http import DEFAULT_URL
from rnnlab_client.client import Client, Job
from rnnlab_client.errors import (
    ConnectionFailedError,
    Problem,
    ProblemError,
    UnexpectedResponseError,
    WaitTimeoutError,
)
from rnnlab_client.models import Readiness, Weights

__all__ = ["EXIT_CODES", "jsonable", "main"]

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_CONNECTION = 3
EXIT_JOB = 4
EXIT_TIMEOUT = 5
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_PROBLEM: "the server answered an error (problem document on stderr)",
    EXIT_USAGE: "usage error",
    EXIT_CONNECTION: "no answer from the server (unreachable, or a timeout)",
    EXIT_JOB: "the job ended failed or cancelled",
    EXIT_TIMEOUT: "the job did not end within --timeout",
}


class UsageError(Exception):
    """A command line argparse accepted but that makes no sense (exit code 2)."""


class JobEnded(Exception):  # noqa: N818 - a signal to main, not an error of the client
    """The job that was waited for ended failed or cancelled (exit code 4)."""

    def __init__(self, job: Job) -> None:
        self.job = job


# -- output --------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """A result as JSON-ready data: nan (an overflow) as null, arrays as lists, times in UTC."""
    if isinstance(value, Job):
        return jsonable(value.state)
    if isinstance(value, Problem):
        return value.to_json()
    if isinstance(value, Weights):
        return {"wx": jsonable(value.wx), "wrec": jsonable(value.wrec)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {key: jsonable(item) for key, item in value._asdict().items()}
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _print_json(value: Any, stream: TextIO) -> None:
    indent = 2 if stream.isatty() else None
    print(json.dumps(jsonable(value), indent=indent, allow_nan=False), file=stream)


def _save(path: Path, data: Any, array: np.ndarray[Any, Any] | None) -> None:
    """``array`` as .npy when the path says so, else ``data`` as JSON."""
    if path.suffix == ".npy" and array is not None:
        np.save(path, array, allow_pickle=False)
    else:
        path.write_text(json.dumps(jsonable(data), allow_nan=False) + "\n")


# -- arguments -----------------------------------------------------------------------------


def _pair(text: str) -> tuple[float, float]:
    """``wx:wrec`` as two floats (argparse reports a ValueError as a usage error)."""
    wx, sep, wrec = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected wx:wrec, got {text!r}")
    try:
        return float(wx), float(wrec)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers wx:wrec, got {text!r}") from None


def _pairs(text: str) -> list[tuple[float, float]]:
    return [_pair(item) for item in text.split(",") if item.strip()]


def _setting(text: str) -> tuple[str, Any]:
    """``name=value`` for an optimizer hyperparameter; the value read as JSON if it can be."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    try:
        return name, json.loads(raw)
    except ValueError:
        return name, raw


def _add_dataset(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "dataset (at most one form; none: the tutorial dataset)",
    )
    group.add_argument("--dataset-id", help="a stored dataset (from `dataset create`)")
    group.add_argument("--n-samples", type=int, help="spec: number of sequences")
    group.add_argument("--length", type=int, help="spec: steps per sequence")
    group.add_argument("--min-length", type=int, help="spec: shortest sequence")
    group.add_argument("--max-length", type=int, help="spec: longest sequence")
    group.add_argument("--seed", type=int, help="spec: random seed (default 0)")
    group.add_argument("--p-one", type=float, help="spec: probability of a one (default 0.5)")
    group.add_argument("--generator", choices=["pcg64", "legacy"], help="spec: generator")
    group.add_argument(
        "--data",
        metavar="FILE",
        help="sequences from a JSON file ('-': stdin): [[...], ...] or "
        '{"sequences": [[...], ...], "targets": [...]}',
    )


def _dataset(args: argparse.Namespace) -> DatasetArgs:
    dataset: dict[str, Any] = {
        name: getattr(args, name)
        for name in (
            "dataset_id",
            "n_samples",
            "length",
            "min_length",
            "max_length",
            "seed",
            "p_one",
            "generator",
        )
        if getattr(args, name, None) is not None
    }
    if getattr(args, "data", None) is not None:
        data = _read_json(args.data)
        if isinstance(data, Mapping):
            dataset["sequences"] = data.get("sequences")
            if data.get("targets") is not None:
                dataset["targets"] = data["targets"]
        else:
            dataset["sequences"] = data
    return dataset  # type: ignore[return-value]  # checked by the client's own rules


def _read_json(name: str) -> Any:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text()
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read JSON from {name}: {exc}") from None


def _add_window(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The window of a surface (``defaults``: the service's, else left to the service)."""
    for name, default in (("wx-min", -3.0), ("wx-max", 3.0), ("wrec-min", -3.0), ("wrec-max", 3.0)):
        parser.add_argument(f"--{name}", type=float, default=default if defaults else None)
    parser.add_argument(
        "--resolution", type=int, default=50 if defaults else None, help="grid points per axis"
    )


def _add_image(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, help="image file (.png or .svg)")
    parser.add_argument("--width", type=int, help="pixels")
    parser.add_argument("--height", type=int, help="pixels")
    parser.add_argument("--dpi", type=int, help="dots per inch")


def _image_format(path: str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in ("png", "svg"):
        raise UsageError(f"--output must end in .png or .svg, got {path}")
    return suffix


def _add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress bar on stderr (default: when stderr is a terminal and tqdm is there)",
    )
    parser.add_argument("--timeout", type=float, help="give up waiting after SECONDS (exit 5)")


def _show_progress(choice: bool | None) -> bool:
    if choice is not None:
        return choice
    if not sys.stderr.isatty():
        return False
    try:
        import tqdm  # noqa: F401 - only whether it is there
    except ImportError:
        return False
    return True


# -- commands ------------------------------------------------------------------------------

Command = Callable[[Client, argparse.Namespace], Any]


def _loss(c: Client, a: argparse.Namespace) -> Any:
    if a.outputs:
        return c.outputs(a.wx, a.wrec, **_dataset(a))
    value = c.loss(a.wx, a.wrec, **_dataset(a))
    return {"loss": value, "overflow": math.isnan(value)}


def _gradient(c: Client, a: argparse.Namespace) -> Any:
    return c.gradient(a.wx, a.wrec, sequence_trace=a.sequence_trace, **_dataset(a))


def _check(c: Client, a: argparse.Namespace) -> Any:
    return c.gradient_check(a.wx, a.wrec, eps=a.eps, **_dataset(a))


def _surface(c: Client, a: argparse.Namespace) -> Any:
    surface = c.loss_surface(
        wx_min=a.wx_min,
        wx_max=a.wx_max,
        wrec_min=a.wrec_min,
        wrec_max=a.wrec_max,
        resolution=a.resolution,
        nx=a.nx,
        ny=a.ny,
        **_dataset(a),
    )
    if a.output is None:
        return surface
    _save(Path(a.output), surface, surface.loss)
    return {
        "output": a.output,
        "shape": list(surface.loss.shape),
        "wx": [surface.wx[0], surface.wx[-1]],
        "wrec": [surface.wrec[0], surface.wrec[-1]],
        "min": surface.min,
        "overflow": surface.overflow,
    }


def _gradient_over_time(c: Client, a: argparse.Namespace) -> Any:
    return c.gradient_over_time(a.points, **_dataset(a))


def _predict(c: Client, a: argparse.Namespace) -> Any:
    if a.file is not None and a.values:
        raise UsageError("give the sequence's values or --file, not both")
    sequences = _read_json(a.file) if a.file is not None else [a.values]
    if not sequences or not sequences[0]:
        raise UsageError("give a sequence's values (predict 0 1 1 0 ...) or --file")
    has_weights = a.wx is not None or a.wrec is not None
    if (a.job is None) == (not has_weights) or (has_weights and None in (a.wx, a.wrec)):
        raise UsageError("give --job ID, or both --wx and --wrec")
    weights = None if a.job is not None else (a.wx, a.wrec)
    outputs = c.predict(sequences, weights=weights, job_id=a.job)
    return {"outputs": outputs}


def _wait(job: Job, a: argparse.Namespace) -> Job:
    try:
        job.wait(progress=_show_progress(a.progress), timeout=a.timeout)
    except WaitTimeoutError:
        _print_json(job, sys.stdout)
        raise
    if job.status != "succeeded":
        raise JobEnded(job)
    return job


def _train(c: Client, a: argparse.Namespace) -> Any:
    job = c.train(
        optimizer=a.optimizer,
        hyperparameters=dict(a.set) if a.set else None,
        iterations=a.iterations,
        initial=a.initial,
        tolerance=a.tolerance,
        record_trajectory=False if a.no_trajectory else None,
        starts=a.starts,
        **_dataset(a),
    )
    return _wait(job, a) if a.wait else job


def _job_get(c: Client, a: argparse.Namespace) -> Any:
    return c.job(a.id)


def _job_cancel(c: Client, a: argparse.Namespace) -> Any:
    return c.job(a.id).cancel()


def _job_wait(c: Client, a: argparse.Namespace) -> Any:
    return _wait(c.job(a.id), a)


def _job_list(c: Client, a: argparse.Namespace) -> Any:
    return list(c.list_jobs(status=a.status, limit=a.limit))


def _job_trajectory(c: Client, a: argparse.Namespace) -> Any:
    trajectory = c.job(a.id).trajectory(a.start)
    if a.output is None:
        return trajectory
    table = np.column_stack([trajectory.wx, trajectory.wrec, trajectory.loss])
    _save(Path(a.output), trajectory, table)
    return {"output": a.output, "iterations": trajectory.iterations}


def _job_figure(c: Client, a: argparse.Namespace) -> Any:
    image = c.figure_job(
        a.id,
        _image_format(a.output),  # type: ignore[arg-type]
        resolution=a.resolution,
        width=a.width,
        height=a.height,
        dpi=a.dpi,
    )
    Path(a.output).write_bytes(image)
    return {"output": a.output, "bytes": len(image)}


def _dataset_create(c: Client, a: argparse.Namespace) -> Any:
    return c.create_dataset(**_dataset(a))


def _dataset_get(c: Client, a: argparse.Namespace) -> Any:
    return c.get_dataset(a.id, include_data=a.include_data)


def _dataset_list(c: Client, a: argparse.Namespace) -> Any:
    return list(c.list_datasets(limit=a.limit))


def _dataset_delete(c: Client, a: argparse.Namespace) -> Any:
    c.delete_dataset(a.id)
    return {"deleted": a.id}


def _figure_surface(c: Client, a: argparse.Namespace) -> Any:
    image = c.figure_loss_surface(
        _image_format(a.output),  # type: ignore[arg-type]
        wx_min=a.wx_min,
        wx_max=a.wx_max,
        wrec_min=a.wrec_min,
        wrec_max=a.wrec_max,
        resolution=a.resolution,
        zoom=a.zoom,
        points=a.points,
        width=a.width,
        height=a.height,
        dpi=a.dpi,
        **_dataset(a),
    )
    Path(a.output).write_bytes(image)
    return {"output": a.output, "bytes": len(image)}


def _figure_gradient(c: Client, a: argparse.Namespace) -> Any:
    image = c.figure_gradient_over_time(
        _image_format(a.output),  # type: ignore[arg-type]
        points=a.points,
        width=a.width,
        height=a.height,
        dpi=a.dpi,
        **_dataset(a),
    )
    Path(a.output).write_bytes(image)
    return {"output": a.output, "bytes": len(image)}


def parser() -> argparse.ArgumentParser:
    """The whole command line (each subcommand's ``func`` runs it)."""
    main = argparse.ArgumentParser(
        prog="rnnlab-client",
        description="Use an rnnlab service from the shell: results as JSON on stdout, "
        "problems on stderr.",
        epilog="exit codes: "
        + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()),
    )
    main.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    main.add_argument(
        "--url",
        default=os.environ.get("RNNLAB_URL") or DEFAULT_URL,
        help="the service (default: $RNNLAB_URL, else %(default)s)",
    )
    main.add_argument("--token", help="bearer token (default: $RNNLAB_API_TOKEN)")
    main.add_argument(
        "--http-timeout", type=float, default=60.0, help="seconds per connect or read"
    )
    main.add_argument(
        "--retries", type=int, default=3, help="retries after 429/503 or a failed connection"
    )
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Command, help: str, group: Any = commands) -> Any:
        sub = group.add_parser(name, help=help, description=help)
        sub.set_defaults(func=func)
        return sub

    command("health", lambda c, a: c.health(), "liveness of the service")
    command("ready", lambda c, a: c.ready(), "readiness of the service (exit 1 when not ready)")
    command("optimizers", lambda c, a: c.optimizers(), "the optimizers train takes")

    for name, func, help in (
        ("loss", _loss, "the loss at (wx, wrec)"),
        ("gradient", _gradient, "loss and gradient by BPTT at (wx, wrec), with dξ/dS_k"),
        ("gradient-check", _check, "BPTT's gradient against central differences"),
    ):
        sub = command(name, func, help)
        sub.add_argument("--wx", type=float, required=True)
        sub.add_argument("--wrec", type=float, required=True)
        if name == "loss":
            sub.add_argument("--outputs", action="store_true", help="also each sequence's y")
        if name == "gradient":
            sub.add_argument("--sequence-trace", action="store_true", help="dξ/dS_k per sequence")
        if name == "gradient-check":
            sub.add_argument("--eps", type=float, default=1e-7, help="central differences' step")
        _add_dataset(sub)

    sub = command("surface", _surface, "the loss surface on a grid")
    _add_window(sub, defaults=True)
    sub.add_argument("--nx", type=int, help="grid points along wx")
    sub.add_argument("--ny", type=int, help="grid points along wrec")
    sub.add_argument(
        "-o", "--output", help="write the loss to FILE (.npy: the ny x nx matrix; else JSON)"
    )
    _add_dataset(sub)

    sub = command("gradient-over-time", _gradient_over_time, "dξ/dS_k over time at points")
    sub.add_argument("--points", type=_pairs, help="wx:wrec,... (default: the tutorial's six)")
    _add_dataset(sub)

    sub = command("predict", _predict, "outputs for sequences, with weights or a job's")
    sub.add_argument("values", nargs="*", type=float, help="one sequence's values")
    sub.add_argument("--file", help="sequences from a JSON file [[...], ...] ('-': stdin)")
    sub.add_argument("--job", help="use this succeeded job's trained weights")
    sub.add_argument("--wx", type=float)
    sub.add_argument("--wrec", type=float)

    sub = command("train", _train, "queue a training job (default: the tutorial's run)")
    sub.add_argument("--optimizer", help="rprop (default), rprop-, rprop+, irprop-, irprop+, sgd")
    sub.add_argument(
        "--set",
        type=_setting,
        action="append",
        metavar="NAME=VALUE",
        help="an optimizer hyperparameter, e.g. --set eta_plus=1.3 (repeatable)",
    )
    sub.add_argument("--iterations", type=int)
    sub.add_argument("--initial", type=_pair, metavar="WX:WREC", help="default -1.5:2")
    sub.add_argument("--tolerance", type=float, help="stop once the loss is at or below it")
    sub.add_argument("--starts", type=_pairs, metavar="WX:WREC,...", help="multi-start")
    sub.add_argument("--no-trajectory", action="store_true", help="record no trajectory")
    sub.add_argument("--wait", action="store_true", help="follow the job to its end")
    _add_progress(sub)
    _add_dataset(sub)

    jobs = command("job", lambda c, a: None, "one job: get, cancel, wait, list, ...")
    job_commands = jobs.add_subparsers(dest="job_command", required=True, metavar="ACTION")
    for name, func, help in (
        ("get", _job_get, "a job's state"),
        ("cancel", _job_cancel, "cancel a queued or running job"),
        ("wait", _job_wait, "follow a job to its end (exit 4 if it failed)"),
        ("trajectory", _job_trajectory, "a finished job's trajectory"),
        ("figure", _job_figure, "a finished job's path on the loss surface"),
    ):
        sub = command(name, func, help, job_commands)
        sub.add_argument("id", help="the job's id")
        if name == "wait":
            _add_progress(sub)
        if name == "trajectory":
            sub.add_argument("--start", type=int, help="which start of a multi-start job")
            sub.add_argument("-o", "--output", help=".npy: (iterations + 1) x 3; else JSON")
        if name == "figure":
            _add_image(sub)
            sub.add_argument("--resolution", type=int)
    sub = command("list", _job_list, "jobs, newest first", job_commands)
    sub.add_argument("--status", choices=["queued", "running", "succeeded", "failed", "cancelled"])
    sub.add_argument("--limit", type=int, default=50, help="at most this many")

    datasets = command("dataset", lambda c, a: None, "stored datasets: create, get, list, delete")
    dataset_commands = datasets.add_subparsers(dest="dataset_command", required=True)
    sub = command("create", _dataset_create, "store a dataset (a spec or --data)", dataset_commands)
    _add_dataset(sub)
    sub = command("get", _dataset_get, "a stored dataset", dataset_commands)
    sub.add_argument("id")
    sub.add_argument("--include-data", action="store_true", help="with sequences and targets")
    sub = command("list", _dataset_list, "stored datasets, oldest first", dataset_commands)
    sub.add_argument("--limit", type=int, help="at most this many")
    sub = command("delete", _dataset_delete, "remove a stored dataset", dataset_commands)
    sub.add_argument("id")

    figures = command("figure", lambda c, a: None, "the tutorial's figures as PNG or SVG")
    figure_commands = figures.add_subparsers(dest="figure_command", required=True)
    sub = command("loss-surface", _figure_surface, "the loss-surface figure", figure_commands)
    _add_window(sub, defaults=False)
    sub.add_argument("--zoom", action=argparse.BooleanOptionalAction, default=None)
    sub.add_argument("--points", type=_pairs, help="wx:wrec,... to annotate")
    _add_image(sub)
    _add_dataset(sub)
    sub = command(
        "gradient-over-time", _figure_gradient, "the gradient-over-time figure", figure_commands
    )
    sub.add_argument("--points", type=_pairs, help="wx:wrec,...")
    _add_image(sub)
    _add_dataset(sub)
    return main


def _fail(code: int, message: str) -> NoReturn:
    print(f"rnnlab-client: {message}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (see the module's docstring)."""
    args = parser().parse_args(argv)
    try:
        with Client(
            args.url, args.token, timeout=args.http_timeout, retries=args.retries
        ) as client:
            result = args.func(client, args)
            _print_json(result, sys.stdout)
            if isinstance(result, Readiness) and not result.ready:
                return EXIT_PROBLEM
    except ProblemError as exc:
        body = {**exc.problem.to_json(), "request_id": exc.request_id}
        print(json.dumps(body, allow_nan=False), file=sys.stderr)
        return EXIT_PROBLEM
    except UnexpectedResponseError as exc:
        _fail(EXIT_PROBLEM, str(exc))
    except ConnectionFailedError as exc:
        _fail(EXIT_CONNECTION, f"no answer from {args.url}: {exc}")
    except JobEnded as ended:
        _print_json(ended.job, sys.stdout)
        error = ended.job.error
        detail = f": {error.title}: {error.detail}" if error is not None else ""
        print(f"rnnlab-client: job {ended.job.id} {ended.job.status}{detail}", file=sys.stderr)
        return EXIT_JOB
    except WaitTimeoutError as exc:
        _fail(EXIT_TIMEOUT, str(exc))
    except (UsageError, ValueError, ImportError) as exc:
        _fail(EXIT_USAGE, str(exc))
    except KeyboardInterrupt:
        return 130
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
