"""Training data: folder trees, labels CSVs, bad input, and the seeded, grouped split."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from sorter.core.errors import BadPathError
from sorter.core.training.data import (
    TrainingDataError,
    check,
    from_items,
    group_keys,
    load_csv,
    load_folder,
    load_training_data,
    split_data,
    without,
)


def _image(path: Path, color=(200, 20, 20)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), color).save(path)
    return path


def _tree(root: Path, counts: dict[str, int]) -> Path:
    """n different images per folder (one photo in two folders would mean both labels)."""
    made = 0
    for name, n in counts.items():
        for i in range(n):
            made += 1
            _image(root / name / f"{name}_{i}.png", (made % 256, made // 256, 90))
    return root


def test_folder_categories_in_name_order_and_labels(tmp_path):
    data = load_folder(_tree(tmp_path / "d", {"dogs": 2, "Cats": 3}))
    assert data.categories == ["Cats", "dogs"]
    assert data.counts() == {"Cats": 3, "dogs": 2}
    assert data.source == (tmp_path / "d").resolve()
    assert all(item.labels == (item.path.parent.name,) for item in data.items)
    assert data.targets().sum(axis=1).tolist() == [1.0] * 5
    assert data.single_label  # one folder per image: a single-label model


def test_one_photo_in_two_category_folders_is_one_image_with_both_labels(tmp_path):
    root = _tree(tmp_path / "d", {"cats": 2, "dogs": 2})
    both = _image(root / "cats" / "both.png", (7, 7, 7))
    (root / "dogs" / "extra").mkdir()
    (root / "dogs" / "extra" / "renamed.png").write_bytes(both.read_bytes())
    data = load_folder(root)
    labels = {item.path.name: item.labels for item in data.items}
    assert labels.pop("both.png") == ("cats", "dogs")
    assert labels == {"cats_0.png": ("cats",), "cats_1.png": ("cats",),
                      "dogs_0.png": ("dogs",), "dogs_1.png": ("dogs",)}  # fmt: skip
    assert data.counts() == {"cats": 3, "dogs": 3}
    assert not data.single_label
    assert any("1 image(s) are in more than one category folder" in w for w in data.warnings)


def test_copies_in_one_folder_or_in_uncertain_are_not_merged(tmp_path):
    root = _tree(tmp_path / "d", {"cats": 1, "dogs": 1})
    photo = _image(root / "cats" / "a.png", (5, 5, 5))
    (root / "cats" / "a-copy.png").write_bytes(photo.read_bytes())
    (root / "uncertain").mkdir()
    (root / "uncertain" / "a.png").write_bytes(photo.read_bytes())
    data = load_folder(root)
    assert sorted(i.labels for i in data.items) == [(), ("cats",), ("cats",), ("cats",), ("dogs",)]
    assert not any("more than one category" in w for w in data.warnings)


def test_folder_warns_about_empty_folders_and_loose_images(tmp_path):
    root = _tree(tmp_path / "d", {"a": 2, "b": 2})
    (root / "empty").mkdir()
    _image(root / "loose.png")
    (root / "a" / "notes.txt").write_text("not an image")
    data = load_folder(root)
    assert data.categories == ["a", "b"]
    assert len(data.items) == 4
    assert any("'empty' has no images" in w for w in data.warnings)
    assert any("not in a category folder" in w for w in data.warnings)


def test_uncertain_folder_gives_examples_of_no_category(tmp_path):
    root = _tree(tmp_path / "d", {"a": 2, "b": 2, "uncertain": 3, "unreadable": 1})
    data = load_folder(root)
    assert data.categories == ["a", "b"]
    assert data.unlabelled == 3
    assert len(data.items) == 7  # unreadable/ is not training material
    assert not data.single_label  # examples of no category: the multi-label model learns them


def test_missing_folder_and_single_category_are_clear_errors(tmp_path):
    with pytest.raises(BadPathError, match="does not exist"):
        load_folder(tmp_path / "nope")
    data = load_folder(_tree(tmp_path / "d", {"only": 3}))
    with pytest.raises(TrainingDataError, match="Only one category"):
        check(data)
    with pytest.raises(TrainingDataError, match="No usable images"):
        (tmp_path / "e" / "empty").mkdir(parents=True)
        check(load_folder(tmp_path / "e"))


def test_csv_with_header_multi_labels_missing_files_and_empty_labels(tmp_path):
    for name in ("a.png", "b.png", "c.png", "d.png"):
        _image(tmp_path / "img" / name)
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("file,labels\na.png,cat\nb.png,cat dog\nc.png,\nghost.png,dog\nd.png,dog\n")
    data = load_training_data(csv_file, images_dir=tmp_path / "img")
    assert data.categories == ["cat", "dog"]
    assert [item.labels for item in data.items] == [("cat",), ("cat", "dog"), (), ("dog",)]
    assert [p.name for p, _ in data.skipped] == ["ghost.png"]
    assert "line 5" in data.skipped[0][1]
    assert any("no labels" in w for w in data.warnings)
    check(data)
    assert not data.single_label


def test_a_csv_of_one_label_per_image_is_single_label_data(tmp_path):
    for name in ("a.png", "b.png"):
        _image(tmp_path / name)
    (tmp_path / "one.csv").write_text("a.png,cat\nb.png,dog\n")
    assert load_csv(tmp_path / "one.csv").single_label
    (tmp_path / "two.csv").write_text("a.png,cat\nb.png,dog cat\n")
    assert not load_csv(tmp_path / "two.csv").single_label


def test_csv_problems_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a.png,cat,extra\n")
    with pytest.raises(TrainingDataError, match="3 columns"):
        load_csv(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("file,labels\n")
    with pytest.raises(TrainingDataError, match="lists no images"):
        load_csv(empty)
    with pytest.raises(BadPathError):
        load_csv(tmp_path / "missing.csv")
    with pytest.raises(BadPathError):
        load_csv(empty, images_dir=tmp_path / "no-such-folder")


def test_windows_unsafe_category_names_warn_with_the_folder_used(tmp_path):
    data = from_items([(tmp_path / "x.png", ["a:b"]), (tmp_path / "y.png", ["CON"])], tmp_path)
    check(data)
    assert any("'a:b'" in w and "'a_b'" in w for w in data.warnings)
    assert any("'CON'" in w for w in data.warnings)


def test_without_lists_dropped_images_and_drops_emptied_categories(tmp_path):
    data = load_folder(_tree(tmp_path / "d", {"a": 2, "b": 1, "c": 2}))
    lone_b = next(i.path for i in data.items if i.labels == ("b",))
    kept = without(data, {lone_b: "not an image"})
    assert kept.categories == ["a", "c"]
    assert (lone_b, "not an image") in kept.skipped
    assert any("'b' has no readable images" in w for w in kept.warnings)


def test_split_is_seeded_and_sized(tmp_path):
    data = load_folder(_tree(tmp_path / "d", {"a": 10, "b": 10}))
    first = split_data(data, 0.2, seed=1)
    assert first == split_data(data, 0.2, seed=1)
    assert len(first.valid) == 4
    assert sorted(first.train + first.valid) == list(range(20))
    assert split_data(data, 0.2, seed=2).valid != first.valid
    assert split_data(data, 0.0, seed=1).valid == []


def test_group_regex_keeps_photos_of_one_item_on_one_side(tmp_path):
    root = tmp_path / "d"
    for cat in ("chairs", "tables"):
        for item in range(5):
            for shot in range(3):
                _image(root / cat / f"item{item}_{shot}.png")
    data = load_folder(root)
    keys = group_keys(data, r"(\w+/item\d+)_")
    assert len(set(keys)) == 10
    for seed in range(5):
        split = split_data(data, 0.3, seed=seed, group=r"(\w+/item\d+)_")
        valid_groups = {keys[i] for i in split.valid}
        train_groups = {keys[i] for i in split.train}
        assert valid_groups and not valid_groups & train_groups
    with pytest.raises(TrainingDataError, match="regular expression"):
        split_data(data, 0.2, group="(")


def test_rare_categories_stay_in_training_with_a_warning(tmp_path):
    data = load_folder(_tree(tmp_path / "d", {"a": 10, "b": 10, "rare": 1}))
    for seed in range(10):
        split = split_data(data, 0.5, seed=seed)
        assert all(data.items[i].labels != ("rare",) for i in split.valid)
        for cat in ("a", "b"):  # every category keeps training images
            assert any(data.items[i].labels == (cat,) for i in split.train)
    assert any("'rare' has only 1" in w for w in split.warnings)
