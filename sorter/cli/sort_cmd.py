"""`sorter sort SRC` and `sorter undo OUT`: copy images into category folders, and take it back."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sorter.cli.console import add_device_option, device_of
from sorter.core.files import clean_path_arg
from sorter.core.jobs import CancelToken

if TYPE_CHECKING:
    from sorter.core.model.modelfile import LoadedModel

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    sort = sub.add_parser(
        "sort",
        help="copy the images of a folder into category folders",
        description="Copy every image under SRC into OUT/<category>/ (or OUT/uncertain/). "
        "Sources are never changed. Run the same command again to finish an interrupted run.",
    )
    sort.add_argument("src", type=path_arg, metavar="SRC", help="the folder of images to sort")
    sort.add_argument(
        "--out",
        type=path_arg,
        help='output folder (default: "<SRC> (sorted)"; for a drive or card, '
        '"Sorted from <name>" in your Pictures folder)',
    )
    sort.add_argument("--model", type=Path, help="model file (default: the current model)")
    sort.add_argument("--threshold", type=_threshold, help="one threshold for all categories")
    add_device_option(sort)
    sort.add_argument(
        "--batch-size",
        type=_positive,
        metavar="N",
        help="images per batch (default: 32 on the CPU, 32-256 on a GPU by its free memory)",
    )
    sort.add_argument("--dry-run", action="store_true", help="write nothing; print the plan")
    sort.add_argument("--json", action="store_true", help="print the summary as JSON")
    how = sort.add_mutually_exclusive_group()
    how.add_argument("--move", action="store_true", help="move instead of copy (undo restores)")
    how.add_argument("--link", action="store_true", help="hard links where possible, else copies")
    sort.set_defaults(func=run_sort)
    undo = sub.add_parser(
        "undo",
        help="remove the copies a sort run made (only unchanged ones)",
        description="Remove exactly the files a sort run wrote into OUT, if unchanged since, and "
        "the folders it created if then empty. Moved images are put back first.",
    )
    undo.add_argument("out", type=path_arg, metavar="OUT", help="the output folder of the run")
    undo.add_argument("--run", type=int, metavar="ID", help="which run (default: the latest)")
    undo.add_argument("--json", action="store_true", help="print the result as JSON")
    undo.set_defaults(func=run_undo)


def path_arg(text: str) -> Path:
    """A path argument; `sorter sort "D:\"` typed in cmd arrives as `D:"` and means `D:\\`."""
    return Path(clean_path_arg(text))


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a threshold lies between 0 and 1")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


@contextmanager
def ctrl_c_cancels(cancel: CancelToken) -> Iterator[None]:
    """First Ctrl-C asks the job to stop after the current image; a second one stops at once."""

    def handler(signum: int, frame: Any) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        print("\nStopping after the current image (Ctrl-C again to stop now)...", file=sys.stderr)

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave Ctrl-C alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_sort(args: argparse.Namespace) -> int:
    from sorter.cli.console import ProgressBar
    from sorter.core.sorting.places import is_drive, onedrive_warning
    from sorter.core.sorting.scan import check_paths
    from sorter.core.sorting.session import is_sorted_output
    from sorter.core.sorting.sort import default_out, sort_folder

    out = args.out if args.out is not None else default_out(args.src)
    src = check_paths(args.src, out)  # bad paths fail before the slow model load
    if args.out is None and is_drive(src):
        print(f"Copies go to {out} (a drive or card has no folder beside it; --out picks "
              "another).", file=sys.stderr)  # fmt: skip
    warning = onedrive_warning(out.absolute())
    if warning:
        print(f"Note: {warning}", file=sys.stderr)
    if is_sorted_output([src]):  # copies of copies are seldom what was meant
        print(f'Note: {src} holds an earlier sort; its copies are sorted as new images into '
              f'{out}. To sort its photos again into it instead: sorter resort "{src}"',
              file=sys.stderr)  # fmt: skip
    model = _load(args.model, device_of(args))
    mode = "move" if args.move else "link" if args.link else "copy"
    cancel, bar = CancelToken(), ProgressBar()
    with ctrl_c_cancels(cancel):
        summary = sort_folder(
            args.src, out, model=model, default_threshold=args.threshold, dry_run=args.dry_run,
            mode=mode, batch_size=args.batch_size, progress=bar, cancel=cancel,
        )  # fmt: skip
    bar.close()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    else:
        print_summary(summary)
    return 0


def _load(model_path: Path | None, device: str) -> LoadedModel:
    from sorter.core.model.modelfile import device_label, load_model

    model = load_model(model_path, device=device)
    kind = (
        "a single-label model: one folder per image"
        if model.exclusive
        else "a multi-label model: an image may go to several folders"
    )
    print(f"Using {device_label(model.device)}, {kind}", file=sys.stderr)
    print(f"Model: {_model_words(model.path)}", file=sys.stderr)
    return model


def _model_words(path: str | Path) -> str:
    """ "v2 (Shop stock)", and for a --model that is not the current one, which one is: the
    window, retraining and the correction queue work with the current model."""
    from sorter.core.learning.versions import current_version_name, version_name_of, with_title
    from sorter.core.model.modelfile import current_model_path

    words = with_title(version_name_of(path), path)
    try:
        current = Path(path).resolve() == current_model_path().resolve()
    except OSError:
        current = False
    if not current:
        words += (
            f" (not the current model: that is {current_version_name()}, which corrections teach)"
        )
    return words


def print_summary(summary: Any) -> None:
    """The human-readable end of a sort (or the plan of a dry run)."""
    if summary.dry_run:
        print(f"Dry run: nothing written. Plan for {summary.out}:")
        for o in summary.outcomes:
            where = ", ".join(d.as_posix() for d in o.destinations) or f"not copied: {o.error}"
            print(f"  {o.source} -> {where}")
    verb = "Would sort" if summary.dry_run else "Sorted"
    print(f"{verb} {summary.images} images from {summary.src} into {summary.out}")
    for category, count in summary.per_category.items():
        print(f"  {category}: {count}")
    print(f"  uncertain: {summary.uncertain}")
    print(f"  unreadable: {summary.unreadable}")
    if not summary.dry_run:
        print(f"Copied {summary.copied} files ({summary.linked} as hard links), "
              f"{summary.skipped_identical} already there, {summary.moved} moved, "
              f"{summary.failed} failed.")  # fmt: skip
    speed = f"{summary.images_per_s:.1f} images/s" if summary.images_per_s else "-"
    print(f"{summary.seconds:.1f} s, {speed}, {summary.device}")
    if summary.resumed:
        print(f"Resumed run {summary.run_id}; {summary.scores_reused} scores reused.")
    for source, reason in [e for e in summary.errors if _worth_listing(e[1])][:20]:
        print(f"  not sorted: {source}: {reason}")
    if summary.report_path:
        print(f"Report: {summary.report_path}")


def _worth_listing(reason: str) -> bool:
    return reason not in ("hidden file", "system file")


def run_undo(args: argparse.Namespace) -> int:
    from sorter.core.sorting.undo import undo_run

    result = undo_run(args.out, args.run)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(
        f"Undid run {result.run_id} in {result.out}: removed {result.removed} files and "
        f"{result.folders_removed} folders, put back {result.restored} moved images."
    )
    for path, reason in result.kept:
        print(f"  kept {path}: {reason}")
    for path, reason in result.not_restored:
        print(f"  not put back {path}: {reason}")
    return 0
