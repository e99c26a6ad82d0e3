"""Credentials never leave the process: URLs lose their passwords, errors lose their paths.

Settings such as ``RNNLAB_QUEUE_URL`` may carry a password (``redis://user:secret@host``),
and the libraries that use them quote the URL in their exceptions. Rather than trusting
every message to be clean, text bound for a client or a log passes through ``redact``.
"""

from __future__ import annotations

import re

__all__ = ["redact", "redact_paths", "redact_url"]

# scheme://user:password@  or  scheme://:password@  (the user part may be empty)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/\s:@]*):[^/\s@]*@")
# Absolute POSIX paths of two or more components (/var/lib/rnnlab/jobs.db, /tmp/x/y).
_PATH = re.compile(r"(?<![\w:/.])/(?:[\w.-]+/)+[\w.-]*")


def redact(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _USERINFO.sub(r"\g<scheme>\g<user>:***@", text)


def redact_url(url: str) -> str:
    """A URL fit for logs and error messages: its password replaced by ``***``."""
    return redact(url)


def redact_paths(text: str) -> str:
    """``text`` without file-system paths (a client has no business knowing the layout)."""
    return _PATH.sub("<path>", text)
