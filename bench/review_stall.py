"""The longest GUI-thread stall while reviewing thousands of images in the review grid.

A 5 ms timer on the GUI thread records when it fires; a scripted "user" (one action per 16 ms
frame) shows 5,000 images, scrolls the grid top to bottom, drags the thumbnail size through
96-320 px, scrolls back up at the largest size and flips through the large view. The longest
interval between two timer ticks is the longest the window was frozen.

The window is as a user has it then (make_app's GUI-thread collector, the default model
loaded); --bare measures the review page alone.

Usage: .venv/bin/python bench/review_stall.py [--images 5000] [--work /tmp/sorter_bench] [--bare]
Prints one line per phase and the overall figure; the JSON goes to bench/out/review_stall.json.
Headless machines use QT_QPA_PLATFORM=offscreen (set here unless a display is given).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from common import OUT_DIR, busy_processes, load_average, write_json
from PIL import Image, ImageDraw

log = logging.getLogger(__name__)

TICK_MS = 5
FRAME_MS = 16
CATEGORIES = [f"category {i + 1}" for i in range(15)]  # as many as the default model has
SIZES = [*range(160, 95, -16), *range(96, 321, 16)]  # a slider drag down, then all the way up


def make_images(folder: Path, count: int) -> list[Path]:
    """`count` small JPEGs (480x360, shapes in varied colours); kept for the next run."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"img_{i:05d}.jpg" for i in range(count)]
    rng = random.Random(0)
    for path in paths:
        if path.exists():
            continue
        img = Image.new("RGB", (480, 360), tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(img)
        for _ in range(6):
            x, y = rng.randrange(400), rng.randrange(300)
            fill = tuple(rng.randrange(256) for _ in range(3))
            draw.ellipse((x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 160)), fill)
        img.save(path, quality=85)
    return paths


def review_set(paths: list[Path]) -> Any:
    from sorter.core.sorting.review_items import ReviewItem, ReviewSet

    rng = random.Random(1)
    items = [ReviewItem(p, [rng.random() * 0.6 for _ in CATEGORIES], ["uncertain"]) for p in paths]
    return ReviewSet(list(CATEGORIES), items)


class StallMeter:
    """Records every tick of a 5 ms GUI-thread timer and the phase it fell in."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.phase = "start"
        self.gaps: dict[str, list[float]] = {}
        self.longest = (0.0, 0.0, "")  # (wall ms, GUI-thread CPU ms, phase) of the longest gap
        self._last = (time.perf_counter(), time.thread_time())
        self.timer = QTimer(interval=TICK_MS, timerType=Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.gc_ms: list[float] = []  # every garbage collection's pause, GUI thread or not
        self._gc_start = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.gc_ms.append((time.perf_counter() - self._gc_start) * 1000)

    def _on_timer_timeout(self) -> None:
        # The thread's CPU time tells a busy GUI thread from one that waited (GIL, scheduler).
        now = (time.perf_counter(), time.thread_time())
        wall, cpu = ((a - b) * 1000 for a, b in zip(now, self._last, strict=True))
        self.gaps.setdefault(self.phase, []).append(wall)
        if wall > self.longest[0]:
            self.longest = (wall, cpu, self.phase)
        self._last = now


def scroll(bar: Any, down: bool, step: int, label: str) -> Iterator[str]:
    """Move the scroll bar one step per frame to the bottom (or top), as a brisk scroll does."""
    while True:
        target = bar.maximum() if down else 0
        if bar.value() == target:
            return
        move = min(step, abs(target - bar.value()))
        bar.setValue(bar.value() + (move if down else -move))
        yield label


def user(page: Any, review: Any, step: int) -> Iterator[str]:
    """The scripted session; each yield is one frame's worth of action."""
    page.show_review(review, "")
    yield "show all images"
    bar = page.view.verticalScrollBar()
    yield from scroll(bar, True, step, "scroll down, 160 px")
    page.view.setCurrentIndex(page.model.index(page.model.rowCount() - 1))  # sizes keep it in view
    yield "scroll down, 160 px"
    for size in SIZES:
        page.size_slider.setValue(size)
        yield "change the size, 96-320 px"
    yield from scroll(bar, False, step * 2, "scroll up, 320 px")
    page.view.setCurrentIndex(page.model.index(0))
    page.show_large()
    for _ in range(40):
        page.step(1)
        yield "large view, next x40"
    page.show_grid()
    yield "back to the grid"


def like_the_window(bare: bool) -> Any:
    """The QApplication as the window has it when one reviews: made by make_app (the GUI-thread
    garbage collector), the default model loaded, the decoder used."""
    from PySide6.QtWidgets import QApplication

    if bare:
        return QApplication.instance() or QApplication([])
    from sorter.core.model.modelfile import load_model
    from sorter.gui.app import make_app

    app = make_app()
    app._model = load_model(None, device="cpu")  # torch and the network, as after a sort
    app.processEvents()
    gc.collect()  # the model's load is long past when a review starts
    return app


def run(count: int, work: Path, step: int, bare: bool) -> dict[str, Any]:
    from sorter.core.model.decode import open_image
    from sorter.gui.review import ReviewPage
    from sorter.gui.thumbnails import ThumbnailCache

    app = like_the_window(bare)
    paths = make_images(work / f"review_stall_{count}", count)
    review = review_set(paths)
    open_image(paths[0])  # as in the window, which scored every image before the review
    thumbs, large = ThumbnailCache(), ThumbnailCache(size=1024)
    page = ReviewPage(thumbs, large, 160)
    page.resize(1280, 800)
    page.show()
    meter = StallMeter()
    started = time.perf_counter()
    play(app, meter, user(page, review, step), [thumbs.pool, large.pool])
    return report(meter, count, time.perf_counter() - started)


def play(app: Any, meter: StallMeter, actions: Iterator[str], pools: list[Any]) -> None:
    """One action per frame, then wait until no decoder has worked for 30 frames; quit."""
    from PySide6.QtCore import QTimer

    idle = {"frames": 0}

    def on_frame() -> None:
        phase = next(actions, None)
        if phase is not None:
            meter.phase = phase
            return
        meter.phase = "thumbnails settle"
        busy = any(pool.activeThreadCount() for pool in pools)
        idle["frames"] = 0 if busy else idle["frames"] + 1
        if idle["frames"] > 30:
            app.quit()

    frames = QTimer(interval=FRAME_MS)
    frames.timeout.connect(on_frame)
    meter.timer.start()
    frames.start()
    app.exec()


def report(meter: StallMeter, count: int, seconds: float) -> dict[str, Any]:
    every = sorted(g for gaps in meter.gaps.values() for g in gaps)
    phases = {
        name: {"ticks": len(g), "max_ms": round(max(g), 1), "over_50ms": sum(x > 50 for x in g)}
        for name, g in meter.gaps.items()
    }
    return {
        "images": count,
        "seconds": round(seconds, 1),
        "tick_ms": TICK_MS,
        "ticks": len(every),
        "max_gap_ms": round(every[-1], 1),
        "p99_gap_ms": round(every[int(len(every) * 0.99)], 1),
        "median_gap_ms": round(every[len(every) // 2], 1),
        "gaps_over_50ms": sum(g > 50 for g in every),
        "longest_gap_cpu_ms": round(meter.longest[1], 1),
        "longest_gap_phase": meter.longest[2],
        "collections": len(meter.gc_ms),
        "longest_collection_ms": round(max(meter.gc_ms, default=0.0), 1),
        "phases": phases,
        "qt_platform": os.environ.get("QT_QPA_PLATFORM", ""),
        "load_average_1_5_15": load_average(),
        "top_processes": busy_processes(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/sorter_bench"))
    parser.add_argument("--scroll-px", type=int, default=120, help="pixels per 16 ms frame")
    parser.add_argument("--json", type=Path, default=OUT_DIR / "review_stall.json")
    parser.add_argument(
        "--bare", action="store_true", help="no model, no make_app: the review page alone"
    )
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    result = run(args.images, args.work, args.scroll_px, args.bare)
    for name, phase in result["phases"].items():
        print(f"{name:28} {phase['ticks']:6} ticks  longest {phase['max_ms']:7.1f} ms")
    print(
        f"Longest GUI-thread stall over {result['images']} images: {result['max_gap_ms']} ms "
        f"({result['longest_gap_phase']}: {result['longest_gap_cpu_ms']} ms of it GUI-thread CPU; "
        f"p99 {result['p99_gap_ms']} ms, {result['gaps_over_50ms']} gaps over 50 ms; longest "
        f"garbage collection {result['longest_collection_ms']} ms; "
        f"load {result['load_average_1_5_15']})"
    )
    write_json(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
