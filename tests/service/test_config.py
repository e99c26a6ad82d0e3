"""Settings: RNNLAB_ environment variables, defaults that admit real work."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.cost import bptt_seconds, surface_seconds
from service.config import Settings


def test_defaults_admit_the_sizes_the_service_promises() -> None:
    s = Settings()
    assert s.max_samples >= 1_000_000
    assert s.max_dataset_elements >= 1_000_000 * 100
    assert s.max_upload_elements >= 100_000 * 100
    assert s.max_sequence_length >= 10_000
    assert s.max_resolution >= 2048
    assert s.max_grid_points >= 2048 * 2048
    # A 2048 x 2048 surface of the largest generated and uploaded datasets.
    assert s.max_compute_seconds >= surface_seconds(1_000_000, 100, 2048, 2048)
    assert s.max_compute_seconds >= surface_seconds(100_000, 100, 2048, 2048)
    # The gradient on the largest generated dataset, and on the longest sequences.
    assert s.max_compute_seconds >= bptt_seconds(1_000_000, 100)
    assert s.max_compute_seconds >= bptt_seconds(10_000, 10_000)
    assert s.max_predict_elements >= 100_000 * 100
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert s.data_dir == Path("data")
    assert s.api_token is None


def test_environment_variables_with_the_prefix_set_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RNNLAB_MAX_SAMPLES", "5")
    monkeypatch.setenv("RNNLAB_DATA_DIR", "/tmp/elsewhere")
    monkeypatch.setenv("RNNLAB_API_TOKEN", "s3cret")
    monkeypatch.setenv("MAX_SAMPLES", "7")  # no prefix: ignored
    s = Settings()
    assert s.max_samples == 5
    assert s.data_dir == Path("/tmp/elsewhere")
    assert s.api_token is not None
    assert s.api_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(s)


def test_invalid_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RNNLAB_MAX_RESOLUTION", "0")
    with pytest.raises(ValueError, match="max_resolution"):
        Settings()


def test_a_queue_url_that_is_not_redis_is_refused_without_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RNNLAB_QUEUE_URL", "http://user:hunter2@example.org/")
    with pytest.raises(ValueError, match="queue_url") as caught:
        Settings()
    assert "hunter2" not in str(caught.value.errors(include_input=False))  # type: ignore[attr-defined]
