"""The models folder on disk: its version folders and their files, the lock held while one is
written, their numbering, and clearing away what an interrupted run left there."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shutil
import time
from pathlib import Path
from typing import Any

from sorter import appdirs
from sorter.core.files import write_atomic
from sorter.core.locks import FileLock

log = logging.getLogger(__name__)

MODEL_FILE = "model.pth"
INFO_FILE = "version.json"  # what `models list` shows, without loading the weights
REPORT_FILE = "report.json"  # the retrain's before/after evaluation
LOCK_FILE = ".versions.lock"  # held while a version is written or promoted
TEMP_SUFFIX = ".tmp"  # save_model's and write_json's temporary files end so
SCRATCH_PREFIX = ".training-"  # a model being trained from examples, not yet a version
DELETING_PREFIX = ".deleted-"  # a version being deleted: out of every list, then removed
LAST_NUMBER_FILE = ".last-version"  # the highest vN ever claimed: a deleted number is not reused
SCRATCH_MAX_AGE_S = 2 * 24 * 3600  # no training from examples runs this long
VERSION_NAME = re.compile(r"^v(\d+)$")  # a version folder's name


def models_dir() -> Path:
    path = appdirs.data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_info(folder: Path) -> dict[str, Any]:
    """A version folder's version.json ({} when missing or unreadable)."""
    try:
        return json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON through a temporary file, so a reader never sees half of it."""
    write_atomic(path, json.dumps(data, indent=2, default=str).encode("utf-8"))


def versions_lock() -> FileLock:
    """Held while a version is written, promoted, renamed or deleted."""
    return FileLock(models_dir() / LOCK_FILE, wait_s=600)  # a promotion writes a model file


def new_version_folder() -> Path:
    """Claim the next free vN folder, above every number used before (a deleted version's name
    is never given to another model); mkdir without exist_ok makes the claim race-free."""
    root = models_dir()
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := VERSION_NAME.match(p.name))]
    number = max([*numbers, _last_number()], default=0) + 1
    while True:
        folder = root / f"v{number}"
        try:
            folder.mkdir()
        except FileExistsError:
            number += 1
            continue
        note_last_number(number)
        return folder


def _last_number() -> int:
    try:
        return int((models_dir() / LAST_NUMBER_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return 0


def note_last_number(number: int) -> None:
    """Remember `number` as used (never lowered), so no later version takes it again."""
    if number > _last_number():
        write_atomic(models_dir() / LAST_NUMBER_FILE, str(number).encode("utf-8"))


def folder_size(folder: Path) -> int:
    """Bytes of the files in `folder` (0 when it is gone)."""
    total = 0
    with contextlib.suppress(OSError):  # the folder or a file removed meanwhile (a deletion)
        for file in folder.iterdir():
            total += file.stat().st_size
    return total


def remove_quietly(folder: Path) -> None:
    """Remove a version folder this process just claimed, and the files in it."""
    for child in folder.iterdir():
        child.unlink(missing_ok=True)
    folder.rmdir()


def remove_leftovers() -> None:
    """Remove what interrupted runs left: old scratch folders of trainings from examples,
    deleted versions' folders, temporary files in version folders, and empty version folders.
    The caller holds versions_lock()."""
    for folder in models_dir().iterdir():
        if folder.name.startswith(SCRATCH_PREFIX) and _older_than(folder, SCRATCH_MAX_AGE_S):
            log.info("Removing %s, left by an interrupted training", folder)
            shutil.rmtree(folder, ignore_errors=True)
            continue
        if folder.name.startswith(DELETING_PREFIX):
            log.info("Removing %s, a deleted version's files", folder)
            shutil.rmtree(folder, ignore_errors=True)
            continue
        if not (VERSION_NAME.match(folder.name) and folder.is_dir()):
            continue
        for tmp in folder.glob(f"*{TEMP_SUFFIX}"):
            log.info("Removing %s, left by an interrupted retrain", tmp)
            tmp.unlink(missing_ok=True)
        if not any(folder.iterdir()):
            folder.rmdir()  # claimed by a retrain killed before its model file was complete


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False
