"""The installed PySide6 must not drop references it never took (6.12.0 on Python 3.11 does)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from PySide6.QtCore import QObject, QRect, Signal

class Probe(QObject):
    fired = Signal()

rect, probe = QRect(), Probe()
none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
for _ in range(20_000):
    rect.setWidth(1)
    probe.fired.emit()
print(none_before - sys.getrefcount(None), true_before - sys.getrefcount(True))
"""


def test_qt_calls_and_signals_keep_none_and_true_alive():
    # In a child process: with a leaking PySide6 the interpreter aborts (none_dealloc), which
    # would take the whole test run with it.
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"PySide6 broke the interpreter: {done.stderr[-400:]}"
    lost_none, lost_true = (int(n) for n in done.stdout.split())
    assert lost_none < 1000, f"PySide6 dropped {lost_none} references to None in 20,000 calls"
    assert lost_true < 1000, f"PySide6 dropped {lost_true} references to True in 20,000 emits"
