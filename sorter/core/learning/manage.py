"""What a user does to their stored model versions: train a new one from example photos, name
one, delete one, save a copy of one as a file, or add a model file as a new one. versions.py
keeps them; this changes them."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from sorter.core.errors import ModelFileError
from sorter.core.jobs import CancelToken, ProgressCallback, no_progress
from sorter.core.learning.version_folders import (
    DELETING_PREFIX,
    INFO_FILE,
    MODEL_FILE,
    SCRATCH_PREFIX,
    models_dir,
    new_version_folder,
    note_last_number,
    read_info,
    versions_lock,
    write_json,
)
from sorter.core.learning.versions import (
    DEFAULT,
    ModelVersion,
    VersionError,
    add_version,
    clean_title,
    current_version_name,
    get_version,
    stored_versions,
    write_info,
)

if TYPE_CHECKING:
    from sorter.core.model.meta import ModelMeta
    from sorter.core.model.weights import StateDict
    from sorter.core.training.data import TrainData
    from sorter.core.training.options import TrainOptions
    from sorter.core.training.train import TrainResult

log = logging.getLogger(__name__)

# What a version trained from examples measured its figures on: every example photo, each
# scored out of fold (quick mode), or full mode's hold-out.
EXAMPLES_JUDGED = "example photos"
EXAMPLES_HELD_OUT = "held-out example photos"


def train_version(
    data: TrainData,
    options: TrainOptions | None = None,
    *,
    title: str = "",
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[TrainResult, ModelVersion]:
    """Train a new model from example images (`sorter.core.training.train`) and store it as
    the next version, with its training report and `title` (a name of the user's, may be "");
    it is not made current.

    Training runs in a scratch folder that no list shows and no leftover sweep touches; only
    a finished model is moved into its vN folder, so a cancelled or failed run leaves no
    version behind.
    """
    from sorter.core.training.report import report_paths, write_report_json
    from sorter.core.training.train import train

    title = clean_title(title)  # a name too long fails before the minutes of training
    scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=models_dir()))
    try:
        result = train(
            data, scratch / MODEL_FILE, options, progress=progress, cancel=cancel, compact=True
        )
        if cancel is not None:
            cancel.raise_if_cancelled()  # stopped as it finished: still no version
        with versions_lock():
            folder = new_version_folder()
            for file in scratch.iterdir():
                os.replace(file, folder / file.name)
            training = result.meta.training
            images = training.get("images", len(data.items))
            note = f"trained on {images} example photos in {Path(data.source).name}"
            on = EXAMPLES_JUDGED if training.get("cross_validation") else EXAMPLES_HELD_OUT
            judged = {"images": training.get("valid_images"), "evaluated_on": on}
            version = write_info(folder, result.meta, note, measured_on=judged, title=title)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.model_path = folder / MODEL_FILE
    result.report["model"] = str(result.model_path)  # the report names the file it describes
    result.report_json = write_report_json(result.model_path, result.report)
    if result.report_png is not None:
        result.report_png = report_paths(result.model_path)[1]
    return result, version


def name_version(name: str, title: str) -> ModelVersion:
    """Give a stored version a name of its own, shown beside "v3" in the menus, the status bar
    and `models list`; an empty title removes it. Retrains of it keep the name.

    Raises:
        VersionError: no such version, the embedded default, or a name too long.
    """
    title = clean_title(title)
    version = get_version(name)
    if version.name == DEFAULT:
        raise VersionError(
            "The built-in model keeps its name. Train a model from your own example photos, "
            "or retrain this one, and name that."
        )
    with versions_lock():
        folder = version.path.parent
        info = {k: v for k, v in read_info(folder).items() if k != "title"}
        write_json(folder / INFO_FILE, {**info, "title": title} if title else info)
    version.title = title
    log.info("Model version %s is now called %r", version.name, title)
    return version


def check_deletable(version: ModelVersion) -> None:
    """Raise VersionError when `version` is the embedded default or the current model."""
    if version.name == DEFAULT:
        raise VersionError("The built-in model is part of Sorter and cannot be deleted.")
    if current_version_name() == version.name:
        raise VersionError(
            f"Model {version.name} is the one in use. Switch to another model first "
            f"(sorter models use ...), then delete {version.name}."
        )


def delete_version(name: str) -> ModelVersion:
    """Delete a stored version that is not in use: its model file, report and info. Photos it
    sorted and the corrections it learned from stay; its number is not given to a later model.

    Raises:
        VersionError: no such version, the embedded default, or the current model.
    """
    version = get_version(name)
    with versions_lock():  # checked under the lock: it cannot become current meanwhile
        check_deletable(version)
        folder = version.path.parent
        note_last_number(version.number)
        # Out of every list at once; the files go after (or at the next sweep, if one is held)
        gone = Path(tempfile.mkdtemp(prefix=f"{DELETING_PREFIX}{version.name}-", dir=models_dir()))
        os.replace(folder, gone / folder.name)
    shutil.rmtree(gone, ignore_errors=True)
    log.info("Deleted model version %s", version.name)
    return version


def export_version(name: str, dest: str | os.PathLike[str], replace: bool = False) -> Path:
    """Write a version's model as one standalone file at `dest` (e.g. to open it on another
    computer with *Open model*), holding every weight even when the stored version is compact;
    an existing `dest` is replaced only when `replace` (the user said so), and never left
    half-written.

    Raises:
        VersionError: no such version, or the embedded default (it comes with every Sorter).
        FileExistsError: `dest` exists and `replace` is False.
        ModelFileError: the stored version does not read, or writing failed; `dest` is as it was.
        OutOfSpaceError: the disk is full; `dest` is as it was.
    """
    from sorter.core.model.modelfile import read_model_file, save_model

    version = get_version(name)
    if version.name == DEFAULT:
        raise VersionError(
            "The built-in model comes with every Sorter: there is no need to copy it."
        )
    dest = Path(dest)
    if dest.exists() and not replace:
        raise FileExistsError(f"{dest} already exists.")
    meta, state_dict = read_model_file(version.path)
    save_model(dest, meta, state_dict)  # whole: the other computer's Sorter may differ
    log.info("Copied model version %s to %s", version.name, dest)
    return dest


def add_model_file(
    path: str | os.PathLike[str], title: str | None = None
) -> tuple[ModelVersion, bool]:
    """Store a Sorter model file (e.g. one saved with export_version on another computer) as
    the next version, named `title` (default: the file's name without .pth); it is not made
    current. The file is read and checked first, and never changed; the version holds the
    same weights, compact when its networks are the shipped ones (versions.add_version).
    Returns (the version, True). A file that is a stored version already (the same weights
    and metadata) adds nothing: (that version, False).

    Raises:
        ModelFileError: not a .pth file, or not a Sorter model (unsafe, damaged, bare weights).
        VersionError: a name too long.
        OutOfSpaceError: the disk is full; no version is left behind.
    """
    from sorter.core.model.modelfile import read_model_file

    source = Path(path)
    if source.suffix.lower() != ".pth":
        raise ModelFileError(f"{source.name} is not a Sorter model file (.pth).")
    title = clean_title(source.stem if title is None else title)
    meta, state_dict = read_model_file(source)
    same = stored_copy(meta, state_dict)
    if same is not None:
        return same, False
    note = f"added from the file {source.name}"
    return add_version(meta, state_dict, note=note, title=title), True


def stored_copy(meta: ModelMeta, state_dict: StateDict) -> ModelVersion | None:
    """The stored version with these weights and this metadata, if there is one (versions
    stored before their checksum was kept in version.json are not looked at)."""
    from sorter.core.model.modelfile import read_model_file
    from sorter.core.model.weights import weights_checksum

    checksum = meta.state_dict_sha256 or weights_checksum(state_dict)
    mine = meta.replace(state_dict_sha256=checksum).to_dict()
    for version in stored_versions():
        if version.weights_sha256 != checksum:
            continue
        try:
            if read_model_file(version.path)[0].to_dict() == mine:
                return version
        except ModelFileError:
            continue  # a damaged version is no copy of anything
    return None


def size_text(size_bytes: int) -> str:
    """ "33 MB", "6 KB": how big a version is, for a person."""
    if size_bytes >= 1_000_000:
        return f"{size_bytes / 1e6:.0f} MB"
    return f"{max(1, round(size_bytes / 1e3))} KB"
