"""The correction loop on real photos: sort, correct N wrong images, retrain; error on a test set.

Two cases, each with three disjoint parts: a first model, a "pool" the user sorts (where the
corrections are made and the kept images stay) and an untouched test set that only measures.

- stamps: Debian's tuxpaint-stamps-default cut-outs (top folder = category, folders with at
  least MIN_PER_CATEGORY images); a seeded stratified split trains the first model (quick
  mode), the rest is split into pool (`--pool-share`) and test.
- default: the embedded default model; bench/stamp_sets.py composites of six everyday
  categories (cut-outs on real wallpapers, `--pool-per-category` each in the pool, other
  cut-outs in the test set), named as the default model's categories (DEFAULT_NAMES).

For each N, starting again from the same first model and an empty queue: the first N pool
images that were wrong or uncertain (seeded random order) are corrected from the ground truth,
`retrain` runs (quick mode, its own promotion rule, kept images from the sorted pool), and the
test set is scored with whatever model is current afterwards (the first one when refused). An
image counts as an error when its folders are not exactly its true category (uncertain is an
error).

    apt-get install -y tuxpaint-stamps-default mate-backgrounds
    .venv/bin/python bench/retrain_loop.py [--case stamps default] [--n 10 30 100]
        [--default-n 3 30] [--train-share 0.3] [--pool-share 0.6] [--seed 0] [--ceiling]
        [--correction-weight W]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
STAMPS = Path("/usr/share/tuxpaint/stamps")
MIN_PER_CATEGORY = 30
# bench/stamp_sets.py's everyday categories, as the default model names them
DEFAULT_NAMES = {
    "animals": "animals", "clothes": "clothing", "food": "food & drink",
    "household": "kitchen & household", "plants": "plants & flowers", "vehicles": "vehicles",
}  # fmt: skip


def isolate_user_folders(base: Path) -> None:
    """Settings, models and the queue of this run live in a scratch folder, not the user's."""
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(base / var.lower())


def load_dataset() -> dict[str, list[Path]]:
    if not STAMPS.is_dir():
        raise SystemExit("No tuxpaint stamps; run: apt-get install -y tuxpaint-stamps-default")
    by_cat: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(STAMPS.rglob("*.png")):
        by_cat[path.relative_to(STAMPS).parts[0]].append(path)
    return {c: ps for c, ps in sorted(by_cat.items()) if len(ps) >= MIN_PER_CATEGORY}


def split3(
    dataset: dict[str, list[Path]],
    share: float,
    pool_share: float,
    seed: int,
    per_category: int | None = None,
):
    """Stratified: `share` of each category (or `per_category` images of each) trains the first
    model; of the rest, `pool_share` is the pool (sorted, corrected, kept), the others the
    untouched test set."""
    rng = random.Random(seed)
    train, pool, test = [], [], []
    for cat, paths in dataset.items():
        paths = list(paths)
        rng.shuffle(paths)
        cut = per_category if per_category else max(2, round(share * len(paths)))
        half = cut + round(pool_share * (len(paths) - cut))
        train += [(p, cat) for p in paths[:cut]]
        pool += [(p, cat) for p in paths[cut:half]]
        test += [(p, cat) for p in paths[half:]]
    return train, pool, test


def copy_tree(items, root: Path, flat: bool) -> dict[Path, str]:
    """Copies of the images (category folders, or one flat folder); returns copy -> category."""
    truth = {}
    for index, (path, cat) in enumerate(items):
        name = f"{index:04d}-{path.name}"
        dest = root / name if flat else root / cat / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            shutil.copyfile(path, dest)
        truth[dest] = cat
    return truth


def read_model_path() -> Path:
    """The current model file (after a promotion)."""
    from sorter.core.model.modelfile import current_model_path

    return current_model_path()


def test_error(model_path: Path, truth: dict[Path, str]) -> dict[str, float]:
    """Shares of the test images: not in exactly their true folder ("error"), left uncertain,
    and whose best category is not the true one ("top1_error", thresholds aside)."""
    from sorter.core.model.decide import UNCERTAIN, decide
    from sorter.core.model.modelfile import load_model
    from sorter.core.model.predict import score_images

    model = load_model(model_path, device="auto")
    wrong = uncertain = top1_wrong = 0
    for scored in score_images(model, list(truth)):
        scores = scored.scores or []
        folders = decide(
            scores, model.categories, model.default_threshold, model.thresholds,
            exclusive=model.exclusive,
        ) if scores else []  # fmt: skip
        wrong += folders != [truth[scored.path]]
        uncertain += folders in ([], [UNCERTAIN])
        best = model.categories[max(range(len(scores)), key=scores.__getitem__)] if scores else ""
        top1_wrong += best != truth[scored.path]
    n = len(truth)
    return {"error": wrong / n, "uncertain": uncertain / n, "top1_error": top1_wrong / n}


def sort_pool(model_path: Path, pool: Path, out: Path) -> Path:
    """Sort the pool once with the first model; every N reads the same output (never writes)."""
    from sorter.core.model.modelfile import load_model
    from sorter.core.sorting.sort import sort_folder

    if not (out / ".sorter").is_dir():
        sort_folder(pool, out, model=load_model(model_path, device="auto"))
    return out


def wrong_in_pool(out: Path, truth: dict[Path, str]) -> list[Path]:
    from sorter.core.sorting.resort import recorded_images

    return [r.source for r in recorded_images(out) if r.folders != {truth[r.source]}]


def run_one(n: int, case: dict, seed: int, scratch: Path) -> dict:
    from sorter.core.learning.queue import CorrectionQueue
    from sorter.core.learning.retrain import promote, retrain
    from sorter.core.learning.versions import read_model

    user = scratch / f"user-{case['name']}-{n}"
    shutil.rmtree(user, ignore_errors=True)
    isolate_user_folders(user)
    bad = sorted(case["wrong"])
    random.Random(seed).shuffle(bad)
    chosen = bad[:n]
    queue = CorrectionQueue()
    for path in chosen:
        queue.add(path, [case["pool_truth"][path]])
    started = time.perf_counter()
    result = retrain(case["model"], "quick", outputs=[case["out"]])
    seconds = time.perf_counter() - started
    current = result.current_model if result.promoted else case["model"]
    old_cats = read_model(case["model"])[0].categories
    new_cats = result.candidate.meta.categories
    after = test_error(current, case["test_truth"])
    if not result.promoted:  # what the refused model would have done: was refusing right?
        promote(result.candidate, queue)
        forced = test_error(read_model_path(), case["test_truth"])["error"]
    return {
        "case": case["name"],
        "n": n,
        "corrected": len(chosen),
        "promoted": result.promoted,
        "verdict": result.candidate.reason,
        "categories_kept": f"{len(set(old_cats) & set(new_cats))}/{len(old_cats)}",
        "kept_images": result.candidate.meta.training.get("kept_images", 0),
        "test_images": len(case["test_truth"]),
        "error_before": case["error_before"],
        "error_after": after["error"],
        "uncertain_before": case["uncertain_before"],
        "uncertain_after": after["uncertain"],
        "top1_error_before": case["top1_error_before"],
        "top1_error_after": after["top1_error"],
        "error_refused_model": None if result.promoted else forced,
        "retrain_s": round(seconds, 1),
        "correction_weight": result.candidate.meta.training.get("correction_weight"),
        "table": result.candidate.table(),
    }


def stamps_case(args, scratch: Path) -> dict:
    from sorter.core.training.data import load_training_data
    from sorter.core.training.train import TrainOptions, train

    isolate_user_folders(scratch / "user-base")
    dataset = load_dataset()
    train_items, pool_items, test_items = split3(
        dataset, args.train_share, args.pool_share, args.seed, args.train_per_category
    )
    print(f"stamps: {len(dataset)} categories: "
          f"{', '.join(f'{c} {len(p)}' for c, p in dataset.items())}")  # fmt: skip
    print(f"first model trains on {len(train_items)} images; pool {len(pool_items)}, "
          f"test {len(test_items)}", flush=True)  # fmt: skip
    first = args.train_per_category and f"{args.train_per_category}each"
    tag = f"{first or args.train_share}-{args.pool_share}-{args.seed}"
    base = scratch / f"stamps-base-{tag}.pth"
    if not base.is_file():
        data = scratch / f"stamps-train-{tag}"
        copy_tree(train_items, data, flat=False)
        started = time.perf_counter()
        train(load_training_data(data), base, TrainOptions(mode="quick"))
        print(f"first model trained in {time.perf_counter() - started:.0f} s", flush=True)
    pool_truth = copy_tree(pool_items, scratch / f"stamps-pool-{tag}", flat=True)
    test_truth = copy_tree(test_items, scratch / f"stamps-test-{tag}", flat=True)
    out = sort_pool(base, scratch / f"stamps-pool-{tag}", scratch / f"stamps-sorted-{tag}")
    case = _case("stamps", base, out, pool_truth, test_truth)
    if args.ceiling:
        case["ceiling"] = pool_ceiling(train_items + pool_items, test_truth, scratch / tag)
        cut = 1 - case["ceiling"]["error"] / case["error_before"] if case["error_before"] else 0
        print(f"stamps ceiling: every pool image labelled and trained on with the first model's "
              f"images ({len(train_items) + len(pool_items)} in all): test error "
              f"{case['error_before']:.3f} -> {case['ceiling']['error']:.3f} "
              f"({cut:+.2f})", flush=True)  # fmt: skip
    return case


def pool_ceiling(items, test_truth: dict[Path, str], scratch: Path) -> dict[str, float]:
    """The test error of a model trained from scratch (quick mode) on `items`: the first
    model's images and the whole pool with its true labels, as if the user had corrected every
    pool image. Corrections of part of the pool can hardly do better."""
    from sorter.core.training.data import load_training_data
    from sorter.core.training.train import TrainOptions, train

    data, model = scratch / "ceiling-train", scratch / "ceiling.pth"
    copy_tree(items, data, flat=False)
    if not model.is_file():
        train(load_training_data(data), model, TrainOptions(mode="quick"))
    return test_error(model, test_truth)


def default_case(args, scratch: Path) -> dict:
    from stamp_sets import EVERYDAY, build_set, load_backgrounds, stamp_photos

    from sorter.core.model.modelfile import default_model_path

    root = scratch / "default-set"
    if not (root / "test").is_dir():
        stamps = stamp_photos(1)
        build_set(root, stamps, EVERYDAY, args.pool_per_category, 20, args.seed,
                  load_backgrounds())  # fmt: skip

    def truth_of(part: str) -> dict[Path, str]:
        return {p: DEFAULT_NAMES[p.parent.name] for p in sorted((root / part).rglob("*.jpg"))}

    pool_truth, test_truth = truth_of("train"), truth_of("test")
    print(f"default model: pool {len(pool_truth)} composites, test {len(test_truth)} "
          f"(other cut-outs), categories {', '.join(DEFAULT_NAMES.values())}")  # fmt: skip
    isolate_user_folders(scratch / "user-base")
    out = sort_pool(default_model_path(), root / "train", scratch / "default-sorted")
    return _case("default", default_model_path(), out, pool_truth, test_truth)


def _case(name, model, out, pool_truth, test_truth) -> dict:
    wrong = wrong_in_pool(out, pool_truth)
    before = test_error(model, test_truth)
    print(f"{name}: {len(wrong)} of {len(pool_truth)} pool images wrong or uncertain; "
          f"test error {before['error']:.3f}", flush=True)  # fmt: skip
    return {"name": name, "model": model, "out": out, "pool_truth": pool_truth,
            "test_truth": test_truth, "wrong": wrong, "error_before": before["error"],
            "uncertain_before": before["uncertain"],
            "top1_error_before": before["top1_error"]}  # fmt: skip


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="+", default=["default", "stamps"],
                        choices=["default", "stamps"])  # fmt: skip
    parser.add_argument("--n", type=int, nargs="+", default=[10, 30, 100], help="stamps case")
    parser.add_argument("--default-n", type=int, nargs="+", default=[3, 30])
    parser.add_argument("--train-share", type=float, default=0.3)
    parser.add_argument(
        "--train-per-category", type=int, metavar="K",
        help="stamps: the first model learns from K images of each category instead of "
        "--train-share of them (10: what a user starts with)",
    )  # fmt: skip
    parser.add_argument("--pool-share", type=float, default=0.6, help="stamps: of the rest")
    parser.add_argument("--pool-per-category", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--ceiling", action="store_true",
        help="stamps: also train on the first model's images and the whole pool, truly labelled",
    )  # fmt: skip
    parser.add_argument(
        "--correction-weight", type=int,
        help="how many times each correction counts in a quick retrain's fits; default: "
        "Sorter's own (sorter.core.learning.quick.CORRECTION_WEIGHT); the default model's "
        "last-layer retrain has weights of its own",
    )  # fmt: skip
    parser.add_argument(
        "--workdir", type=Path, help="keep the first model and sorts here and reuse them next time"
    )
    args = parser.parse_args()
    scratch = args.workdir or Path(tempfile.mkdtemp(prefix="retrain-loop-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        return _run(args, scratch)
    finally:
        if args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)


def _run(args, scratch: Path) -> int:
    from common import machine, write_json

    from sorter.core.learning import quick

    if args.correction_weight is not None:
        if args.correction_weight < 1:
            raise SystemExit("--correction-weight must be 1 or more")
        quick.CORRECTION_WEIGHT = args.correction_weight
    print(f"each correction counts {quick.CORRECTION_WEIGHT} time(s) in a quick retrain's fits")

    rows, ceilings = [], {}
    for name in args.case:
        case = default_case(args, scratch) if name == "default" else stamps_case(args, scratch)
        if "ceiling" in case:
            ceilings[name] = {"error_before": case["error_before"], **case["ceiling"]}
        for n in args.default_n if name == "default" else args.n:
            row = run_one(n, case, args.seed, scratch)
            rows.append(row)
            print("\n".join(row["table"]))
            print(f"{name} N={n}: corrected {row['corrected']}, promoted {row['promoted']}, "
                  f"categories kept {row['categories_kept']}; test error "
                  f"{row['error_before']:.3f} -> {row['error_after']:.3f}; "
                  f"retrain {row['retrain_s']} s\n  {row['verdict']}", flush=True)  # fmt: skip
    print(f"\n{'case':<8} {'N':>4} {'fixed':>6} {'promoted':>9} {'cats':>6} {'test':>5} "
          f"{'before':>7} {'after':>7} {'rel':>6} {'refused':>8} {'retrain s':>10} "
          f"{'uncertain':>15} {'top-1 error':>15}")  # fmt: skip
    for r in rows:
        rel = (r["error_before"] - r["error_after"]) / r["error_before"] if r["error_before"] else 0
        print(f"{r['case']:<8} {r['n']:>4} {r['corrected']:>6} {r['promoted']!s:>9} "
              f"{r['categories_kept']:>6} {r['test_images']:>5} {r['error_before']:>7.3f} "
              f"{r['error_after']:>7.3f} {rel:>+6.2f} {_fmt(r['error_refused_model']):>8} "
              f"{r['retrain_s']:>10} "
              f"{r['uncertain_before']:>7.3f}->{r['uncertain_after']:<7.3f} "
              f"{r['top1_error_before']:>7.3f}->{r['top1_error_after']:<7.3f}")  # fmt: skip
    print("error = share of untouched test images not in exactly their true folder (after: the "
          "model current after the retrain); rel = relative cut in error; refused = the test "
          "error of a refused candidate, had it been promoted; uncertain = share left in "
          "uncertain; top-1 error = share whose best category is wrong, thresholds "
          "aside")  # fmt: skip
    write_json(
        {"machine": machine(), "rows": rows, "ceilings": ceilings},
        ROOT / "bench" / "out" / "retrain_loop.json",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
