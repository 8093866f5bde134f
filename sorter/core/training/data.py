"""Training data: read a folder tree or a labels CSV, check it, and split it for validation."""

from __future__ import annotations

import csv
import logging
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sorter.core.errors import BadPathError, SorterError
from sorter.core.files import IMAGE_SUFFIXES, file_sha256
from sorter.core.model.decide import UNCERTAIN, UNREADABLE
from sorter.core.model.meta import Preprocessing
from sorter.core.sorting.names import unique_folder_names

log = logging.getLogger(__name__)


class TrainingDataError(SorterError):
    """The training data cannot be used as it is (too few images or categories, bad CSV...)."""


@dataclass(frozen=True)
class TrainItem:
    """One training image and its categories (empty: an example of none of them)."""

    path: Path
    labels: tuple[str, ...]


@dataclass
class TrainData:
    """Images with labels, the categories in model order, and what was left out and why."""

    source: Path  # the folder or CSV the user gave (absolute), kept for retraining later
    items: list[TrainItem]
    categories: list[str]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def targets(self) -> np.ndarray:
        """(N, C) float32 matrix of 0/1 labels in category order."""
        index = {name: i for i, name in enumerate(self.categories)}
        out = np.zeros((len(self.items), len(self.categories)), dtype=np.float32)
        for row, item in enumerate(self.items):
            for label in item.labels:
                out[row, index[label]] = 1.0
        return out

    def counts(self) -> dict[str, int]:
        """Images per category (an image with two labels counts in both)."""
        counter = Counter(label for item in self.items for label in item.labels)
        return {name: counter.get(name, 0) for name in self.categories}

    @property
    def unlabelled(self) -> int:
        return sum(1 for item in self.items if not item.labels)

    @property
    def single_label(self) -> bool:
        """True when every image has exactly one label: the data of a single-label model.

        Several labels on one image (a CSV row, or one photo in two category folders) or none
        (an `uncertain` folder, a CSV row without labels) make it multi-label data.
        """
        return bool(self.items) and all(len(item.labels) == 1 for item in self.items)


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def from_items(
    items: Iterable[tuple[Path, Sequence[str]]],
    source: Path,
    categories: Sequence[str] | None = None,
) -> TrainData:
    """Build TrainData from (path, labels) pairs, e.g. from the correction queue."""
    items = [TrainItem(Path(p), tuple(dict.fromkeys(labels))) for p, labels in items]
    if categories is None:
        categories = sorted({label for item in items for label in item.labels}, key=str.casefold)
    return TrainData(Path(source).resolve(), items, list(categories))


def load_folder(root: Path) -> TrainData:
    """One sub-folder per category, images anywhere below it.

    A top folder named `uncertain` holds examples of none of the categories (as in a sorted
    output folder); `unreadable` is ignored.
    """
    root = Path(root)
    if not root.is_dir():
        raise BadPathError(f"The training folder {root} does not exist or is not a folder.")
    root = root.resolve()
    items: list[TrainItem] = []
    categories: list[str] = []
    warnings: list[str] = []
    loose = [p for p in root.iterdir() if p.is_file() and is_image_file(p)]
    if loose:
        warnings.append(
            f"{len(loose)} image(s) directly in {root} are not in a category folder "
            "and are ignored."
        )
    for folder in sorted(root.iterdir(), key=lambda p: p.name.casefold()):
        if not folder.is_dir() or folder.name.startswith(".") or folder.name == UNREADABLE:
            continue
        images = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_file(p))
        if not images:
            warnings.append(f"The category folder '{folder.name}' has no images and is ignored.")
            continue
        labels: tuple[str, ...] = () if folder.name == UNCERTAIN else (folder.name,)
        if labels:
            categories.append(folder.name)
        items.extend(TrainItem(p, labels) for p in images)
    items, merged = merge_same_content(items)
    if merged:
        warnings.append(
            f"{merged} image(s) are in more than one category folder: each trains once, with "
            "the labels of all its folders (multi-label)."
        )
    return TrainData(root, items, categories, warnings=warnings)


def merge_same_content(items: list[TrainItem]) -> tuple[list[TrainItem], int]:
    """One item per labelled image content: copies of one photo in several category folders
    (as a multi-label sort leaves them) become one image with all their labels.

    Returns (items, how many images had copies merged). Only files of equal size are hashed;
    copies within one folder, and examples of no category, stay as they are.
    """
    by_size: dict[int, list[int]] = {}
    for index, item in enumerate(items):
        if item.labels:
            by_size.setdefault(item.path.stat().st_size, []).append(index)
    first: dict[str, int] = {}  # content -> index of the item that keeps it
    labels = [list(item.labels) for item in items]
    dropped: set[int] = set()
    for indices in (group for group in by_size.values() if len(group) > 1):
        for index in indices:
            keep = first.setdefault(file_sha256(items[index].path), index)
            if keep != index and not set(items[index].labels) <= set(labels[keep]):
                labels[keep] += [x for x in items[index].labels if x not in labels[keep]]
                dropped.add(index)
    merged = {i for i in range(len(items)) if len(labels[i]) > len(items[i].labels)}
    kept = [TrainItem(item.path, tuple(labels[i])) for i, item in enumerate(items)]
    return [item for i, item in enumerate(kept) if i not in dropped], len(merged)


def load_csv(csv_path: Path, images_dir: Path | None = None) -> TrainData:
    """A CSV of `file,labels` rows (labels space-separated), paths relative to `images_dir`.

    A header row is optional. Rows naming a missing file are skipped and listed; rows with no
    labels train as examples of none of the categories.
    """
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise BadPathError(f"The labels file {csv_path} does not exist.")
    csv_path = csv_path.resolve()
    images_dir = Path(images_dir).resolve() if images_dir else csv_path.parent
    if not images_dir.is_dir():
        raise BadPathError(f"The image folder {images_dir} does not exist or is not a folder.")
    rows = _read_csv_rows(csv_path)
    items: list[TrainItem] = []
    skipped: list[tuple[Path, str]] = []
    for line_no, name, labels in rows:
        path = images_dir / name
        if not path.is_file():
            skipped.append((path, f"listed on line {line_no} of the CSV but not found"))
        else:
            items.append(TrainItem(path, labels))
    categories = sorted({label for item in items for label in item.labels}, key=str.casefold)
    data = TrainData(csv_path, items, categories, skipped=skipped)
    if data.unlabelled:
        data.warnings.append(
            f"{data.unlabelled} image(s) in the CSV have no labels: they train as examples "
            "of none of the categories (remove those rows if that is not what you meant)."
        )
    return data


def _read_csv_rows(csv_path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as handle:
            raw = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TrainingDataError(f"Cannot read the labels file {csv_path}: {exc}") from exc
    rows = []
    for line_no, row in enumerate(raw, start=1):
        if not row or not row[0].strip():
            continue
        if line_no == 1 and [c.strip().lower() for c in row[:2]] == ["file", "labels"]:
            continue  # the header
        if len(row) > 2:
            raise TrainingDataError(
                f"Line {line_no} of {csv_path.name} has {len(row)} columns; expected "
                "'file,labels' with the labels separated by spaces."
            )
        labels = tuple(dict.fromkeys(row[1].split())) if len(row) > 1 else ()
        rows.append((line_no, row[0].strip(), labels))
    if not rows:
        raise TrainingDataError(f"The labels file {csv_path} lists no images.")
    return rows


def load_training_data(data: Path, images_dir: Path | None = None) -> TrainData:
    """A folder tree, or a CSV file with its image folder (default: the CSV's folder)."""
    data = Path(data)
    if (data.is_file() and data.suffix.lower() == ".csv") or images_dir is not None:
        return load_csv(data, images_dir)
    return load_folder(data)


def without(data: TrainData, bad: Mapping[Path, str]) -> TrainData:
    """A copy of `data` without the images in `bad` (listed in skipped with their reason)."""
    items = [item for item in data.items if item.path not in bad]
    skipped = [*data.skipped, *bad.items()]
    counter = Counter(label for item in items for label in item.labels)
    categories = [name for name in data.categories if counter[name]]
    warnings = list(data.warnings)
    for name in data.categories:
        if not counter[name]:
            warnings.append(f"The category '{name}' has no readable images and is ignored.")
    kept = set(categories)
    items = [TrainItem(i.path, tuple(x for x in i.labels if x in kept)) for i in items]
    return TrainData(data.source, items, categories, skipped, warnings)


def check(data: TrainData) -> None:
    """Raise TrainingDataError when training cannot work; add warnings for odd names."""
    if not data.items:
        raise TrainingDataError(f"No usable images were found in {data.source}.")
    if not data.categories:
        raise TrainingDataError(f"No categories were found in {data.source}.")
    if len(data.categories) == 1 and not data.unlabelled:
        raise TrainingDataError(
            f"Only one category ('{data.categories[0]}') was found in {data.source}; a model needs "
            "at least two categories to tell apart (or, in a CSV, images with no label)."
        )
    if any(not name.strip() for name in data.categories):
        raise TrainingDataError("A category name is empty; give every category a name.")
    folders = unique_folder_names(data.categories)
    for name, folder in folders.items():
        warning = (
            f"The category '{name}' will be sorted into the folder '{folder}' (Windows does "
            "not accept the name as it is, or it clashes with another folder)."
        )
        if folder != name and warning not in data.warnings:  # check() may run twice
            data.warnings.append(warning)


@dataclass
class Split:
    """Indices into TrainData.items for training and validation."""

    train: list[int]
    valid: list[int]
    warnings: list[str] = field(default_factory=list)


def split_data(
    data: TrainData, valid_pct: float = 0.2, seed: int = 42, group: str | None = None
) -> Split:
    """A seeded random split that keeps each group (see `group_keys`) on one side.

    Images of categories with fewer than 2 images all stay in training.
    """
    if not 0.0 <= valid_pct < 1.0:
        raise TrainingDataError(f"The validation share must be between 0 and 1, not {valid_pct}.")
    keys = group_keys(data, group)
    counts = data.counts()
    rare = {name for name, n in counts.items() if n < 2}
    warnings = [
        f"The category '{name}' has only {counts[name]} image(s): it trains but is not validated; "
        "add more examples."
        for name in sorted(rare)
    ]
    members: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        members.setdefault(key, []).append(index)
    order = sorted(members)
    random.Random(seed).shuffle(order)
    target = round(valid_pct * len(data.items))
    valid: list[int] = []
    for key in order:
        if len(valid) >= target:
            break
        if any(set(data.items[i].labels) & rare for i in members[key]):
            continue
        valid.extend(members[key])
    valid = _keep_one_for_training(data, members, keys, set(valid))
    train = [i for i in range(len(data.items)) if i not in valid]
    return Split(train, sorted(valid), warnings)


def _keep_one_for_training(
    data: TrainData, members: dict[str, list[int]], keys: list[str], valid: set[int]
) -> set[int]:
    # A category whose every image landed in validation would never be learned.
    for name in data.categories:
        with_name = [i for i, item in enumerate(data.items) if name in item.labels]
        if with_name and all(i in valid for i in with_name):
            valid -= set(members[keys[with_name[0]]])
    return valid


def group_keys(data: TrainData, group: str | None) -> list[str]:
    """The group of each image: the regex's first group (or whole match) on its path.

    The regex is searched in the path relative to the data folder, with `/` separators. Images
    whose path does not match form a group of their own.
    """
    base = data.source if data.source.is_dir() else data.source.parent
    if not group:
        return [str(i) for i in range(len(data.items))]
    try:
        pattern = re.compile(group)
    except re.error as exc:
        raise TrainingDataError(
            f"The --group pattern {group!r} is not a valid regular expression: {exc}"
        ) from exc
    keys = []
    for index, item in enumerate(data.items):
        try:
            text = item.path.relative_to(base).as_posix()
        except ValueError:
            text = item.path.as_posix()
        match = pattern.search(text)
        if match is None:
            keys.append(f"#{index}")
        else:
            keys.append("=" + ((match.group(1) if pattern.groups else None) or match.group(0)))
    return keys


@dataclass
class TrainOutcome:
    """What a training mode hands back: the weights and the validation scores to judge them."""

    data: TrainData  # after unreadable images were dropped
    split: Split
    state_dict: dict
    preprocessing: Preprocessing  # what inference must repeat
    valid_scores: np.ndarray  # (len(split.valid), C) scores as sorting computes them
    epochs: int  # epochs actually run
    history: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exclusive: bool = False  # a single-label model (softmax scores), else multi-label (sigmoid)
    # Quick mode's k-fold cross-validation (crossval.CrossValidation): then split.valid is every
    # image and valid_scores are out-of-fold scores. None: a hold-out split.
    cross_validation: Any = None
