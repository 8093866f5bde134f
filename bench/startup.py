"""Time from process start to the window on screen, and to the model being ready.

Each run is a fresh subprocess (cold Python imports, warm disk cache), as a user double-clicking
would get. Usage: .venv/bin/python bench/startup.py [--runs 3] [--model FILE]
Prints one line per run, then the medians. Headless machines use QT_QPA_PLATFORM=offscreen.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def child(model: str | None) -> None:
    """Runs inside the timed process: show the window, load the model, report, quit."""
    t0 = float(os.environ["SORTER_BENCH_T0"])
    from PySide6.QtCore import QEvent, QObject, QTimer

    from sorter.gui.app import make_app
    from sorter.gui.main_window import MainWindow

    app = make_app()
    marks: dict[str, float | str] = {}

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint and "window_s" not in marks:
                marks["window_s"] = time.time() - t0
                marks["torch_imported_at_window"] = "torch" in sys.modules
            return False

    window = MainWindow(model_path=model)
    spy = FirstPaint()
    window.installEventFilter(spy)
    window.show()

    def ready() -> None:
        marks["model_s"] = time.time() - t0
        marks["status"] = window.model_label.text()
        app.quit()

    window.model_ready.connect(ready)
    window.model_failed.connect(app.quit)
    QTimer.singleShot(0, window.start_loading_model)
    QTimer.singleShot(300_000, app.quit)
    app.exec()
    window.close()
    sys.stdout.write(json.dumps(marks) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.model)
        return 0
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen" if not os.environ.get("DISPLAY") else "xcb")
    cmd = [sys.executable, __file__, "--child"] + (["--model", args.model] if args.model else [])
    results = []
    for run in range(1, args.runs + 1):
        env["SORTER_BENCH_T0"] = repr(time.time())
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        marks = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(marks)
        print(
            f"run {run}: window visible {marks['window_s']:.2f} s, model ready "
            f"{marks.get('model_s', float('nan')):.2f} s  ({marks.get('status', 'model failed')}; "
            f"torch imported before window: {marks['torch_imported_at_window']})"
        )
    for key, name in (("window_s", "window visible"), ("model_s", "model ready")):
        values = [r[key] for r in results if key in r]
        if values:
            print(f"median {name}: {statistics.median(values):.2f} s over {len(values)} runs")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
