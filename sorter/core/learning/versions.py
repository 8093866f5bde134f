"""Model versions in the data folder (models/vN/model.pth + report) and which one is current."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sorter import appdirs
from sorter.core.errors import ModelFileError, SorterError
from sorter.core.learning.version_folders import (
    INFO_FILE,
    MODEL_FILE,
    REPORT_FILE,
    VERSION_NAME,
    folder_size,
    models_dir,
    new_version_folder,
    read_info,
    remove_leftovers,
    remove_quietly,
    versions_lock,
    write_json,
)
from sorter.core.settings import Settings, load_settings, update_settings

if TYPE_CHECKING:
    import torch

    from sorter.core.learning.queue import CorrectionQueue
    from sorter.core.model.meta import ModelMeta

log = logging.getLogger(__name__)

DEFAULT = "default"  # the model embedded in Sorter
TITLE_MAX = 60  # characters in a name the user gives a version (menus and the status bar show it)


class VersionError(SorterError):
    """A model version does not exist or cannot be used."""


@dataclass
class ModelVersion:
    """One model the user can switch to: a stored version, or the embedded default."""

    name: str  # "v3" or "default"
    path: Path
    created: str = ""
    categories: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    current: bool = False
    title: str = ""  # a name the user gave it ("Furniture"); "" when none
    size_bytes: int = 0  # its folder on disk (model, report, info)
    weights_sha256: str = ""  # weights_checksum of its weights; "" for versions stored before

    @property
    def number(self) -> int:
        match = VERSION_NAME.match(self.name)
        return int(match.group(1)) if match else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.name,
            "path": str(self.path),
            "created": self.created,
            "categories": list(self.categories),
            "metrics": self.metrics,
            "note": self.note,
            "current": self.current,
            "title": self.title,
            "size_bytes": self.size_bytes,
            "weights_sha256": self.weights_sha256,
        }


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def version_name_of(path: str | Path | None) -> str:
    """A short name for a model file: "v3", "default", or the file name for other files."""
    if path is None or _is_bundled(Path(path)):
        return DEFAULT
    path = Path(path)
    if _same_file(path.parent.parent, models_dir()) and VERSION_NAME.match(path.parent.name):
        return path.parent.name
    return path.name


def _is_bundled(path: Path) -> bool:
    # anything in the bundled models folder is the embedded default; no torch import for a name
    return _same_file(path.parent, appdirs.asset_path("models"))


def is_stored_version(name: str) -> bool:
    """Whether a name from version_name_of is a stored version's ("v3"), not a file name."""
    return VERSION_NAME.match(name) is not None


def current_version_name() -> str:
    """The name of the model `sorter sort` uses without --model."""
    return version_name_of(load_settings().model_path)


def _title_in(info: dict[str, Any]) -> str:
    title = info.get("title")
    return title if isinstance(title, str) else ""


def clean_title(text: str) -> str:
    """A name for a version as it is stored: one line, spaces collapsed, at most TITLE_MAX
    characters ("" means no name of its own).

    Raises:
        VersionError: the name is too long.
    """
    title = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if len(title) > TITLE_MAX:
        raise VersionError(
            f"A model name can have at most {TITLE_MAX} characters; this one has {len(title)}."
        )
    return title


def title_of(path: str | Path | None) -> str:
    """The name the user gave the stored version whose model file is `path` ("" for none, for
    the embedded default and for model files outside the versions)."""
    if path is None or not is_stored_version(version_name_of(path)):
        return ""
    return _title_in(read_info(Path(path).parent))


def with_title(name: str, path: str | Path | None) -> str:
    """ "v2 (Shop stock)": `name` with the name the user gave the version at `path`, when any."""
    title = title_of(path)
    return f"{name} ({title})" if title else name


def _meta_summary(meta: ModelMeta) -> tuple[str, list[str], dict[str, Any]]:
    training = meta.training
    return str(training.get("date", "")), list(meta.categories), training.get("metrics")


def read_model(path: str | Path) -> tuple[ModelMeta, dict[str, torch.Tensor]]:
    """(meta, state_dict) of a .pth model file or of a JSON description (the embedded default)."""
    from sorter.core.model.modelfile import read_json_model, read_model_file

    path = Path(path)
    if path.suffix.lower() == ".json":
        return read_json_model(path)
    return read_model_file(path)


def _default_version(current: str) -> ModelVersion:
    from sorter.core.model.modelfile import default_model_path

    path = default_model_path()
    version = ModelVersion(DEFAULT, path, current=current == DEFAULT, note="embedded")
    try:
        meta, _ = read_model(path)
    except (SorterError, OSError) as exc:
        version.note = f"unavailable: {exc}"
        return version
    version.created, version.categories, metrics = _meta_summary(meta)
    version.metrics = metrics or {}
    return version


def stored_versions() -> list[ModelVersion]:
    """The versions in the data folder, oldest first (folders without a model file skipped)."""
    current = current_version_name()
    found = []
    for folder in models_dir().iterdir():
        if not (VERSION_NAME.match(folder.name) and (folder / MODEL_FILE).is_file()):
            continue
        info = read_info(folder)
        found.append(
            ModelVersion(
                name=folder.name,
                path=folder / MODEL_FILE,
                created=info.get("created", ""),
                categories=info.get("categories", []),
                metrics=info.get("metrics", {}),
                note=info.get("note", ""),
                current=folder.name == current,
                title=_title_in(info),
                size_bytes=folder_size(folder),
                weights_sha256=str(info.get("weights_sha256", "")),
            )
        )
    return sorted(found, key=lambda v: v.number)


def list_versions(include_default: bool = True) -> list[ModelVersion]:
    """The embedded default (first) and every stored version."""
    finish_interrupted()
    versions = stored_versions()
    if include_default:
        versions.insert(0, _default_version(current_version_name()))
    return versions


def get_version(name: str) -> ModelVersion:
    """Find a version by name ("v3", "3" or "default").

    Raises:
        VersionError: no such version.
    """
    wanted = name.strip().lower()
    if wanted.isdigit():
        wanted = f"v{int(wanted)}"
    for version in list_versions(include_default=wanted == DEFAULT):
        if version.name == wanted:
            return version
    known = ", ".join(v.name for v in list_versions())
    raise VersionError(f"There is no model version '{name}'. Known versions: {known}.")


def use_version(name: str) -> ModelVersion:
    """Make a version the current model (what sorting uses without --model)."""
    version = get_version(name)  # finishes an interrupted promotion before switching away
    if version.name != DEFAULT and not version.path.is_file():
        raise VersionError(f"The model file of version {version.name} is missing.")
    _make_current(version)
    return version


def use_model_file(path: str | os.PathLike[str]) -> Path:
    """Make a model file the current model, as the window's *Open model* does; the file is
    read and checked first, so a bad one never becomes current.

    Raises:
        ModelFileError: the file is missing, unsafe, damaged or not a Sorter model.
    """
    from sorter.core.model.modelfile import read_any_model  # torch: only when a file is picked

    chosen = Path(os.path.abspath(Path(path).expanduser()))
    if chosen.is_dir():
        raise ModelFileError(f"{chosen} is a folder, not a model file (.pth or .json).")
    read_any_model(chosen)

    def point_to(settings: Settings) -> None:
        settings.model_path = str(chosen)

    update_settings(point_to)
    log.info("Current model is now the file %s", chosen)
    return chosen


def _make_current(version: ModelVersion) -> None:
    model_path = None if version.name == DEFAULT else str(version.path)

    def point_to(settings: Settings) -> None:
        settings.model_path = model_path

    update_settings(point_to)
    log.info("Current model is now %s (%s)", version.name, version.path)
    version.current = True


def add_version(
    meta: ModelMeta,
    state_dict: dict[str, torch.Tensor],
    report: dict[str, Any] | None = None,
    note: str = "",
    corrections: Sequence[int] = (),
    title: str = "",
) -> ModelVersion:
    """Store a new model version (not yet current) with its report; returns it.

    `corrections` are the queue ids the model learned from, kept in its version.json. A model
    whose networks are still the shipped ImageNet ones (quick mode's, and its retrains) is
    stored compact: its file leaves them out (save_model).
    """
    with versions_lock():
        return _store(meta, state_dict, report, note, corrections, title)


def promote_version(
    meta: ModelMeta,
    state_dict: dict[str, torch.Tensor],
    report: dict[str, Any] | None,
    note: str,
    corrections: Sequence[int],
    queue: CorrectionQueue,
    title: str = "",
) -> ModelVersion:
    """Store a version, make it current and mark its corrections used, as one step.

    The settings and the queue cannot change in one transaction, so the version records its
    corrections and when they were marked; finish_interrupted() completes a kill in between.
    """
    with versions_lock():
        version = _store(meta, state_dict, report, note, corrections, title)
        _make_current(version)
        _mark_corrections(version.path.parent, queue)
    return version


def _store(
    meta: ModelMeta,
    state_dict: dict[str, torch.Tensor],
    report: dict[str, Any] | None,
    note: str,
    corrections: Sequence[int],
    title: str = "",
) -> ModelVersion:
    from sorter.core.model.modelfile import save_model
    from sorter.core.training.backbone import shared_body

    shared = shared_body(meta.arch, meta.builder)
    folder = new_version_folder()
    try:
        checksum = save_model(folder / MODEL_FILE, meta, state_dict, shared)
    except BaseException:
        remove_quietly(folder)
        raise
    if report is not None:
        write_json(folder / REPORT_FILE, report)
    meta = meta.replace(state_dict_sha256=checksum)
    return write_info(folder, meta, note, corrections, title=title)


def write_info(
    folder: Path,
    meta: ModelMeta,
    note: str,
    corrections: Sequence[int] = (),
    measured_on: dict[str, Any] | None = None,
    title: str = "",
) -> ModelVersion:
    """Write a stored version's version.json (what lists show without loading weights).

    `measured_on` ("images", "evaluated_on") joins the metrics: which images they come from;
    `title` is the name the user gave it (clean_title's form), left out when "".
    """
    created = datetime.now(UTC).isoformat(timespec="seconds")
    created_str, categories, metrics = _meta_summary(meta)
    if metrics and measured_on:
        metrics = {**metrics, **measured_on}
    info = {
        "created": created,
        "categories": categories,
        "metrics": metrics or {},
        "note": note,
        "trained": created_str,
        "corrections": [int(i) for i in corrections],
        "corrections_marked": not corrections,
    }
    if title:
        info["title"] = title
    if meta.state_dict_sha256:  # finds the same model added again (manage.add_model_file)
        info["weights_sha256"] = meta.state_dict_sha256
    write_json(folder / INFO_FILE, info)
    log.info("Stored model version %s in %s", folder.name, folder)
    return ModelVersion(
        folder.name, folder / MODEL_FILE, created, categories, info["metrics"], note,
        title=title, weights_sha256=meta.state_dict_sha256 or "",
    )  # fmt: skip


def _mark_corrections(folder: Path, queue: CorrectionQueue | None = None) -> None:
    """Mark the corrections a version learned from as used by it, then note that in its info."""
    info = read_info(folder)
    ids = [int(i) for i in info.get("corrections") or []]
    if ids and not info.get("corrections_marked"):
        if queue is None:
            from sorter.core.learning.queue import CorrectionQueue

            queue = CorrectionQueue()
        queue.mark_used(ids, folder.name)
        write_json(folder / INFO_FILE, {**info, "corrections_marked": True})


def finish_interrupted(queue: CorrectionQueue | None = None) -> None:
    """Finish what a retrain killed in the middle of storing or promoting a version left.

    Temporary files in version folders go (and a folder left with nothing else); when the
    current version's corrections were never marked used, they are marked now. Does nothing
    while another process is promoting, whose files are not leftovers.
    """
    lock = versions_lock()
    if not lock.try_acquire():
        return
    try:
        remove_leftovers()
        current = current_version_name()
        folder = models_dir() / current
        if VERSION_NAME.match(current) and (folder / MODEL_FILE).is_file():
            _mark_corrections(folder, queue)
    finally:
        lock.release()


def read_report(name: str) -> dict[str, Any] | None:
    version = get_version(name)
    try:
        return json.loads((version.path.parent / REPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
