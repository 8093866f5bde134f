"""How far a threshold can take the single-label model on the bench's sets, and what other
rules for uncertain would give on the same draws.

For every draw (the sets and seeds of `train_quality.py --only sets`), this trains a quick model
through the core, keeps the out-of-fold scores its threshold was chosen from
(`TrainResult.judged_scores`), and scores the draw's test images with the saved model. Then, on
those scores only:

- **Confidence measures.** Sorter places an image when its best category's score passes the
  threshold. The hindsight ceiling (set_bench.hindsight_exact: the best exact-folder share any one
  threshold gives a draw while its placed-precision stays at its top-1 + 5 points, chosen with the
  test answers in hand) is computed for the best score and for two other ways to say how sure the
  model is: the best score's margin over the second, and one minus the scores' entropy (0 when
  they are even). A measure with a higher ceiling ranks right answers above wrong ones better.
- **Threshold aims.** The threshold the shipped rule chooses (metrics.exclusive_thresholds:
  the lowest whose out-of-fold placed-precision clears its goal by metrics.PRECISION_Z binomial
  standard errors), and the same rule with other allowances z (0: the rule before session 19).
  Each is applied to the test images: exact folder, placed-precision, coverage, pooled, and
  placed-precision minus its goal (test top-1 + 5 points) draw by draw.

    PYTHONPATH=. .venv/bin/python bench/rule_frontier.py --sets stamps clipart --sizes 10 full \
        [--repeats 20] [--first-seed 0] [--tag X]
    PYTHONPATH=. .venv/bin/python bench/rule_frontier.py --from bench/out/rule_frontier.npz

Writes bench/out/rule_frontier{tag}.npz (every draw's scores, to re-read with --from) and
rule_frontier{tag}.json (the figures).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT_DIR, machine, write_json
from set_bench import hindsight_exact
from targets import by_draw

from sorter.core.training import metrics as th

GAIN = 0.05  # the bench's precision target: top-1 + 5 points
MEASURES = ("best score", "margin", "1 - entropy")
AIMS = ("shipped", "z 0", "z 0.25", "z 0.5", "z 1")


def confidence(scores: np.ndarray, measure: str) -> np.ndarray:
    """How sure the model is of each row's best category, by `measure` (higher: surer)."""
    ordered = -np.sort(-scores, axis=1)
    if measure == "best score":
        return ordered[:, 0]
    if measure == "margin":
        return ordered[:, 0] - ordered[:, 1]
    if measure == "1 - entropy":
        p = np.clip(scores, 1e-12, 1.0)
        return 1.0 + (p * np.log(p)).sum(axis=1) / np.log(scores.shape[1])
    raise ValueError(f"unknown measure {measure!r}")


def aimed_threshold(
    scores: np.ndarray, targets: np.ndarray, categories: Sequence[str], aim: str
) -> float:
    """The threshold Sorter's rule (metrics.exclusive_thresholds) chooses from (out-of-fold)
    scores when the placed images' precision must clear its goal by `aim`'s z standard errors
    ("shipped": metrics.PRECISION_Z)."""
    if aim == "shipped":
        z = th.PRECISION_Z
    elif aim.startswith("z "):
        z = float(aim.split()[1])
    else:
        raise ValueError(f"unknown aim {aim!r}")
    return next(iter(th.exclusive_thresholds(scores, targets, categories, z=z).values()))


def placed_counts(test: np.ndarray, truth: np.ndarray, threshold: float) -> tuple[int, int, int]:
    """(placed in exactly the right folder, placed, images) when Sorter's single-label decision
    (metrics.decisions, as sorting decides) uses `threshold` for every category."""
    names = [str(i) for i in range(test.shape[1])]
    chosen = th.decisions(test, names, dict.fromkeys(names, threshold), exclusive=True)
    right = chosen[np.arange(len(truth)), truth]  # one folder at most: right means exact
    return int(np.sum(right)), int(np.sum(chosen.any(axis=1))), len(truth)


def analyse(draws: list[dict]) -> dict:
    """Every measure's mean hindsight ceiling and every aim's figures over the draws of one row."""
    ceilings = {m: [] for m in MEASURES}
    aims = {a: {"counts": np.zeros(3, dtype=int), "margins": []} for a in AIMS}
    top1 = []
    for draw in draws:
        test, truth = draw["test"], draw["truth"]
        right = test.argmax(axis=1) == truth
        top1.append(float(np.mean(right)))
        for measure in MEASURES:
            pairs = list(zip(confidence(test, measure).tolist(), right.tolist(), strict=True))
            ceilings[measure].append(hindsight_exact(pairs, GAIN))
        categories = [str(i) for i in range(test.shape[1])]
        for aim in AIMS:
            threshold = aimed_threshold(draw["oof"], draw["targets"], categories, aim)
            counts = placed_counts(test, truth, threshold)
            aims[aim]["counts"] += counts
            if counts[1]:  # a draw that places nothing has no precision (as targets._target)
                aims[aim]["margins"].append(counts[0] / counts[1] - (top1[-1] + GAIN))
    out = {"draws": len(draws), "top1": float(np.mean(top1)), "ceilings": {}, "aims": {}}
    for measure, values in ceilings.items():
        out["ceilings"][measure] = float(np.mean(values))
    for aim, found in aims.items():
        right, placed, images = (int(v) for v in found["counts"])
        out["aims"][aim] = {
            "exact_folder": right / images,
            "placed_precision": right / placed if placed else None,
            "coverage": placed / images,
            "precision_margins": found["margins"],
        }
    return out


def print_row(name: str, row: dict) -> None:
    ceilings = ", ".join(f"{m} {v:.3f}" for m, v in row["ceilings"].items())
    print(f"{name}: {row['draws']} draws, test top-1 {row['top1']:.3f}")
    print(f"  hindsight ceiling by confidence measure: {ceilings}")
    for aim, f in row["aims"].items():
        precision = "-" if f["placed_precision"] is None else f"{f['placed_precision']:.3f}"
        print(
            f"  {aim:15s} exact {f['exact_folder']:.3f}  precision {precision}  coverage "
            f"{f['coverage']:.3f}  precision - (top-1 + 5){by_draw(f['precision_margins'])}"
        )


def run_draws(sets: list[str], sizes: list[str], seeds: list[int], n_test: int) -> dict:
    """{"set@size": [draw, ...]}: each draw's out-of-fold and test scores, through the core."""
    from set_bench import SetMaker

    from sorter.core.model.modelfile import load_model
    from sorter.core.model.predict import score_images
    from sorter.core.training.data import load_training_data
    from sorter.core.training.train import TrainOptions, train

    maker = SetMaker(n_test)
    rows: dict[str, list[dict]] = {}
    for name in sets:
        for size in sizes:
            for seed in seeds:
                with tempfile.TemporaryDirectory(prefix="rule-frontier-") as tmp:
                    work = Path(tmp)
                    draw = maker.make(name, size, work / "data", seed)
                    result = train(
                        load_training_data(draw.train), work / "m.pth",
                        TrainOptions(mode="quick", seed=seed),
                    )  # fmt: skip
                    model = load_model(result.model_path, device="cpu")
                    paths = list(draw.test_labels)
                    scored = {s.path.resolve(): s.scores for s in score_images(model, paths)}
                    rows.setdefault(f"{name}@{size}", []).append({
                        "seed": seed,
                        "oof": result.judged_scores,
                        "targets": result.judged_targets,
                        "test": np.array([scored[p.resolve()] for p in paths], dtype=np.float32),
                        "truth": np.array([
                            model.categories.index(next(iter(draw.test_labels[p])))
                            for p in paths
                        ]),
                    })  # fmt: skip
                print(f"{name}@{size} seed {seed} done", flush=True)
    return rows


def save_npz(path: Path, rows: dict[str, list[dict]]) -> None:
    arrays = {
        f"{row}|{draw['seed']}|{key}": draw[key]
        for row, draws in rows.items()
        for draw in draws
        for key in ("oof", "targets", "test", "truth")
    }
    np.savez_compressed(path, **arrays)


def load_npz(path: Path) -> dict[str, list[dict]]:
    rows: dict[str, dict[int, dict]] = {}
    with np.load(path) as saved:
        for key in saved.files:
            row, seed, what = key.split("|")
            rows.setdefault(row, {}).setdefault(int(seed), {"seed": int(seed)})[what] = saved[key]
    return {row: [draws[s] for s in sorted(draws)] for row, draws in rows.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=["stamps", "clipart"])
    parser.add_argument("--sizes", nargs="+", default=["10", "full"])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--n-test", type=int, default=8, help="test images per category")
    parser.add_argument("--from", dest="saved", type=Path, help="re-read a saved .npz")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    if args.saved:
        rows = load_npz(args.saved)
    else:
        seeds = list(range(args.first_seed, args.first_seed + args.repeats))
        rows = run_draws(args.sets, args.sizes, seeds, args.n_test)
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        save_npz(OUT_DIR / f"rule_frontier{args.tag}.npz", rows)
    figures = {name: analyse(draws) for name, draws in rows.items()}
    for name, row in figures.items():
        print_row(name, row)
    if not args.saved:
        path = write_json(
            {"machine": machine(), "rows": figures}, OUT_DIR / f"rule_frontier{args.tag}.json"
        )
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
