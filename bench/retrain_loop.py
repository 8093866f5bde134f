"""The correction loop on real photos: sort, correct N wrong images, retrain, re-sort; error rates.

Data: Debian's tuxpaint-stamps-default (`apt-get install -y tuxpaint-stamps-default`); the
category of an image is its top folder under /usr/share/tuxpaint/stamps (folders with at least
MIN_PER_CATEGORY images). A seeded stratified split gives a training set for the first model and
a held-out set that is sorted. For each N, starting again from the same first model: the first N
held-out images that were wrong or uncertain (in a seeded random order) are corrected from the
ground truth through the queue, `retrain` runs (quick mode, its own promotion rule), and the
held-out output is re-sorted. An image counts as an error when its folders are not exactly its
true category (uncertain is an error). "after, not corrected" leaves the corrected images out,
so it measures what the corrections taught about other photos.

    .venv/bin/python bench/retrain_loop.py [--n 10 30 100] [--train-share 0.3]
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


def split(dataset: dict[str, list[Path]], share: float, seed: int):
    """Stratified: `share` of each category trains the first model, the rest is held out."""
    rng = random.Random(seed)
    train, held = [], []
    for cat, paths in dataset.items():
        paths = list(paths)
        rng.shuffle(paths)
        cut = max(2, round(share * len(paths)))
        train += [(p, cat) for p in paths[:cut]]
        held += [(p, cat) for p in paths[cut:]]
    return train, held


def link_tree(items, root: Path, flat: bool) -> dict[Path, str]:
    """Copies of the images (category folders, or one flat folder); returns copy -> category."""
    truth = {}
    for index, (path, cat) in enumerate(items):
        name = f"{index:04d}-{path.name}"
        dest = root / name if flat else root / cat / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
        truth[dest] = cat
    return truth


def folders_of(out: Path) -> dict[str, set[str]]:
    """{image file name: folders under OUT holding a copy of it}."""
    where: dict[str, set[str]] = defaultdict(set)
    for path in out.rglob("*.png"):
        if ".sorter" not in path.parts:
            where[path.name].add(path.parent.relative_to(out).as_posix())
    return where


def errors(out: Path, truth: dict[Path, str], skip: set[str] = frozenset()) -> tuple[int, int]:
    """(wrong or uncertain, images) over the held-out set, leaving out names in `skip`."""
    where = folders_of(out)
    names = [p for p in truth if p.name not in skip]
    wrong = sum(where.get(p.name, set()) != {truth[p]} for p in names)
    return wrong, len(names)


def first_sort(base_model: Path, held_src: Path, scratch: Path) -> Path:
    """Sort the held-out set once with the first model; each N starts from a copy of it."""
    from sorter.core.model.modelfile import load_model
    from sorter.core.sorting.sort import sort_folder

    out = scratch / "sorted-first"
    if not (out / ".sorter").is_dir():
        sort_folder(held_src, out, model=load_model(base_model, device="auto"))
    return out


def run_one(n: int, base_model: Path, first: Path, truth, seed: int, scratch: Path) -> dict:
    from sorter.core.learning.queue import CorrectionQueue
    from sorter.core.learning.retrain import retrain
    from sorter.core.model.modelfile import load_model
    from sorter.core.sorting.resort import apply_resort, plan_resort

    user = scratch / f"user-{n}"
    shutil.rmtree(user, ignore_errors=True)
    isolate_user_folders(user)
    out = scratch / f"sorted-{n}"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(first, out)  # the journal names sources by absolute path: the copy works
    before, total = errors(out, truth)
    where = folders_of(out)
    bad = [p for p in truth if where.get(p.name, set()) != {truth[p]}]
    random.Random(seed).shuffle(bad)
    chosen = bad[:n]
    queue = CorrectionQueue()
    for path in chosen:
        queue.add(path, [truth[path]])
    started = time.perf_counter()
    result = retrain(base_model, "quick")
    seconds = time.perf_counter() - started
    model = load_model(result.current_model, device="auto")
    apply_resort(plan_resort(out, model))
    after, _ = errors(out, truth)
    skip = {p.name for p in chosen}
    after_rest, rest = errors(out, truth, skip)
    return {
        "n": n,
        "corrected": len(chosen),
        "promoted": result.promoted,
        "verdict": result.candidate.reason,
        "held_out": total,
        "error_before": before / total,
        "error_after": after / total,
        "error_after_not_corrected": after_rest / rest if rest else float("nan"),
        "error_before_not_corrected": (before - len(chosen)) / rest if rest else float("nan"),
        "retrain_s": round(seconds, 1),
        "table": result.candidate.table(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 30, 100])
    parser.add_argument("--train-share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--workdir", type=Path, help="keep the first model and sort here and reuse them next time"
    )
    args = parser.parse_args()
    dataset = load_dataset()
    train_items, held_items = split(dataset, args.train_share, args.seed)
    scratch = args.workdir or Path(tempfile.mkdtemp(prefix="retrain-loop-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        return _run(args, dataset, train_items, held_items, scratch)
    finally:
        if args.workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)


def _run(args, dataset, train_items, held_items, scratch: Path) -> int:
    from common import machine, write_json

    from sorter.core.training.data import load_training_data
    from sorter.core.training.train import TrainOptions, train

    isolate_user_folders(scratch / "user-base")
    data = scratch / "train"
    held_src = scratch / "held"
    base = scratch / "base.pth"
    if not base.is_file():
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(held_src, ignore_errors=True)
        link_tree(train_items, data, flat=False)
    truth = (
        link_tree(held_items, held_src, flat=True)
        if not held_src.is_dir()
        else {held_src / f"{i:04d}-{p.name}": cat for i, (p, cat) in enumerate(held_items)}
    )
    print(f"{len(dataset)} categories: {', '.join(f'{c} {len(p)}' for c, p in dataset.items())}")
    print(f"first model trains on {len(train_items)} images; {len(held_items)} held out")
    started = time.perf_counter()
    if not base.is_file():
        train(load_training_data(data), base, TrainOptions(mode="quick"))
        print(f"first model trained in {time.perf_counter() - started:.0f} s", flush=True)
    first = first_sort(base, held_src, scratch)
    rows = []
    for n in args.n:
        row = run_one(n, base, first, truth, args.seed, scratch)
        rows.append(row)
        print("\n".join(row["table"]))
        print(
            f"N={n}: corrected {row['corrected']}, promoted {row['promoted']}; error "
            f"{row['error_before']:.3f} -> {row['error_after']:.3f} "
            f"(all {row['held_out']} held out), "
            f"{row['error_before_not_corrected']:.3f} -> {row['error_after_not_corrected']:.3f} "
            f"(not corrected); retrain {row['retrain_s']} s",
            flush=True,
        )
    print(f"\n{'N':>4} {'fixed':>6} {'promoted':>9} {'before':>8} {'after':>8} "
          f"{'before*':>8} {'after*':>8} {'retrain s':>10}")  # fmt: skip
    for r in rows:
        print(f"{r['n']:>4} {r['corrected']:>6} {r['promoted']!s:>9} {r['error_before']:>8.3f} "
              f"{r['error_after']:>8.3f} {r['error_before_not_corrected']:>8.3f} "
              f"{r['error_after_not_corrected']:>8.3f} {r['retrain_s']:>10}")  # fmt: skip
    print("error = share of held-out images not in exactly their true folder; * = uncorrected only")
    write_json({"machine": machine(), "rows": rows}, ROOT / "bench" / "out" / "retrain_loop.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
