"""`sorter queue`, `sorter models`, `sorter retrain` and `sorter resort`: the correction loop."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sorter.cli.console import add_device_option, confirm, device_of
from sorter.core.learning.queue import CorrectionQueue, clean_labels

if TYPE_CHECKING:
    from sorter.core.learning.advice import SortedCopy
    from sorter.core.sorting.relabel import RelabelResult

log = logging.getLogger(__name__)

NONE_WORDS = ("none", "-")  # `--labels none`: the image shows none of the categories


def register(sub: argparse._SubParsersAction) -> None:
    _register_queue(sub)
    _register_retrain(sub)
    _register_resort(sub)


# ---- sorter queue -------------------------------------------------------------------------------


def _register_queue(sub: argparse._SubParsersAction) -> None:
    queue = sub.add_parser("queue", help="the corrections waiting for the next retrain")
    qsub = queue.add_subparsers(dest="queue_command", metavar="ACTION", required=True)
    add = qsub.add_parser("add", help="queue an image with its true categories")
    add.add_argument(
        "image", type=Path, help="the photo: a copy in a sorted folder, or any image file"
    )
    add.add_argument(
        "--labels",
        required=True,
        help="comma-separated categories, or 'none' when the image shows none of them",
    )
    add.add_argument(
        "--fix-output",
        action="store_true",
        help="when the image is a copy in a sorted folder, also move it into the folders of "
        "its labels there, as the window's Save does",
    )
    add.set_defaults(func=run_queue_add)
    show = qsub.add_parser("list", help="show the queued corrections")
    show.add_argument("--all", action="store_true", help="include those already used")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=run_queue_list)
    remove = qsub.add_parser("remove", help="drop one correction")
    remove.add_argument("id", type=int)
    remove.set_defaults(func=run_queue_remove)
    clear = qsub.add_parser("clear", help="drop every correction")
    clear.add_argument("--pending", action="store_true", help="only those not yet used")
    clear.set_defaults(func=run_queue_clear)


def parse_labels(text: str) -> list[str]:
    """`a,b` -> ["a", "b"]; `none` -> [] (none of the categories)."""
    if text.strip().lower() in NONE_WORDS:
        return []
    labels = clean_labels(text.split(","))
    if not labels:
        raise argparse.ArgumentTypeError("give at least one category, or 'none'")
    return labels


def run_queue_add(args: argparse.Namespace) -> int:
    from sorter.core.learning.advice import sorted_copy
    from sorter.core.learning.versions import current_version_name

    try:
        labels = parse_labels(args.labels)
    except argparse.ArgumentTypeError as exc:
        print(f"sorter queue add: {exc}")
        return 2
    queue = CorrectionQueue()
    version = current_version_name()
    notes = _add_notes(args.image, labels, version)  # before a fix moves the copy elsewhere
    copy = sorted_copy(args.image) if args.image.is_file() else None
    fixed, rc = _fix_output(copy, labels) if args.fix_output and copy is not None else (None, 0)
    image = args.image
    if fixed is not None and copy is not None and not image.is_file():
        # moved by the fix: queue the photo as it is now, as the window does
        image = copy.source if copy.source.is_file() else fixed.copies[0]
    corr = queue.add(image, labels, model_version=version)
    shown = ", ".join(corr.labels) or "none of the categories"
    print(f"Queued correction {corr.id}: {args.image.name} -> {shown}")
    if fixed is not None and copy is not None:
        _print_fix(copy, fixed, args.image.name)
    elif args.fix_output and copy is None:
        notes.append(f"{args.image.name} is not a copy in a Sorter output folder: nothing to fix.")
    elif copy is not None and rc == 0:
        notes += _stays_note(copy, labels)
    for note in notes:
        print(f"note: {note}")
    print(f"{queue.pending_count()} correction(s) waiting for the next retrain.")
    return rc


def _fix_output(copy: SortedCopy, labels: list[str]) -> tuple[RelabelResult | None, int]:
    """--fix-output: the copy's photo into the folders of `labels` in its output; (what the
    relabel did or None, the exit code: 1 when the output was left as it was)."""
    from sorter.core.errors import SorterError
    from sorter.core.learning.correcting import fix_sorted_copy

    misspelt = _misspelt(copy, labels)
    if misspelt:  # a folder named after a slip of the keyboard helps no one: leave OUT alone
        why = "; ".join(misspelt)
        print(f"sorter queue add: did not fix {copy.out}: {why}. Queue it again with the "
              "right name (that replaces this correction).", file=sys.stderr)  # fmt: skip
        return None, 1
    try:
        return fix_sorted_copy(copy, labels), 0
    except (SorterError, OSError) as exc:
        print(f"sorter queue add: could not fix {copy.out}: {exc}", file=sys.stderr)
        return None, 1


def _misspelt(copy: SortedCopy, labels: list[str]) -> list[str]:
    """Labels that are not categories of the copy's output but look like one of them."""
    from sorter.core.learning.advice import nearest_category

    found = []
    for label in labels:
        near = nearest_category(label, copy.categories) if label not in copy.categories else None
        if near is not None:
            found.append(f"'{label}' is not one of its categories (did you mean '{near}'?)")
    return found


def _print_fix(copy: SortedCopy, fixed: RelabelResult, name: str) -> None:
    where = ", ".join(fixed.folders)
    if not fixed.changed:
        print(f"{name} was already in {where} in {copy.out}.")
    else:
        added = f"{len(fixed.added)} cop{'y' if len(fixed.added) == 1 else 'ies'} added"
        print(f"Fixed {copy.out}: {name} is now in {where} ({added}, {len(fixed.removed)} "
              "removed).")  # fmt: skip
    for path in fixed.kept_changed:
        print(f"Kept {path}: it was edited after sorting.")
    for path in fixed.kept_shared:
        print(f"Kept {path}: it is also the copy of another photo.")


def _stays_note(copy: SortedCopy, labels: list[str]) -> list[str]:
    """The note that a corrected copy keeps its folders unless --fix-output moves it."""
    from sorter.core.errors import SorterError
    from sorter.core.learning.correcting import copy_folders
    from sorter.core.sorting.relabel import target_folders

    try:
        now = copy_folders(copy)
    except (SorterError, OSError) as exc:
        log.info("Could not read where the copies of %s are: %s", copy.source, exc)
        return []
    wanted = target_folders(labels, copy.categories or None)
    if set(now) == set(wanted):
        return []
    return [
        f"the copies of {copy.source.name} stay in {', '.join(now) or 'no folder'} (in "
        f"{copy.out}); add --fix-output to put them in {', '.join(wanted)}, as the window's "
        "Save does."
    ]


def _add_notes(image: Path, labels: list[str], version: str) -> list[str]:
    """advice.correction_notes for the current model; none when its file cannot be read (the
    retrain that needs it says why)."""
    from sorter.core.errors import SorterError
    from sorter.core.learning.advice import correction_notes
    from sorter.core.model.modelfile import current_model_path, read_any_model

    try:
        meta, _ = read_any_model(current_model_path())
    except (SorterError, OSError) as exc:
        log.info("Not checking the labels against the current model: %s", exc)
        return []
    return correction_notes(image, labels, version, meta.categories, meta.exclusive)


def run_queue_list(args: argparse.Namespace) -> int:
    queue = CorrectionQueue()
    rows = queue.list(include_used=args.all)
    if args.json:
        print(json.dumps([c.to_dict() for c in rows], indent=2))
        return 0
    if not rows:
        print("The correction queue is empty.")
        return 0
    print(f"{'ID':>5}  {'CREATED':<20} {'LABELS':<28} {'USED IN':<8} SOURCE")
    for c in rows:
        labels = ", ".join(c.labels) or "(none)"
        used = c.used_in_version or "-"
        print(f"{c.id:>5}  {c.created[:19]:<20} {labels:<28} {used:<8} {c.source_path}")
    print(f"{queue.pending_count()} correction(s) waiting for the next retrain.")
    return 0


def run_queue_remove(args: argparse.Namespace) -> int:
    CorrectionQueue().remove(args.id)
    print(f"Removed correction {args.id}.")
    return 0


def run_queue_clear(args: argparse.Namespace) -> int:
    gone = CorrectionQueue().clear(include_used=not args.pending)
    print(f"Removed {gone} correction(s).")
    return 0


# ---- sorter retrain ----------------------------------------------------------------------------


def _register_retrain(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "retrain",
        help="learn from the queued corrections; keep the new model only if it is not worse",
    )
    p.add_argument("--model", type=Path, help="model to improve (default: the current model)")
    p.add_argument("--mode", choices=("quick", "full"), default="quick")
    p.add_argument("--yes", action="store_true", help="promote the new model even if worse")
    add_device_option(p)
    p.add_argument("--json", action="store_true", help="print JSON (current_model included)")
    p.set_defaults(func=run_retrain)


def run_retrain(args: argparse.Namespace) -> int:
    from sorter.cli.console import ProgressBar
    from sorter.core.learning.retrain import retrain

    device = device_of(args)
    bar = ProgressBar()
    try:
        result = retrain(args.model, args.mode, force=args.yes, device=device, progress=bar)
    finally:
        bar.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    for note in result.candidate.notes:
        print(note)
    print()
    print("\n".join(result.candidate.table()))
    print()
    print(result.message)
    if not result.promoted:  # the command-line way to overrule the check; the window has a button
        print("To use the new model anyway, run this again with --yes.")
    else:
        print("Earlier outputs keep their folders until `sorter resort OUT` sorts one again.")
    print(str(result.current_model))  # last line: the model file now current, for scripts
    return 0


# ---- sorter resort -----------------------------------------------------------------------------

SHOW_CHANGES = 20


def _register_resort(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "resort", help="score an earlier output again with a better model and fix its folders"
    )
    p.add_argument("out", type=Path, help="an output folder an earlier `sorter sort` wrote")
    p.add_argument("--model", type=Path, help="model file (default: the current model)")
    p.add_argument("--yes", action="store_true", help="apply the changes without asking")
    add_device_option(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_resort)


def run_resort(args: argparse.Namespace) -> int:
    from sorter.cli.console import ProgressBar
    from sorter.core.model.modelfile import load_model
    from sorter.core.settings import load_settings
    from sorter.core.sorting.resort import apply_resort, plan_resort, record_resort
    from sorter.core.sorting.session import initial_thresholds, saved_thresholds

    settings = load_settings()
    model = load_model(args.model, device=device_of(args, settings))
    # The window's sliders as they would start for this model (its own values where unsaved).
    th = initial_thresholds(model, *saved_thresholds(model, settings))
    bar = ProgressBar()
    plan = plan_resort(
        args.out, model, default_threshold=th.default, thresholds=th.own, progress=bar
    )  # fmt: skip
    bar.close()
    if not args.json:
        _print_plan(plan)  # what would change, before the question and before any change
    apply = bool(plan.changes) and (args.yes or (not args.json and confirm("Apply them?")))
    summary = apply_resort(plan, progress=bar) if apply else None
    bar.close()
    if not plan.changes and plan.images:
        record_resort(plan)  # the model agrees with every folder: it is the one sorting OUT now
    if args.json:
        print(json.dumps({**plan.to_dict(), "applied": summary.to_dict() if summary else None}))
        return 0
    if summary is None:
        if plan.changes:
            print("Nothing was changed; run again with --yes to apply.")
        return 0
    print(f"Re-sorted {summary.changed} image(s): {summary.added} copies added, "
          f"{summary.removed} removed.")  # fmt: skip
    for path in summary.kept_changed:
        print(f"Kept {path}: it was edited after sorting.")
    for path in summary.kept_shared:
        print(f"Kept {path}: it is also the copy of another photo.")
    for source, reason in summary.errors:
        print(f"Could not re-sort {source}: {reason}")
    return 1 if summary.errors else 0


def _print_plan(plan) -> None:
    print(plan.headline())
    for change in plan.changes[:SHOW_CHANGES]:
        print(f"  {change.describe()}")
    if len(plan.changes) > SHOW_CHANGES:
        print(f"  ... and {len(plan.changes) - SHOW_CHANGES} more")
    for source, reason in plan.skipped:
        print(f"Skipped {source}: {reason}")
