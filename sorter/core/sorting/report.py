"""What a sort did: the SortSummary counts and the per-image CSV report written into OUT."""

from __future__ import annotations

import csv
import errno
import logging
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sorter.core.errors import OutOfSpaceError

log = logging.getLogger(__name__)

REPORT_FILE = "sorter-report.csv"
REPORT_COLUMNS = ("source", "categories", "destinations", "top_scores", "status", "error")

# Per-image outcomes in the report's `status` column.
COPIED, LINKED, MOVED = "copied", "linked", "moved"
ALREADY_THERE = "already there"  # every destination already held identical content
UNREADABLE, FAILED, SKIPPED, PLANNED = "unreadable", "failed", "skipped", "planned"


@dataclass
class ImageOutcome:
    """One row of the report."""

    source: Path
    categories: list[str]
    destinations: list[Path]  # relative to OUT
    top_scores: list[tuple[str, float]]
    status: str
    error: str = ""

    def row(self) -> list[str]:
        return [
            str(self.source),
            ";".join(self.categories),
            ";".join(d.as_posix() for d in self.destinations),
            "; ".join(f"{name}={score:.3f}" for name, score in self.top_scores),
            self.status,
            self.error,
        ]


@dataclass
class SortSummary:
    """Counts for one sort run (or dry run); `to_dict()` gives plain JSON-ready data."""

    src: Path
    out: Path
    report_path: Path | None = None
    run_id: int | None = None
    mode: str = "copy"
    dry_run: bool = False
    resumed: bool = False
    device: str = ""
    images: int = 0  # images found by the scan
    per_category: dict[str, int] = field(default_factory=dict)
    uncertain: int = 0
    unreadable: int = 0
    copied: int = 0  # files written (copies and links)
    linked: int = 0
    moved: int = 0  # sources removed after their copies were complete
    skipped_identical: int = 0
    failed: int = 0
    skipped_files: int = 0  # hidden/system/link-loop entries the scan left out
    scores_reused: int = 0
    seconds: float = 0.0
    images_per_s: float | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    outcomes: list[ImageOutcome] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("outcomes")
        for key in ("src", "out", "report_path"):
            data[key] = str(data[key]) if data[key] is not None else None
        data["errors"] = [{"source": s, "reason": r} for s, r in self.errors]
        return data


def count_outcomes(summary: SortSummary, uncertain_name: str) -> None:
    """Fill the per-category and status counts from the outcomes."""
    per: Counter[str] = Counter()
    for outcome in summary.outcomes:
        if outcome.status in (UNREADABLE, FAILED, SKIPPED):
            continue
        for category in outcome.categories:
            per[category] += 1
    summary.uncertain = per.pop(uncertain_name, 0)
    summary.per_category = dict(sorted(per.items()))
    statuses = Counter(o.status for o in summary.outcomes)
    summary.unreadable = statuses[UNREADABLE]
    summary.failed = statuses[FAILED]
    summary.skipped_files = statuses[SKIPPED]
    summary.errors = [(str(o.source), o.error) for o in summary.outcomes if o.error]


def is_sorter_report(path: Path) -> bool:
    """True for a report Sorter wrote: a CSV file whose header starts with Sorter's columns."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return tuple(header[: len(REPORT_COLUMNS)]) == REPORT_COLUMNS


def report_path(out: str | os.PathLike[str]) -> Path:
    """Where Sorter's report in OUT is, or goes: OUT/sorter-report.csv, unless a file of that
    name is someone else's; then the first `sorter-report (N).csv` that is free or Sorter's."""
    stem, suffix = os.path.splitext(REPORT_FILE)
    path, number = Path(out) / REPORT_FILE, 1
    while os.path.lexists(path) and not (path.is_file() and is_sorter_report(path)):
        number += 1
        path = Path(out) / f"{stem} ({number}){suffix}"
    return path


def write_report(summary: SortSummary) -> Path:
    """Write Sorter's report into OUT (temporary name, then rename) and return its path.

    A `sorter-report.csv` that Sorter did not write is never overwritten: the report then goes
    beside it with a number, and the summary's `report_path` says where.
    """
    path = report_path(summary.out)
    if path.name != REPORT_FILE:
        log.warning("%s is not a Sorter report, so it is left as it is; the report is %s",
                    summary.out / REPORT_FILE, path.name)  # fmt: skip
    _write_rows(path, [list(REPORT_COLUMNS), *(o.row() for o in summary.outcomes)])
    summary.report_path = path
    log.info("Report written to %s", path)
    return path


def update_report(
    out: str | os.PathLike[str], changes: Mapping[Path, tuple[Sequence[str], Sequence[Path]]]
) -> int:
    """Bring Sorter's report in OUT up to date after corrections: source -> (categories, copies).

    Only the categories and destinations of those images' rows change (copies are given as
    absolute paths or relative to OUT); every other row and column stays as the sort wrote it.
    Returns how many rows changed: 0 when there is no report or it does not list the images
    (a later run into OUT wrote its own report).
    """
    path = report_path(out)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        return 0
    if not rows or tuple(rows[0]) != REPORT_COLUMNS:
        log.warning("Left %s as it is: it is not a report this version of Sorter wrote", path)
        return 0
    wanted = {str(source): change for source, change in changes.items()}
    changed = 0
    for row in rows[1:]:
        if len(row) == len(REPORT_COLUMNS) and row[0] in wanted:
            categories, copies = wanted[row[0]]
            row[1] = ";".join(categories)
            row[2] = ";".join(_relative(Path(out), Path(c)) for c in copies)
            changed += 1
    if changed:
        _write_rows(path, rows)
        log.info("Report %s: %d row(s) brought up to date", path, changed)
    return changed


def _relative(out: Path, copy: Path) -> str:
    return Path(os.path.relpath(copy, out) if copy.is_absolute() else copy).as_posix()


def _write_rows(path: Path, rows: Iterable[Sequence[str]]) -> None:
    """The report's rows under a temporary name, then renamed over it (it is Sorter's own file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(tmp, "w", newline="", encoding="utf-8-sig") as f:  # BOM: Excel reads UTF-8
            csv.writer(f).writerows(rows)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise OutOfSpaceError(
                f"The disk holding {path.parent} is full, so the report could not be written. "
                "Free some space and run the same command again to finish."
            ) from exc
        raise
