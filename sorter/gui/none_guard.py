"""Keep Python's None alive under a PySide6 that drops a reference to it on every void call.

PySide6 6.12.0 on Python 3.11 (measured: 6.11.3 does not) releases one reference to None each
time a Qt method that returns nothing is called: `QRect.setWidth`, `QPainter.drawText`... A tile
delegate makes thousands of such calls a second, and CPython aborts ("none_dealloc: deallocating
None") once None's count reaches zero, after a few seconds of scrolling. Python 3.12 and later
never free None (PEP 683), so only an older Python with such a PySide6 needs this: there None
gets a reference count it cannot use up, as on 3.12.
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QRect

log = logging.getLogger(__name__)

PROBE_CALLS = 200
HEADROOM = 1 << 40  # references: at a million leaked a second, enough for twelve days


def leaks_none() -> bool:
    """True when a void Qt call releases a reference to None it never took."""
    rect = QRect()
    before = sys.getrefcount(None)
    for _ in range(PROBE_CALLS):
        rect.setWidth(1)
    return sys.getrefcount(None) < before - PROBE_CALLS // 2


def install() -> bool:
    """Give None its headroom when this PySide6 needs it; True when it did."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    if sys.getrefcount(None) > HEADROOM // 2 or not leaks_none():  # given already, or not needed
        return False
    # ob_refcnt is the first field of every CPython object, and id() is its address.
    ctypes.c_ssize_t.from_address(id(None)).value += HEADROOM
    log.info("This PySide6 releases None on void calls; None was given headroom")
    return True
