"""Keep None and True alive under a PySide6 that drops references to them it never took.

PySide6 6.12.0 on Python 3.11 (measured; 6.11.3 does not) releases one reference to None each
time a Qt method that returns nothing is called (`QRect.setWidth`, `QPainter.drawText`...) and
one to True each time a signal is emitted. A tile delegate makes thousands of such calls a
second, and CPython aborts ("none_dealloc: deallocating None", "bool_dealloc") once a count
reaches zero: after seconds of scrolling. Python 3.12 and later never free these objects
(PEP 683), so only an older Python with such a PySide6 needs this: there they get reference
counts they cannot use up, as on 3.12.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, QRect, Signal

log = logging.getLogger(__name__)

PROBE_CALLS = 200
HEADROOM = 1 << 40  # references: at a million leaked a second, enough for twelve days


class _Probe(QObject):
    fired = Signal()


def _leaks(obj: object, call: Callable[[], object]) -> bool:
    before = sys.getrefcount(obj)
    for _ in range(PROBE_CALLS):
        call()
    return sys.getrefcount(obj) < before - PROBE_CALLS // 2


def leaking() -> list[object]:
    """The objects (None, True) that a Qt call here releases without having taken them."""
    rect, probe = QRect(), _Probe()
    found = [None] if _leaks(None, lambda: rect.setWidth(1)) else []
    if _leaks(True, probe.fired.emit):
        found += [True, False]  # emit returns a bool; False may well go the same way
    return found


def install() -> bool:
    """Give the leaking objects their headroom when this PySide6 needs it; True when it did."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    if sys.getrefcount(None) > HEADROOM // 2:  # given already
        return False
    found = leaking()
    for obj in found:
        # ob_refcnt is the first field of every CPython object, and id() is its address.
        ctypes.c_ssize_t.from_address(id(obj)).value += HEADROOM
    if found:
        log.info("This PySide6 releases %s it never took; they were given headroom", found)
    return bool(found)
