"""What some tests need from the machine: without it they skip, except in CI, where they fail.

CI (``CI=true``, as ``.ci/run`` sets it) installs everything the suite talks to, so a
missing tool there is a broken CI machine, not a reason to pass silently.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["missing"]


def missing(what: str) -> NoReturn:
    """Skip the test for want of ``what`` (a sentence saying how to get it); fail in CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI must provide it)")
    pytest.skip(what)
