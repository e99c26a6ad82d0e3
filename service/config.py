"""Settings: one place for every knob, read from ``RNNLAB_*`` environment variables.

Every size a client chooses has a limit here, so an operator can tighten or widen it
without touching code; the defaults admit real work (grids of 2048 x 2048, datasets of
1,000,000 x 100 as a generation spec or 100,000 x 100 uploaded, sequences of 100,000 steps).
Its length is the settings themselves, each with the description the README and
``rnnlab serve --help`` show.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.redaction import redact_url

__all__ = ["Settings"]


class Settings(BaseSettings):
    """The service's configuration; ``RNNLAB_<FIELD>`` sets a field (e.g. ``RNNLAB_PORT``)."""

    model_config = SettingsConfigDict(env_prefix="RNNLAB_", extra="ignore")

    # Where things live and who may call.
    data_dir: Path = Field(
        default=Path("data"), description="Stored datasets (and the embedded job queue) live here."
    )
    queue_url: str = Field(
        default="",
        description="Empty: embedded SQLite queue in data_dir; redis://host:port/db: Redis.",
    )
    embedded_workers: int = Field(default=2, ge=0, description="In-process job workers of `serve`.")
    api_processes: int = Field(
        default_factory=lambda: len(os.sched_getaffinity(0)),  # the cores this process may use
        ge=1,
        description=(
            "HTTP processes of `rnnlab serve` (default: the machine's cores); the server-wide "
            "limits of memory, computations, connections and event streams are shared "
            "among them."
        ),
    )
    api_token: SecretStr | None = Field(
        default=None, description="When set, requests need `Authorization: Bearer <token>`."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Origins (comma-separated, e.g. https://lab.example.org) whose pages may call the "
            "API from a browser; empty: none (CORS off). `*` allows every origin, and only "
            "without a token."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `rnnlab serve` binds to.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `rnnlab serve` listens on.")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        default="info", description="Level of the server's logs (access lines are info)."
    )

    # Requests and connections: how much a client may send, and how slowly.
    max_body_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1, description="Largest request body, in bytes."
    )
    max_body_numbers: int = Field(
        default=12_000_000,
        ge=1,
        description=(
            "Most numbers (counted as commas while the body arrives, before parsing) in one "
            "JSON body; the element limits of datasets and predictions apply after parsing."
        ),
    )
    max_body_memory: int = Field(
        default=1024 * 1024 * 1024,
        ge=1,
        description=(
            "Bytes all request bodies being received and parsed may hold at once (a large "
            "JSON body counts its bytes and 48 per number); beyond, 503 with Retry-After."
        ),
    )
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a connection may take to send a request's headers; then it is closed.",
    )
    body_timeout: float = Field(
        default=60.0, gt=0, description="Seconds a client may take to send a whole body (408)."
    )
    send_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a response may wait for a client that does not read it; then closed.",
    )
    keep_alive_timeout: int = Field(
        default=5, ge=1, description="Seconds an idle keep-alive connection stays open."
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="Most open connections and requests at once; beyond, new requests get 503.",
    )
    max_event_streams: int = Field(
        default=256, ge=1, description="Most open `GET /jobs/{id}/events` streams (then 503)."
    )
    max_event_streams_per_job: int = Field(
        default=16, ge=1, description="Most open event streams on one job (then 429)."
    )

    # Datasets: generation specs, uploads and the store.
    max_samples: int = Field(
        default=1_000_000, ge=1, description="Most sequences in one dataset (spec or upload)."
    )
    max_length: int = Field(
        default=10_000, ge=1, description="Longest `length`/`max_length` of a spec."
    )
    max_dataset_elements: int = Field(
        default=100_000_000, ge=1, description="Most steps (n_samples x longest length) of a spec."
    )
    max_upload_elements: int = Field(
        default=10_000_000,
        ge=1,
        description="Most steps (sequences x longest sequence) of an uploaded or inline dataset.",
    )
    max_sequence_length: int = Field(
        default=100_000, ge=1, description="Longest single sequence in an upload or a prediction."
    )
    max_include_elements: int = Field(
        default=10_000_000,
        ge=1,
        description=(
            "Most steps `GET /datasets/{id}?include=data` returns, and most values of a "
            "`POST /gradient` `sequence_trace` (sequences x (longest sequence + 1))."
        ),
    )
    max_datasets: int = Field(default=1_000, ge=1, description="Most datasets kept in the store.")
    dataset_cache_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=0,
        description="Bytes of generated or loaded datasets kept in memory (least recently used).",
    )

    # Analysis.
    max_resolution: int = Field(default=4096, ge=1, description="Most grid points along one axis.")
    max_grid_points: int = Field(
        default=2048 * 2048, ge=1, description="Most grid points (nx x ny) of one loss surface."
    )
    max_points: int = Field(
        default=1024, ge=1, description="Most points of one gradient-over-time."
    )
    max_compute_seconds: float = Field(
        default=20.0,
        gt=0,
        description=(
            "Longest computation of one request, in seconds: requests estimated to take "
            "longer (from their size, by the path that computes them) are refused with 413, "
            "and a computation that runs longer anyway is stopped with 413."
        ),
    )
    max_predict_sequences: int = Field(
        default=100_000, ge=1, description="Most sequences per /predict."
    )
    max_predict_elements: int = Field(
        default=10_000_000,
        ge=1,
        description="Most steps (sequences x longest sequence) per /predict.",
    )

    # Instant runs (POST /runs) and trajectories sent to clients.
    max_run_iterations: int = Field(
        default=10_000,
        ge=1,
        description=(
            "Most iterations of one `POST /runs` (computed in the request); longer runs "
            "are training jobs (`POST /train`)."
        ),
    )
    max_run_starts: int = Field(
        default=16, ge=1, description="Most starts of one `POST /runs` (`starts`)."
    )
    max_path_points: int = Field(
        default=20_000,
        ge=2,
        description=(
            "Largest `max_points` a client may ask for: points of one path in an answer "
            "(`GET /jobs/{id}/trajectory`, `POST /runs`), thinned evenly, both ends kept."
        ),
    )

    # Figures (PNG/SVG images).
    figure_max_width: int = Field(default=4000, ge=100, description="Widest figure, in pixels.")
    figure_max_height: int = Field(default=4000, ge=100, description="Tallest figure, in pixels.")
    figure_max_dpi: int = Field(default=300, ge=10, description="Highest figure dots per inch.")
    figure_max_resolution: int = Field(
        default=400, ge=2, description="Most grid points along one axis of a figure's loss surface."
    )
    figure_max_points: int = Field(
        default=32,
        ge=1,
        description="Most annotated points (and gradient-over-time lines) per figure.",
    )
    figure_processes: int = Field(
        default=1,
        ge=1,
        description="Processes that draw figures (matplotlib holds the GIL while it draws).",
    )
    gzip_level: int = Field(
        default=1,
        ge=0,
        le=9,
        description=(
            "gzip level of JSON, CSV and SVG answers over 1 KiB to clients that accept gzip "
            "(0: never). Level 1 halves a surface's JSON at about 60 MB/s of one core; "
            "higher levels save a few percent more for 3 to 5 times the CPU."
        ),
    )
    cache_seconds: int = Field(
        default=3600,
        ge=0,
        description=(
            "Cache-Control max-age of answers that depend only on their query: figures, "
            "surfaces, gradients over time, stored datasets."
        ),
    )

    # Concurrency of CPU-bound work.
    max_concurrent_computations: int = Field(
        default=4, ge=1, description="CPU-bound requests computed at once (worker threads)."
    )
    max_pending_computations: int = Field(
        default=16,
        ge=0,
        description=(
            "Requests admitted beyond the running ones (waiting for a slot, or sending their "
            "answer); more get 429 at once."
        ),
    )

    blas_threads: int = Field(
        default=1,
        ge=1,
        description=(
            "BLAS threads of each API process and job worker. 1 by default: requests, "
            "processes and workers already keep the cores busy, and more threads than "
            "cores made one pass over a big dataset up to 30 times slower."
        ),
    )

    # Training jobs (service.jobs): limits, workers and failure detection.
    max_queued_jobs: int = Field(
        default=1_000,
        ge=1,
        description="Most jobs waiting in the queue; POST /train then answers 429.",
    )
    max_iterations: int = Field(default=10_000_000, ge=1, description="Most iterations of one job.")
    max_job_work: int = Field(
        default=10_000_000_000,
        ge=1,
        description=(
            "Most work of one job: iterations x starts x dataset elements "
            "(sequences x longest sequence)."
        ),
    )
    max_starts: int = Field(
        default=256,
        ge=1,
        description="Most starts of one multi-start job (`starts`, or nx x ny of `starts_grid`).",
    )
    max_trajectory_points: int = Field(
        default=5_000_000,
        ge=1,
        description="Most recorded trajectory points of one job: starts x (iterations + 1).",
    )
    job_timeout: float = Field(
        default=3600.0, gt=0, description="Wall time of one running job in seconds; then it fails."
    )
    workers: int = Field(default=2, ge=1, description="Worker processes of `rnnlab worker`.")
    heartbeat_timeout: float = Field(
        default=10.0,
        gt=0,
        description=(
            "A running job whose worker sent no heartbeat (every 0.2 s) for this many seconds "
            "of the reaper's observation is put back in the queue (after 3 starts: failed)."
        ),
    )
    reaper_interval: float = Field(default=2.0, gt=0, description="Seconds between reaper passes.")
    end_record_timeout: float = Field(
        default=3600.0,
        gt=0,
        description=(
            "Seconds a worker keeps retrying to record a finished job's end while the store "
            "is unreachable or full (then a reaper runs the job again)."
        ),
    )
    job_retention_seconds: float = Field(
        default=7 * 24 * 3600.0,
        ge=0,
        description=(
            "Finished jobs (records and trajectories) are deleted by the reaper this many "
            "seconds after they ended (default a week); 0 keeps them forever."
        ),
    )
    max_train_wait: float = Field(
        default=600.0,
        ge=0,
        description=(
            "Longest `POST /train?wait=` honoured, in seconds: a longer wait (the API takes "
            "up to 600) answers 202 after this long if the job has not ended."
        ),
    )

    def shared_by(self, processes: int) -> Settings:
        """These settings for one of ``processes`` HTTP processes: each takes its share of
        the limits that bound the whole server, so the README's totals stay true."""
        if processes == 1:
            return self
        least = {  # the smallest share each setting admits
            "max_concurrent_computations": 1,
            "max_pending_computations": 0,
            "max_body_memory": 1,
            "dataset_cache_bytes": 0,
            "max_connections": 1,
            "max_event_streams": 1,
        }
        shares = {
            name: max(smallest, getattr(self, name) // processes)
            for name, smallest in least.items()
        }
        return self.model_copy(update=shares)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _no_wildcard_with_a_token(self) -> Settings:
        if "*" in self.cors_origins and self.api_token is not None:
            raise ValueError(
                "cors_origins '*' lets any page use the API: with api_token set, name the "
                "origins that may"
            )
        return self

    @field_validator("queue_url")
    @classmethod
    def _known_queue(cls, url: str) -> str:
        if url and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(
                "must be empty (the embedded SQLite queue) or a redis://, rediss:// or "
                f"unix:// URL, got {redact_url(url)!r}"
            )
        return url
