"""Quick mode against logistic regression over many seeded splits, paired, with a 95% interval.

One 78-image validation set moves top-1 accuracy by 1.3 points per image, and the two contenders
swap places from one seed to the next, so a single split cannot say which is better. Here the
frozen MobileNetV2 features are computed once (the same call quick mode makes), then for every
seed both contenders train on the same training part and are scored on the same validation part:

- quick: quick mode's own head training (`train_quick.train_head` with quick mode's default
  settings, then `head_scores`), exactly what `sorter train --mode quick` runs after its features;
- logistic regression (multinomial): standardised features, C chosen by 5-fold cross-validation
  on the training part (`LogisticRegressionCV`), the baseline of bench/train_quality.py;
- logistic regression (one-vs-rest): the same, one binary model per category, which is the form
  of Sorter's multi-label model (one sigmoid per category).

    .venv/bin/python bench/train_splits.py [--seeds 20]

Prints the per-seed table, the means, and the paired difference with its 95% interval; writes
bench/out/train_splits.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch
from common import OUT_DIR, machine, write_json
from train_quality import photo_stamps

from sorter.core.model.meta import IMAGENET, Preprocessing
from sorter.core.training.backbone import find_pretrained_weights, pretrained_body
from sorter.core.training.data import split_data
from sorter.core.training.quick import HeadSettings, extract_features, head_scores, train_head

# Two-sided 95% Student t quantiles for n - 1 degrees of freedom (n = number of seeds).
T95 = {4: 2.776, 9: 2.262, 14: 2.145, 19: 2.093, 29: 2.045, 39: 2.023}


def logistic(x_train, y_train, seed: int, one_vs_rest: bool):
    """Standardised logistic regression with C chosen by 5-fold CV on the training part."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cv = LogisticRegressionCV(
        Cs=[0.001, 0.01, 0.1, 1.0], cv=5, max_iter=3000, random_state=seed, n_jobs=2
    )
    model = make_pipeline(StandardScaler(), OneVsRestClassifier(cv) if one_vs_rest else cv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on the weakest C
        return model.fit(x_train, y_train)


def top1(predicted: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(predicted == truth))


def interval(diffs: list[float]) -> tuple[float, float]:
    """Mean paired difference and the half-width of its 95% interval."""
    n = len(diffs)
    mean = statistics.fmean(diffs)
    if n < 2:
        return mean, float("nan")
    t = T95.get(n - 1, 1.96)
    return mean, t * statistics.stdev(diffs) / n**0.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--valid-pct", type=float, default=0.2)
    parser.add_argument("--min-per-category", type=int, default=15)
    args = parser.parse_args()
    data = photo_stamps(args.min_per_category)
    pre = Preprocessing(224, "crop", IMAGENET)
    body = pretrained_body("mobilenet_v2", find_pretrained_weights("mobilenet_v2"))
    started = time.perf_counter()
    features, bad = extract_features([i.path for i in data.items], body, pre, torch.device("cpu"))
    assert not bad, bad
    print(f"features of {len(data.items)} photos in {time.perf_counter() - started:.1f} s")
    targets = torch.from_numpy(data.targets())
    labels = data.targets().argmax(axis=1)
    x = features.numpy()
    rows = []
    print(" seed  quick  LR multinomial  LR one-vs-rest")
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        split = split_data(data, args.valid_pct, seed)
        tr, va = split.train, split.valid
        result = train_head(
            features[tr], targets[tr], features[va], targets[va],
            n_features=1280, settings=HeadSettings(), seed=seed,
        )  # fmt: skip
        scores = head_scores(result.head, features[va]).numpy()
        quick = top1(scores.argmax(1), labels[va])
        multi = top1(logistic(x[tr], labels[tr], seed, False).predict(x[va]), labels[va])
        ovr = top1(logistic(x[tr], labels[tr], seed, True).predict(x[va]), labels[va])
        rows.append({"seed": seed, "valid": len(va), "quick": quick, "lr": multi, "lr_ovr": ovr})
        print(f" {seed:4d}  {quick:.3f}  {multi:.3f}           {ovr:.3f}", flush=True)
    summary = {}
    for name in ("quick", "lr", "lr_ovr"):
        summary[name] = round(statistics.fmean(r[name] for r in rows), 4)
    for other in ("lr", "lr_ovr"):
        mean, half = interval([r["quick"] - r[other] for r in rows])
        summary[f"quick_minus_{other}"] = {"mean": round(mean, 4), "ci95": round(half, 4)}
        wins = sum(r["quick"] > r[other] for r in rows), sum(r["quick"] < r[other] for r in rows)
        summary[f"quick_vs_{other}_wins_losses"] = wins
        print(
            f"quick - {other}: {100 * mean:+.1f} points (95% interval +/- {100 * half:.1f}); "
            f"quick better on {wins[0]} splits, worse on {wins[1]}"
        )
    print(
        f"means: quick {summary['quick']:.3f}, LR {summary['lr']:.3f}, OvR {summary['lr_ovr']:.3f}"
    )
    figures = {"machine": machine(), "images": len(data.items), "rows": rows, "summary": summary}
    name = "train_splits.json" if args.first_seed == 0 else f"train_splits_{args.first_seed}.json"
    path = write_json(figures, OUT_DIR / name)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
