"""Training end to end: tiny real models on generated images, then scored through the core."""

from __future__ import annotations

import csv
import json
import random
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sorter.core.errors import BadPathError, SorterError
from sorter.core.jobs import Cancelled, CancelToken
from sorter.core.model.arch_names import PAIR
from sorter.core.model.modelfile import load_model
from sorter.core.model.predict import score_images
from sorter.core.sorting.sort import sort_folder
from sorter.core.training import metrics as th
from sorter.core.training.data import load_csv, load_folder
from sorter.core.training.train import TrainOptions, train

COLORS = {"red": (220, 30, 30), "blue": (30, 40, 220), "green": (30, 180, 40)}


def shape_image(path: Path, name: str, rng: random.Random, size: int = 64) -> Path:
    """A light background with one coloured blob (circle for red, square otherwise; none: none)."""
    img = Image.new("RGB", (size, size), tuple(rng.randint(190, 255) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    side = rng.randint(size // 2, size * 3 // 4)
    x, y = rng.randint(0, size - side), rng.randint(0, size - side)
    if name != "none":
        jitter = tuple(max(0, min(255, c + rng.randint(-20, 20))) for c in COLORS[name])
        shape = draw.ellipse if name == "red" else draw.rectangle
        shape([x, y, x + side, y + side], fill=jitter)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def make_tree(root: Path, per_class: int = 8, seed: int = 0, classes=("red", "blue")) -> Path:
    rng = random.Random(seed)
    for name in classes:
        for i in range(per_class):
            shape_image(root / name / f"{name}_{i}.png", name, rng)
    return root


def held_out_accuracy(model_path: Path, tmp_path: Path, classes=("red", "blue")) -> float:
    """Top-1 accuracy of the saved model on fresh images, through load_model + score_images."""
    fresh = make_tree(tmp_path / "fresh", per_class=6, seed=99, classes=classes)
    model = load_model(model_path, device="cpu")
    paths = sorted(fresh.rglob("*.png"))
    right = 0
    for scored in score_images(model, paths, batch_size=8):
        best = model.categories[int(np.argmax(scored.scores))]
        right += best == scored.path.parent.name
    return right / len(paths)


SMALL = {"input_size": 64, "batch_size": 8}


@pytest.mark.slow
def test_quick_training_from_folders_learns_and_writes_model_and_report(tmp_path):
    data_root = make_tree(tmp_path / "data", per_class=10)
    (data_root / "red" / "broken.png").write_bytes(b"not really a png")
    out = tmp_path / "models" / "colours.pth"
    reports = []
    options = TrainOptions(mirror=True, **SMALL)
    result = train(load_folder(data_root), out, options, progress=reports.append)
    assert result.model_path == out.resolve() and out.is_file()
    assert {r.stage for r in reports} >= {"Reading images", "Reading mirrored images"}
    assert reports[-1].stage == "Cross-validating" and reports[-1].eta_s == 0
    assert [p.name for p, _ in result.data.skipped] == ["broken.png"]
    meta = load_model(out, device="cpu").meta
    assert meta.categories == ["blue", "red"]
    assert meta.builder == "fastai" and meta.arch == PAIR
    assert meta.input_size == 64 and meta.resize_method == "crop"
    assert meta.normalize.mean == (0.485, 0.456, 0.406)
    assert set(meta.thresholds) == {"blue", "red"}
    assert meta.exclusive and meta.groups == {"blue": [0], "red": [1]}  # one folder per image
    training = meta.training
    assert training["labels"] == "single" and training["metrics"]["multi_folder_share"] == 0.0
    assert "Single-label model (every image is in exactly one category)" in result.notes[-1]
    assert training["data_path"] == str(data_root.resolve())
    assert training["image_counts"] == {"blue": 10, "red": 10}
    # Quick mode cross-validates: all 20 readable images are judged out of fold, none held out.
    assert training["valid_images"] == 20 and training["train_images"] == 20
    assert training["mode"] == "quick" and training["validation"].startswith("5-fold cross")
    spread = training["cross_validation"]["spread"]
    assert spread["top1"]["folds"] == 5 and 0.0 <= spread["top1"]["sd"] <= 0.5
    # The out-of-fold scores the thresholds came from are handed back, and choose them again.
    assert result.judged_scores.shape == result.judged_targets.shape == (20, 2)
    assert np.allclose(result.judged_scores.sum(axis=1), 1.0, atol=1e-5)  # softmax rows
    assert result.judged_targets.sum(axis=0).tolist() == [10, 10]
    again = th.exclusive_thresholds(result.judged_scores, result.judged_targets, meta.categories)
    assert again == meta.thresholds
    report = json.loads(result.report_json.read_text())
    assert report["evaluation"]["labels"] == "single"
    assert report["skipped"][0]["path"].endswith("broken.png")
    assert len(report["evaluation"]["accuracy_curve"]) == 19
    assert result.report_png is not None and result.report_png.is_file()
    assert held_out_accuracy(out, tmp_path) >= 0.9


@pytest.mark.slow
def test_quick_training_from_csv_with_unlabelled_images(tmp_path):
    images = make_tree(tmp_path / "imgs", per_class=8, classes=("red", "blue", "none"))
    rows = ["file,labels"]
    for path in sorted(images.rglob("*.png")):
        label = "" if path.parent.name == "none" else f"{path.parent.name}-thing"
        rows.append(f"{path.relative_to(images).as_posix()},{label}")
    rows.append("missing.png,red-thing")
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("\n".join(rows) + "\n")
    data = load_csv(csv_file, images)
    result = train(data, tmp_path / "csv.pth", TrainOptions(**SMALL, seed=3))
    model = load_model(result.model_path, device="cpu")
    assert model.categories == ["blue-thing", "red-thing"]
    assert not model.exclusive  # examples of neither: a sigmoid per category learns them
    assert "Multi-label model (8 image(s) are examples of none" in result.notes[-1]
    assert model.meta.training["unlabelled_images"] == 8
    assert [p.name for p, _ in result.data.skipped] == ["missing.png"]
    fresh = make_tree(tmp_path / "fresh", per_class=4, seed=7, classes=("red", "blue", "none"))
    for scored in score_images(model, sorted(fresh.rglob("*.png"))):
        colour = scored.path.parent.name
        if colour == "none":  # neither category: both scores low
            assert max(scored.scores) < 0.5
        else:
            assert model.categories[int(np.argmax(scored.scores))] == f"{colour}-thing"


@pytest.mark.slow
def test_full_training_fine_tunes_with_fastai(tmp_path):
    data_root = make_tree(tmp_path / "data", per_class=8)
    reports = []
    options = TrainOptions(mode="full", epochs=2, **SMALL)
    result = train(load_folder(data_root), tmp_path / "full.pth", options, progress=reports.append)
    stages = {r.stage for r in reports}
    assert {"Checking images", "Cross-validating", "Fine-tuning (all layers)"} <= stages
    assert "fastai's default" in result.notes[0]  # too few images for lr_find
    assert any(r.eta_s is not None and r.unit == "batches" for r in reports)
    meta = result.meta
    assert meta.training["mode"] == "full" and meta.normalize is not None
    assert meta.exclusive  # folder data: the softmax model, as quick mode makes it
    history = result.report["history"]
    # The head was trained on cached features first, so fastai trains all layers at once.
    assert [row["stage"] for row in history] == ["Fine-tuning (all layers)"] * 2
    assert all("top1_accuracy" in row and "accuracy_multi" not in row for row in history)
    notes = " ".join(result.notes)
    assert "Started from quick mode's probe, fitted on frozen features" in notes
    # Kept: the starting weights or the epoch with the lowest validation loss.
    kept = re.search(r"Kept the weights after epoch (\d) of 2 \(validation loss ([\d.]+)", notes)
    losses = [row["valid_loss"] for row in history]
    if kept is None:
        start = float(re.search(r"validation loss ([\d.]+) at the start", notes).group(1))
        assert "none of 2 epochs went lower" in notes
        assert start <= min(losses) + 5e-4  # printed with 3 decimals
    else:
        assert losses[int(kept.group(1)) - 1] == min(losses)
        assert f"{min(losses):.3f}" == kept.group(2)
    assert held_out_accuracy(result.model_path, tmp_path) >= 0.75


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["quick", "full"])
def test_multi_label_is_trained_when_asked_or_when_a_photo_is_in_two_folders(tmp_path, mode):
    data_root = make_tree(tmp_path / "data", per_class=6)
    options = TrainOptions(mode=mode, epochs=2, **SMALL)
    asked = train(load_folder(data_root), tmp_path / "asked.pth", replace(options, labels="multi"))
    assert not asked.meta.exclusive and asked.meta.activation == "sigmoid"
    assert "Multi-label model (as asked (--multi-label))" in asked.notes[-1]
    shutil.copy(data_root / "red" / "red_0.png", data_root / "blue" / "both.png")
    data = load_folder(data_root)
    assert len(data.items) == 12 and not data.single_label
    result = train(data, tmp_path / "both.pth", options)
    assert not result.meta.exclusive and result.meta.training["labels"] == "multi"
    assert result.report["evaluation"]["labels"] == "multi"
    if mode == "full":
        assert all("accuracy_multi" in row for row in result.report["history"])
    forced = train(data, tmp_path / "forced.pth", replace(options, labels="single"))
    assert forced.meta.exclusive  # the photo of both trains towards half of each


@pytest.mark.slow
def test_an_exclusive_model_never_sorts_an_image_into_two_folders(tmp_path):
    classes = ("red", "blue", "green")
    data = load_folder(make_tree(tmp_path / "data", per_class=8, classes=classes))
    single = train(data, tmp_path / "single.pth", TrainOptions(**SMALL, epochs=10))
    multi = train(data, tmp_path / "multi.pth", TrainOptions(**SMALL, epochs=10, labels="multi"))
    photos = make_tree(tmp_path / "photos", per_class=5, seed=5, classes=(*classes, "none"))
    for result, exclusive in ((single, True), (multi, False)):
        out = tmp_path / f"sorted-{result.model_path.stem}"
        model = load_model(result.model_path, device="cpu")
        # a threshold this low passes most categories of a multi-label model
        summary = sort_folder(photos, out, model=model, default_threshold=0.02)
        with open(summary.report_path, newline="", encoding="utf-8-sig") as f:
            copies = [len(row["destinations"].split(";")) for row in csv.DictReader(f)]
        assert len(copies) == 20, copies
        # one folder at most for the single-label model; several for the multi-label one
        assert (max(copies) == 1) if exclusive else (max(copies) >= 2), copies


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["quick", "full"])
def test_cancel_saves_nothing(tmp_path, mode, monkeypatch):
    from sorter.core.training import full as train_full

    monkeypatch.setattr(train_full, "LR_FIND_MIN_IMAGES", 0)  # cancel inside lr_find
    data_root = make_tree(tmp_path / "data", per_class=6)
    token = CancelToken()
    out = tmp_path / "cancelled.pth"

    stages = []

    # Full mode trains quick mode's head first; let that pass so the cancel lands in lr_find.
    ignored = ("Reading", "Checking") + (("Cross-validating",) if mode == "full" else ())

    def cancel_when_training(progress):
        stages.append(progress.stage)
        if not progress.stage.startswith(ignored):
            token.cancel()

    options = TrainOptions(mode=mode, epochs=2, **SMALL)
    with pytest.raises(Cancelled):
        train(load_folder(data_root), out, options, progress=cancel_when_training, cancel=token)
    assert list(tmp_path.glob("cancelled*")) == []
    assert stages[-1] == ("Cross-validating" if mode == "quick" else "Finding learning rate")


def test_refuses_existing_output_and_quick_without_weights(tmp_path):
    data = load_folder(make_tree(tmp_path / "data", per_class=2))
    existing = tmp_path / "taken.pth"
    existing.write_bytes(b"someone's model")
    with pytest.raises(BadPathError, match="already exists"):
        train(data, existing, TrainOptions(**SMALL))
    assert existing.read_bytes() == b"someone's model"
    with pytest.raises(SorterError, match="pretrained ImageNet weights for resnet18"):
        train(data, tmp_path / "r.pth", TrainOptions(arch="resnet18", **SMALL))
    with pytest.raises(SorterError, match="quick or full"):
        train(data, tmp_path / "x.pth", TrainOptions(mode="fast"))


@pytest.mark.slow
def test_a_multi_label_model_places_no_image_in_more_folders_than_its_examples_had(tmp_path):
    from sorter.cli.model_cmd import describe
    from sorter.core.training.train import label_limit

    images = make_tree(tmp_path / "imgs", per_class=6, classes=("red", "blue", "green"))
    second = {"red": "warm", "blue": "cool", "green": "cool"}
    rows = ["file,labels"] + [
        f"{p.relative_to(images).as_posix()},{p.parent.name} {second[p.parent.name]}"
        for p in sorted(images.rglob("*.png"))
    ]
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("\n".join(rows) + "\n")
    data = load_csv(csv_file, images)
    assert label_limit(data) == 2
    result = train(data, tmp_path / "two.pth", TrainOptions(**SMALL, seed=1))
    assert result.meta.max_labels == 2 and not result.meta.exclusive
    assert "passes its threshold, at most 2 (no example has more labels)" in result.notes[-1]
    assert "at most 2 folders per image" in "\n".join(describe(result.model_path, result.meta))
    model = load_model(result.model_path, device="cpu")
    fresh = make_tree(tmp_path / "fresh", per_class=3, seed=4, classes=("red", "blue", "green"))
    summary = sort_folder(fresh, tmp_path / "out", model=model, default_threshold=0.0)
    placed = [len(o.destinations) for o in summary.outcomes]
    assert placed == [2] * 9  # everything passes a threshold of 0: the two highest scores go
    single = load_folder(make_tree(tmp_path / "one", per_class=2, classes=("red", "blue", "green")))
    assert label_limit(single) is None  # one label each: a forced multi-label model is not capped
