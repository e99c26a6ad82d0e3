"""Rewrite the README's generated sections: ``python scripts/readme.py`` (``make readme``).

A generated section sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``; its
text comes from the code it describes, so a test can hold the README to it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from service.jobs.optimizers import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"

SECTIONS: dict[str, Callable[[], str]] = {"optimizers": markdown_table}


def section(text: str, name: str) -> str:
    """The current text of section ``name``."""
    return text.split(f"<!-- {name}:start -->\n", 1)[1].split(f"\n<!-- {name}:end -->", 1)[0]


def rewritten(text: str) -> str:
    """``text`` with every generated section made anew."""
    for name, make in SECTIONS.items():
        text = text.replace(section(text, name), make(), 1)
    return text


def main() -> int:
    text = README.read_text()
    new = rewritten(text)
    if new != text:
        README.write_text(new)
        sys.stdout.write(f"rewrote {', '.join(SECTIONS)} in {README.name}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
