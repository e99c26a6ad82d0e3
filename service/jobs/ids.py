"""Job ids that sort by creation time, and the list cursor built on them.

An id is 26 Crockford base32 characters: 48 bits of milliseconds since the epoch, then 80
random bits (the ULID layout), bumped within one process so ids made in the same
millisecond still increase. Sorting ids sorts jobs by age, which is all ``GET /jobs``
paging needs: the next page is "ids smaller than the last one seen", in every backend.
"""

from __future__ import annotations

import os
import re
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
_ID_RE = re.compile(ID_PATTERN)
_lock = threading.Lock()
_last = 0


def new_job_id() -> str:
    """A fresh, time-ordered job id."""
    global _last
    with _lock:
        value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
        value = max(value, _last + 1)
        _last = value
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_job_id(text: str) -> bool:
    return bool(_ID_RE.match(text))


def decode_cursor(cursor: str) -> str | None:
    """The id a cursor continues after (a cursor is the last id of its page: ids sort by
    age in every backend), or None when the cursor is not one of ours."""
    return cursor if is_job_id(cursor) else None
