"""Short texts for people that the core, the command line and the window all write."""

from __future__ import annotations

from collections.abc import Sequence


def some_of(names: Sequence[str], shown: int) -> str:
    """The first `shown` names, then how many are left out: "a.jpg, b.png and 3 more"."""
    listed = ", ".join(names[:shown])
    rest = len(names) - shown
    return f"{listed} and {rest} more" if rest > 0 else listed
