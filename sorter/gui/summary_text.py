"""What the summary page says after a copy, an update or an undo (plain text and a little HTML)."""

from __future__ import annotations

import html
from typing import Any

from sorter.gui.pages import plural


def summary_texts(outcome: Any) -> tuple[str, str]:
    """The summary's title and detail line: files actually written, and for an update what
    moved and went."""
    summary = getattr(outcome, "copy", outcome)
    written = plural(summary.copied, "copy", "copies")
    moved = getattr(outcome, "resort", None)
    if moved is not None and not (moved.changed or summary.copied):
        title = "Nothing to update: every image was already in its folders"
    elif moved is not None:
        title = (
            f"Sort updated: {plural(moved.changed, 'image')} moved, "
            f"{plural(moved.removed, 'old copy', 'old copies')} removed"
        )
        title += f", {written} new" if summary.copied else ""
    elif summary.moved:
        folders = sum(1 for n in summary.per_category.values() if n) + bool(summary.uncertain)
        title = f"Done: {plural(summary.moved, 'photo')} moved into {plural(folders, 'folder')}"
    elif summary.copied:
        folders = sum(1 for n in summary.per_category.values() if n) + bool(summary.uncertain)
        title = f"Done: {written} written into {plural(folders, 'folder')}"
    else:
        title = "Done: nothing new to copy"
    return title, summary_detail(summary, identical=moved is None)


def undo_texts(undone: Any) -> tuple[str, str]:
    """What undo says: photos put back, copies removed, and those kept because they changed
    since the sort."""
    title = f"Sort undone: {plural(undone.removed, 'copy', 'copies')} removed"
    restored, not_restored = undone.restored, undone.not_restored
    if restored:  # a move: the photos matter more than the copies
        their = "its" if restored == 1 else "their"
        title = f"Sort undone: {plural(restored, 'photo')} put back in {their} folder"
    parts = []
    if not_restored:
        path, why = not_restored[0]
        parts.append(
            f"{plural(len(not_restored), 'photo')} could not be put back and "
            f"{'stays' if len(not_restored) == 1 else 'stay'} in the sorted folder, "
            f"e.g. {path}: {why}."
        )
    if undone.kept_changed:
        parts.append(
            f"{plural(undone.kept_changed, 'copy', 'copies')} kept because "
            f"{'it was' if undone.kept_changed == 1 else 'they were'} changed since the sort."
        )
    if undone.kept_other:
        path, why = undone.kept_other[0]
        parts.append(f"{plural(len(undone.kept_other), 'file')} kept, e.g. {path}: {why}.")
    if restored or not_restored:
        parts.append("Nothing else in the output folder was touched.")
    else:
        parts.append("Your originals were not touched.")
    return title, html.escape(" ".join(parts))


def summary_detail(summary: Any, identical: bool = True) -> str:
    """One line about the copy: files written, identical files skipped (not after an update,
    where they are the copies just moved), problems."""
    parts = [f"{summary.images} images"]
    if summary.mode == "move":  # moved by a link and an unlink: those are details of how
        parts.append(f"{summary.moved} moved out of their folder")
        if summary.copied > summary.moved:  # an image in two folders needs a second file
            parts.append(plural(summary.copied - summary.moved, "extra copy", "extra copies"))
    else:
        parts.append(f"{summary.copied} files written")
        if summary.linked:
            parts.append(f"{summary.linked} as hard links")
    if summary.skipped_identical and identical:
        parts.append(f"{summary.skipped_identical} already there")
    if summary.unreadable:
        parts.append(f"{summary.unreadable} unreadable (not copied)")
    if summary.failed:
        parts.append(f"{summary.failed} could not be copied")
    if summary.images_per_s:
        parts.append(f"{summary.images_per_s:.1f} images/s")
    text = "  ·  ".join(parts)
    if summary.report_path:
        text += f"<br>Report: {html.escape(str(summary.report_path))}"
    return text
