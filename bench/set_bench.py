"""What a user gets from `sorter train` then `sorter sort`, per data set and size.

Each draw builds a fresh training folder (or labels CSV) and test folder, trains through the
public core path (`train(load_training_data(TRAIN), model, TrainOptions(mode="quick"))`), sorts
the test folder with `sort_folder(TEST, OUT, model=load_model(model))`, and counts where every
test image landed; the logistic-regression baseline of bench/baselines.py is fitted on the same
images. See bench/README.md for the sets and what each figure means.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from baselines import frozen_features, multi_label_scores, single_label_top1

from sorter.core.model.arch_names import DEFAULT_ARCH
from sorter.core.model.decide import UNCERTAIN
from sorter.core.model.modelfile import load_model
from sorter.core.sorting.sort import sort_folder
from sorter.core.training.data import load_training_data
from sorter.core.training.train import TrainOptions, train

SETS = ("stamps", "clipart", "collages")
FULL_CAP = 40  # "full size": every image a category has, but at most this many to train on
COUNTS = ("images", "top1", "exact", "copies", "right", "placed", "multi", "all_found", "any_right")


@dataclass
class Draw:
    """One drawn set: what to train on, what to sort, and every image's true labels."""

    train: Path  # a category folder tree, or a labels CSV
    test: Path
    train_labels: dict[Path, frozenset[str]]
    test_labels: dict[Path, frozenset[str]]

    @property
    def multi(self) -> bool:
        return any(len(labels) > 1 for labels in self.train_labels.values())


def folder_labels(root: Path) -> dict[Path, frozenset[str]]:
    """root/<category>/*.jpg -> {resolved path: {category}}."""
    return {p.resolve(): frozenset([p.parent.name]) for p in sorted(root.glob("*/*.jpg"))}


class SetMaker:
    """Builds draws of the three sets; the source images are read once per bench run."""

    def __init__(self, n_test: int, full_cap: int = FULL_CAP) -> None:
        from stamp_sets import EVERYDAY, load_backgrounds, stamp_photos

        self.n_test, self.full_cap = n_test, full_cap
        self.stamps = stamp_photos(10)
        self.categories = tuple(c for c in EVERYDAY if c in self.stamps)
        self.backgrounds = load_backgrounds()
        self._groups: dict | None = None  # the clip art, read when first needed

    def per_category(self, size: str) -> int:
        return self.full_cap if size == "full" else int(size)

    def make(self, name: str, size: str, root: Path, seed: int) -> Draw:
        maker: Callable[[int, Path, int], Draw] = getattr(self, f"_{name}")
        return maker(self.per_category(size), root, seed)

    def _stamps(self, n_train: int, root: Path, seed: int) -> Draw:
        from stamp_sets import build_set

        full = n_train >= self.full_cap  # then test on n_test per category, train on the rest
        train, test = build_set(
            root, self.stamps, self.categories, n_train, self.n_test, seed, self.backgrounds, full
        )
        return Draw(train, test, folder_labels(train), folder_labels(test))

    def _clipart(self, n_train: int, root: Path, seed: int) -> Draw:
        from clipart_sets import build_clipart_set, clipart_groups

        if self._groups is None:
            self._groups = clipart_groups()
        train, test = build_clipart_set(root, self._groups, n_train, self.n_test, seed)
        return Draw(train, test, folder_labels(train), folder_labels(test))

    def _collages(self, n_train: int, root: Path, seed: int) -> Draw:
        from stamp_sets import build_collages

        sizes = (n_train, self.n_test, self.full_cap)
        csv_path, test, truth = build_collages(
            root, self.stamps, self.categories, sizes, seed, self.backgrounds
        )
        train_labels = {
            i.path.resolve(): frozenset(i.labels) for i in load_training_data(csv_path).items
        }
        test_labels = {(test / name).resolve(): frozenset(pair) for name, pair in truth.items()}
        return Draw(csv_path, test, train_labels, test_labels)


def sort_counts(outcomes, truth: dict[Path, frozenset[str]]) -> dict[str, int]:
    """Counts over a sort's report rows against every test image's true labels."""
    counts = dict.fromkeys(COUNTS, 0)
    for outcome in outcomes:
        if not outcome.top_scores:  # unreadable or skipped: not sorted
            continue
        labels = truth[Path(outcome.source).resolve()]
        placed = {c for c in outcome.categories if c != UNCERTAIN}
        counts["images"] += 1
        counts["top1"] += outcome.top_scores[0][0] in labels
        counts["exact"] += placed == labels
        counts["copies"] += len(placed)
        counts["right"] += len(placed & labels)
        counts["placed"] += bool(placed)
        counts["multi"] += len(placed) > 1
        counts["all_found"] += labels <= placed
        counts["any_right"] += bool(placed & labels)
    return counts


def confidences(outcomes, truth: dict[Path, frozenset[str]]) -> list[tuple[float, bool]]:
    """(best category's score, is it right) per sorted test image of a single-label model."""
    found = []
    for outcome in outcomes:
        if outcome.top_scores:
            best, score = outcome.top_scores[0]
            found.append((float(score), best in truth[Path(outcome.source).resolve()]))
    return found


def hindsight_exact(confident: list[tuple[float, bool]], gain: float = 0.05) -> float:
    """The best exact-folder share any one threshold gives this draw's test images while its
    placed-precision stays >= top-1 + gain: the threshold picked by looking at the answers, so
    a ceiling for any rule that places an image when its best score passes one threshold."""
    if not confident:
        return 0.0
    ranked = sorted(confident, key=lambda pair: -pair[0])
    goal = sum(right for _, right in ranked) / len(ranked) + gain
    best, right_so_far = 0.0, 0
    for placed, (score, right) in enumerate(ranked, start=1):
        right_so_far += right
        tied = placed < len(ranked) and ranked[placed][0] == score
        if not tied and right_so_far / placed >= goal - 1e-9:
            best = max(best, right_so_far / len(ranked))
    return best


def figures_of(counts: dict[str, int], multi: bool) -> dict[str, float | None]:
    """The bench's figures from pooled or per-draw counts (see bench/README.md)."""
    n = counts["images"]
    figures = {
        "top1": counts["top1"] / n,
        "exact_folder": counts["exact"] / n,
        "placed_precision": counts["right"] / counts["copies"] if counts["copies"] else None,
        "coverage": counts["placed"] / n,
        "multi_folder_share": counts["multi"] / n,
    }
    if multi:
        figures["all_labels_found"] = counts["all_found"] / n
        figures["at_least_one_right"] = counts["any_right"] / n
    return figures


def baseline(draw: Draw, seed: int, arch: str = "mobilenet_v2") -> dict[str, float]:
    """The logistic regression fitted on the draw's training images, scored on its test:
    on MobileNetV2's features (keys as they always were), and for another arch also on that
    arch's features (the same keys with "same_" in front)."""
    figures = _baseline_on(draw, seed, "mobilenet_v2")
    if arch != "mobilenet_v2":
        figures |= {f"same_{k}": v for k, v in _baseline_on(draw, seed, arch).items()}
    return figures


def _baseline_on(draw: Draw, seed: int, arch: str) -> dict[str, float]:
    train, test = list(draw.train_labels), list(draw.test_labels)
    x = frozen_features(train + test, arch=arch)
    x_train, x_test = x[: len(train)], x[len(train) :]
    if draw.multi:
        return multi_label_scores(
            x_train,
            [sorted(draw.train_labels[p]) for p in train],
            x_test,
            [sorted(draw.test_labels[p]) for p in test],
            seed,
        )
    first = [next(iter(draw.train_labels[p])) for p in train]
    truth = [next(iter(draw.test_labels[p])) for p in test]
    return single_label_top1(x_train, first, x_test, truth, seed)


def one_run(
    draw: Draw, work: Path, seed: int, labels: str | None = None, arch: str = DEFAULT_ARCH
) -> dict:
    """Train through the public core path, sort the test folder, count; and the baseline."""
    kind = {"labels": labels} if labels else {}
    options = TrainOptions(mode="quick", seed=seed, arch=arch, **kind)
    started = time.perf_counter()
    result = train(load_training_data(draw.train), work / "model.pth", options)
    seconds = time.perf_counter() - started
    model = load_model(result.model_path, device="cpu")
    summary = sort_folder(draw.test, work / "sorted", model=model)
    return {
        "seed": seed,
        "multi_label_data": draw.multi,
        "kind": "single" if getattr(model, "exclusive", False) else "multi",
        "train_images": len(draw.train_labels),
        "train_seconds": round(seconds, 1),
        "counts": sort_counts(summary.outcomes, draw.test_labels),
        "hindsight_exact": None
        if draw.multi
        else round(hindsight_exact(confidences(summary.outcomes, draw.test_labels)), 4),
        "arch": arch,
        "baseline": baseline(draw, seed, arch),
    }


def pool(runs: list[dict], multi: bool) -> dict:
    """Figures over every draw's test images together, the baseline weighted the same way,
    and each figure's per-draw values (the spread)."""
    pooled = {k: sum(r["counts"][k] for r in runs) for k in COUNTS}
    for run in runs:
        run["figures"] = figures_of(run["counts"], multi)
    weights = [r["counts"]["images"] / pooled["images"] for r in runs]
    base = {
        k: sum(w * r["baseline"][k] for w, r in zip(weights, runs, strict=True))
        for k in runs[0]["baseline"]
    }
    spread = {
        k: [round(r["figures"][k], 3) for r in runs if r["figures"][k] is not None]
        for k in runs[0]["figures"]
    }
    base_spread = {k: [round(r["baseline"][k], 3) for r in runs] for k in base}
    seconds = [r["train_seconds"] for r in runs]
    ceilings = [r.get("hindsight_exact") for r in runs]
    return {
        "figures": figures_of(pooled, multi),
        "hindsight_exact": None
        if None in ceilings
        else sum(w * c for w, c in zip(weights, ceilings, strict=True)),
        "baseline": base,
        "per_draw": spread,
        "baseline_per_draw": base_spread,
        "train_seconds": seconds,
        "train_images": [r["train_images"] for r in runs],
        "kinds": sorted({r["kind"] for r in runs}),
        "counts": pooled,
        "runs": runs,
    }


def speed_set(root: Path, maker: SetMaker, total: int, seed: int) -> Path:
    """`total` cut-outs on wallpapers in the everyday category folders (stamps reused, each on
    another background, when a category has fewer)."""
    from stamp_sets import composite

    rng = random.Random(seed)
    for number in range(total):
        category = maker.categories[number % len(maker.categories)]
        stamps = maker.stamps[category]
        folder = root / category
        folder.mkdir(parents=True, exist_ok=True)
        image = composite(
            stamps[(number // len(maker.categories)) % len(stamps)], maker.backgrounds, rng
        )
        image.save(folder / f"speed_{number:04d}.jpg", quality=88)
    return root


def speed_run(root: Path, model_path: Path, seed: int, arch: str = DEFAULT_ARCH) -> float:
    """Wall seconds of reading the folder and quick training on it, features included."""
    started = time.perf_counter()
    train(load_training_data(root), model_path, TrainOptions(mode="quick", seed=seed, arch=arch))
    return time.perf_counter() - started


NAMES = {
    "top1": "top-1",
    "exact_folder": "exact folder",
    "placed_precision": "placed-precision",
    "coverage": "coverage",
    "multi_folder_share": "2+ folders",
    "all_labels_found": "all labels found",
    "at_least_one_right": ">=1 right",
}


def _spread(values: list[float]) -> str:
    return f" [{min(values):.2f}-{max(values):.2f}]" if len(values) > 1 else ""


def describe(key: str, entry: dict) -> list[str]:
    """Printed lines for one set and size: the figures pooled, each with its per-draw range."""
    multi = "all_labels_found" in entry["figures"]
    names = dict(NAMES, exact_folder="both labels (exactly its 2 folders)") if multi else NAMES
    shown = [
        f"{names[k]} {v:.3f}{_spread(entry['per_draw'][k])}"
        for k, v in entry["figures"].items()
        if v is not None
    ]
    base = [
        f"LR {k.replace('_', ' ')} {v:.3f}{_spread(entry['baseline_per_draw'][k])}"
        for k, v in entry["baseline"].items()
    ]
    seconds = entry["train_seconds"]
    return [
        f"{key}: {len(seconds)} draws, {entry['counts']['images']} test images, "
        f"{min(entry['train_images'])}-{max(entry['train_images'])} training images, "
        f"{'/'.join(entry['kinds'])}-label model, train {sum(seconds) / len(seconds):.1f} s"
        f"{_spread(seconds)}",
        "    " + "  ".join(shown[:3]),
        "    " + "  ".join(shown[3:]),
        "    " + "  ".join(base),
        *(
            [
                f"    hindsight ceiling: exact folder {entry['hindsight_exact']:.3f} at placed-"
                "precision >= top-1 + 5 points (one threshold per draw, picked on its test answers)"
            ]
            if entry.get("hindsight_exact") is not None
            else []
        ),
    ]


def seed_line(run: dict) -> str:
    """One draw's figures, its baseline and training seconds, on one line."""
    figures = figures_of(run["counts"], run["multi_label_data"])
    shown = "  ".join(f"{NAMES[k]} {v:.3f}" for k, v in figures.items() if v is not None)
    base = "  ".join(f"LR {k.replace('_', ' ')} {v:.3f}" for k, v in run["baseline"].items())
    return f"{shown}  {base}  train {run['train_seconds']} s ({run['kind']}-label)"
