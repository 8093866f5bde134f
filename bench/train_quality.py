"""Training quality and time on real photos: quick mode, full mode, and a logistic regression.

Data: Debian's tuxpaint-stamps-default photo cut-outs (transparent PNGs, composited on white by
Sorter's image reader), category = top folder under /usr/share/tuxpaint/stamps. Cartoon
drawings, the symbols folder and *_mirror copies (which would leak across the split) are left
out, then categories with fewer than --min-per-category images.

All three contenders see the same seeded split. The baseline is scikit-learn's logistic
regression (standardised features, C chosen by 5-fold cross-validation on the training part) on
the same frozen MobileNetV2 features quick mode trains its head on.

    apt-get install -y tuxpaint-stamps-default
    .venv/bin/python bench/train_quality.py [--full-epochs 3] [--only quick baseline speed full]

Prints accuracy and seconds per contender and writes bench/out/train_quality.json.

`--only folders` measures what a user sees after `sorter train` then `sorter sort`: single-label
sets of EVERYDAY categories built by bench/stamp_sets.py (cut-outs on real wallpapers;
`apt-get install -y mate-backgrounds`), --n-train images per category to train on and up to
--n-test others to sort, drawn again for each of --repeats seeds. Per set: top-1, exact folder
(placed in exactly its own folder; uncertain counts as wrong), placed-precision (copies in the
right folder / all copies), coverage (images placed at all), the share in 2+ folders, and the
logistic regression's top-1 on the same frozen features. `--labels` passes --single-label or
--multi-label; run it with PYTHONPATH set to another checkout to measure that code.

`--only sets` measures the same path on several data sets and sizes (bench/set_bench.py):
everyday cut-outs on wallpapers (stamps), openclipart drawings (clipart) and two-photo collages
trained from a labels CSV (collages, multi-label), at --sizes images per category (`full`: all
there are, at most --full-cap), pooled over --repeats draws (default 3), with the issue's
targets as met / not met and the seconds of quick training on --speed-sizes images.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT_DIR, machine, write_json

from sorter.core.model.arch_names import ARCHS, DEFAULT_ARCH
from sorter.core.training.data import TrainData, from_items, split_data
from sorter.core.training.train import TrainOptions, train

STAMPS = Path("/usr/share/tuxpaint/stamps")
PARTS = ("quick", "baseline", "speed", "full", "folders", "sets")


def photo_stamps(min_per_category: int) -> TrainData:
    """The photo cut-outs, category = top folder (see the module docstring for what is left out)."""
    if not STAMPS.is_dir():
        raise SystemExit("No stamps; run: apt-get install -y tuxpaint-stamps-default")
    found = []
    for path in sorted(STAMPS.rglob("*.png")):
        rel = path.relative_to(STAMPS)
        if "cartoon" in rel.parts or rel.parts[0] == "symbols" or path.stem.endswith("_mirror"):
            continue
        found.append((path, rel.parts[0]))
    counts = Counter(cat for _, cat in found)
    items = [(p, [c]) for p, c in found if counts[c] >= min_per_category]
    return from_items(items, STAMPS)


def every_stamp(limit: int) -> TrainData:
    """Up to `limit` stamps of any kind (for the speed figure only), category = top folder."""
    paths = sorted(STAMPS.rglob("*.png"))[:limit]
    counts = Counter(p.relative_to(STAMPS).parts[0] for p in paths)
    items = [(p, [p.relative_to(STAMPS).parts[0]]) for p in paths]
    return from_items([(p, c) for p, c in items if counts[c[0]] >= 2], STAMPS)


def run_sorter(data: TrainData, options: TrainOptions, folder: Path, name: str) -> dict:
    started, cpu = time.perf_counter(), time.process_time()
    result = train(data, folder / f"{name}.pth", options)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    metrics = result.meta.training["metrics"]
    print(
        f"{name:>9}: top-1 {metrics['top1_accuracy']:.3f}  exact {metrics['exact_match']:.3f}  "
        f"valid loss {metrics['valid_loss']:.3f}  {seconds:6.1f} s wall, {cpu:6.1f} s CPU  "
        f"({'; '.join(result.notes)})"
    )
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "metrics": metrics,
        "notes": result.notes,
        "history": result.report.get("history", []),
    }


def logistic_top1(x_train, y_train, x_test, y_test, seed: int) -> float:
    """Top-1 of scikit-learn's logistic regression (standardised features, C by 5-fold CV)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(),
        LogisticRegressionCV(Cs=[0.001, 0.01, 0.1, 1.0], cv=5, max_iter=3000, random_state=seed),
    )
    model.fit(x_train, y_train)
    return float(np.mean(model.predict(x_test) == np.asarray(y_test)))


def frozen_features(paths: list[Path]):
    """MobileNetV2's pooled features, as quick mode computes them (numpy)."""
    import torch

    from sorter.core.model.meta import IMAGENET, Preprocessing
    from sorter.core.training.backbone import find_pretrained_weights, pretrained_body
    from sorter.core.training.quick import extract_features

    pre = Preprocessing(224, "crop", IMAGENET)
    body = pretrained_body("mobilenet_v2", find_pretrained_weights("mobilenet_v2"))
    features, bad = extract_features(paths, body, pre, torch.device("cpu"))
    assert not bad, bad
    return features.numpy()


def run_baseline(data: TrainData, seed: int, valid_pct: float) -> dict:
    """Logistic regression on the frozen features of the same split; feature time counted."""
    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sorter.core.model.meta import IMAGENET, Preprocessing
    from sorter.core.training.backbone import find_pretrained_weights, pretrained_body
    from sorter.core.training.quick import extract_features

    started, cpu = time.perf_counter(), time.process_time()
    pre = Preprocessing(224, "crop", IMAGENET)
    body = pretrained_body("mobilenet_v2", find_pretrained_weights("mobilenet_v2"))
    features, bad = extract_features([i.path for i in data.items], body, pre, torch.device("cpu"))
    assert not bad, bad
    split = split_data(data, valid_pct, seed)
    labels = data.targets().argmax(axis=1)
    x, y = features.numpy(), labels
    fit_started = time.perf_counter()
    model = make_pipeline(
        StandardScaler(),
        LogisticRegressionCV(Cs=[0.001, 0.01, 0.1, 1.0], cv=5, max_iter=3000, random_state=seed),
    )
    model.fit(x[split.train], y[split.train])
    accuracy = float(np.mean(model.predict(x[split.valid]) == y[split.valid]))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    fit_seconds = time.perf_counter() - fit_started
    print(
        f" baseline: top-1 {accuracy:.3f}  {seconds:6.1f} s wall, {cpu:6.1f} s CPU  "
        f"(logistic regression fit {fit_seconds:.1f} s)"
    )
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "fit_seconds": round(fit_seconds, 1),
        "top1": accuracy,
    }


FIGURES = ("top1", "exact_folder", "placed_precision", "coverage", "multi_folder_share")


def folder_counts(outcomes) -> dict:
    """Counts over a sort's report rows; the truth is each test image's category folder."""
    counts = dict.fromkeys(("images", "top1", "exact", "copies", "right", "placed", "multi"), 0)
    for outcome in outcomes:
        if not outcome.top_scores:  # unreadable or skipped: not sorted
            continue
        truth = outcome.source.parent.name
        placed = [c for c in outcome.categories if c != "uncertain"]
        counts["images"] += 1
        counts["top1"] += outcome.top_scores[0][0] == truth
        counts["exact"] += placed == [truth]
        counts["copies"] += len(placed)
        counts["right"] += truth in placed
        counts["placed"] += bool(placed)
        counts["multi"] += len(placed) > 1
    return counts


def folder_figures(counts: dict) -> dict:
    n = counts["images"]
    return {
        "top1": counts["top1"] / n,
        "exact_folder": counts["exact"] / n,
        "placed_precision": counts["right"] / counts["copies"] if counts["copies"] else None,
        "coverage": counts["placed"] / n,
        "multi_folder_share": counts["multi"] / n,
    }


def one_folder_run(train_dir: Path, test_dir: Path, work: Path, seed: int, labels) -> dict:
    """`sorter train TRAIN` then `sorter sort TEST` through the core, and the baseline."""
    from sorter.core.model.modelfile import load_model
    from sorter.core.sorting.sort import sort_folder
    from sorter.core.training.data import load_training_data

    options = TrainOptions(mode="quick", seed=seed, **({"labels": labels} if labels else {}))
    started = time.perf_counter()
    result = train(load_training_data(train_dir), work / "model.pth", options)
    seconds = time.perf_counter() - started
    model = load_model(result.model_path, device="cpu")
    summary = sort_folder(test_dir, work / "sorted", model=model)
    train_paths, test_paths = sorted(train_dir.rglob("*.jpg")), sorted(test_dir.rglob("*.jpg"))
    features = frozen_features(train_paths + test_paths)
    labels_of = [p.parent.name for p in train_paths + test_paths]
    cut = len(train_paths)
    baseline = logistic_top1(features[:cut], labels_of[:cut], features[cut:], labels_of[cut:], seed)
    return {
        "seed": seed,
        "kind": "single" if getattr(model, "exclusive", False) else "multi",
        "train_seconds": round(seconds, 1),
        "thresholds": dict(model.meta.thresholds),
        "counts": folder_counts(summary.outcomes),
        "baseline_top1": baseline,
    }


def run_folders(args: argparse.Namespace) -> dict:
    """Every repeat on a freshly drawn set; figures per repeat and pooled over all of them."""
    from stamp_sets import EVERYDAY, build_set, load_backgrounds, stamp_photos

    stamps = stamp_photos(args.n_train + 3)
    categories = tuple(c for c in EVERYDAY if c in stamps)
    backgrounds = load_backgrounds()
    print(f"folders: {categories}, {args.n_train} train / up to {args.n_test} test each, "
          f"{len(backgrounds)} wallpapers, {args.repeats or 5} draws")  # fmt: skip
    runs = []
    for seed in range(args.repeats or 5):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            sets = build_set(work / "set", stamps, categories, args.n_train, args.n_test, seed,
                             backgrounds)  # fmt: skip
            run = one_folder_run(*sets, work, seed, args.labels)
        run["figures"] = folder_figures(run["counts"])
        shown = "  ".join(f"{k} {v:.3f}" for k, v in run["figures"].items() if v is not None)
        print(f"  seed {seed} ({run['kind']}-label): {shown}  LR top-1 "
              f"{run['baseline_top1']:.3f}  train {run['train_seconds']} s")  # fmt: skip
        runs.append(run)
    pooled = {k: sum(r["counts"][k] for r in runs) for k in runs[0]["counts"]}
    figures = folder_figures(pooled)
    baseline = sum(r["baseline_top1"] * r["counts"]["images"] for r in runs) / pooled["images"]
    spread = {k: [round(r["figures"][k], 3) for r in runs if r["figures"][k] is not None]
              for k in FIGURES}  # fmt: skip
    print(f"  pooled over {pooled['images']} test images: "
          + "  ".join(f"{k} {v:.3f}" for k, v in figures.items() if v is not None)
          + f"  LR top-1 {baseline:.3f}")  # fmt: skip
    return {"categories": list(categories), "pooled": figures, "baseline_top1": baseline,
            "per_seed": spread, "runs": runs}  # fmt: skip


def run_sets(args: argparse.Namespace) -> dict:
    """Every set and size, --repeats draws each, then the speed runs and the target checks."""
    from set_bench import (
        SetMaker,
        describe,
        one_run,
        pool,
        seed_line,
        speed_run,
        speed_set,
    )
    from targets import target_lines

    maker = SetMaker(args.n_test, args.full_cap)
    repeats = args.repeats or 3
    print(
        f"sets {args.sets} at {args.sizes} per category, {repeats} draws each; "
        f"{args.n_test} test images per category"
    )
    sets = {}
    for name in args.sets:
        for size in args.sizes:
            runs = []
            for seed in range(args.first_seed, args.first_seed + repeats):
                with tempfile.TemporaryDirectory() as tmp:
                    draw = maker.make(name, size, Path(tmp) / "set", seed)
                    runs.append(one_run(draw, Path(tmp), seed, args.labels, args.arch))
                print(f"  {name}@{size} seed {seed}: {seed_line(runs[-1])}", flush=True)
            sets[f"{name}@{size}"] = pool(runs, runs[0]["multi_label_data"])
            print("\n".join(describe(f"{name}@{size}", sets[f"{name}@{size}"])), flush=True)
    speed = {}
    for total in args.speed_sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = speed_set(Path(tmp) / "set", maker, total, args.seed)
            seconds = speed_run(root, Path(tmp) / "model.pth", args.seed, args.arch)
            speed[total] = round(seconds, 1)
    targets = target_lines(sets, speed)
    print("targets:\n  " + "\n  ".join(targets))
    return {"sets": sets, "speed_seconds": speed, "targets": targets}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--valid-pct", type=float, default=0.2)
    parser.add_argument("--min-per-category", type=int, default=15)
    parser.add_argument("--full-epochs", type=int, default=3)
    parser.add_argument("--speed-images", type=int, default=500)
    parser.add_argument("--n-train", type=int, default=10, help="folders: images per category")
    parser.add_argument("--n-test", type=int, default=8, help="folders: at most, per category")
    parser.add_argument("--repeats", type=int, help="folders, sets: draws (default 5, 3)")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="sets: the first draw's seed (then +1 each)"
    )
    parser.add_argument(
        "--sets",
        nargs="+",
        default=["stamps", "clipart", "collages"],
        choices=("stamps", "clipart", "collages"),
        help="sets: which",
    )
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["10", "full"],
        help="sets: training images per category (a number, or full)",
    )
    parser.add_argument("--full-cap", type=int, default=40, help="sets: most per category")
    parser.add_argument(
        "--speed-sizes",
        nargs="*",
        type=int,
        default=[100, 500],
        help="sets: quick training timed on this many images (none: skip)",
    )
    parser.add_argument("--labels", choices=("single", "multi"), help="folders: force the kind")
    parser.add_argument(
        "--arch", choices=ARCHS, default=DEFAULT_ARCH, help="sets: the network training uses"
    )
    parser.add_argument("--tag", default="", help="added to the JSON's name")
    parser.add_argument(
        "--targets-from",
        nargs="+",
        type=Path,
        metavar="JSON",
        help="print the target checks of saved --only sets runs (bench/out/...json) and stop",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=PARTS,
        default=list(PARTS),
        help="run only these parts (the JSON is named after them)",
    )
    args = parser.parse_args()
    if args.targets_from:
        from targets import print_saved

        return print_saved(args.targets_from)
    if args.only == ["sets"]:
        figures = {"machine": machine(), **run_sets(args)}
        figures["load_average_after"] = machine()["load_average_1_5_15"]
        path = write_json(figures, OUT_DIR / f"train_quality_sets{args.tag}.json")
        print(f"wrote {path}")
        return 0
    if args.only == ["folders"]:
        figures = {"machine": machine(), "folders": run_folders(args)}
        path = write_json(figures, OUT_DIR / f"train_quality_folders{args.tag}.json")
        print(f"wrote {path}")
        return 0
    data = photo_stamps(args.min_per_category)
    split = split_data(data, args.valid_pct, args.seed)
    print(f"{len(data.items)} photos, {len(data.categories)} categories: {data.counts()}")
    print(f"split: {len(split.train)} train / {len(split.valid)} validation (seed {args.seed})")
    figures: dict = {"machine": machine(), "images": len(data.items), "counts": data.counts()}
    options = {"seed": args.seed, "valid_pct": args.valid_pct}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "quick" in args.only:
            quick = TrainOptions(mode="quick", **options)
            figures["quick"] = run_sorter(data, quick, folder, "quick")
        if "baseline" in args.only:
            figures["baseline"] = run_baseline(data, args.seed, args.valid_pct)
        if "speed" in args.only:
            speed = every_stamp(args.speed_images)
            result = run_sorter(speed, TrainOptions(mode="quick", **options), folder, "quick-500")
            figures["quick_speed"] = {"images": len(speed.items), **result}
        if "full" in args.only:
            full = TrainOptions(mode="full", epochs=args.full_epochs, **options)
            figures["full"] = run_sorter(data, full, folder, "full")
        if "folders" in args.only:
            figures["folders"] = run_folders(args)
        if "sets" in args.only:
            figures.update(run_sets(args))
    figures["load_average_after"] = machine()["load_average_1_5_15"]
    suffix = "" if set(args.only) == set(PARTS) else "_" + "_".join(args.only)
    path = write_json(figures, OUT_DIR / f"train_quality{suffix}.json")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
