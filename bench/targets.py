"""The issue's targets for the set bench: each checked on the pooled figures, with how it
holds draw by draw, and whether one threshold could meet precision and exact folder together.

    PYTHONPATH=. .venv/bin/python bench/train_quality.py --targets-from bench/out/X.json [...]
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from set_bench import describe, pool


def _check(
    what: str,
    value: float | None,
    bound: float,
    at_most: bool = False,
    draws: str = "",
    form: str = ".3f",
) -> str:
    if value is None:
        return f"{what}: nothing placed: NOT MET"
    met = value <= bound if at_most else value >= bound
    sign = "<=" if at_most else ">="
    return f"{what}: {value:{form}} {sign} {bound:{form}}{draws}: {'met' if met else 'NOT MET'}"


def by_draw(margins: list[float]) -> str:
    """How a pooled target check holds draw by draw: the mean margin in points with its
    standard error, and in how many draws it is met (a margin of 0 or more). Empty for fewer
    than two draws. A pooled miss or pass within about two standard errors is noise."""
    if len(margins) < 2:
        return ""
    points = [100 * m for m in margins]
    error = statistics.stdev(points) / len(points) ** 0.5
    met = sum(m >= -1e-9 for m in margins)
    return (
        f" (by draw: {statistics.fmean(points):+.1f} ± {error:.1f} points, "
        f"met in {met} of {len(margins)})"
    )


def _target(what: str, entry: dict, measure) -> str:
    """A ">=" target checked on the pooled figures and draw by draw: measure(figures, baseline)
    gives (value, bound), value None when there is nothing to measure."""
    margins = []
    for run in entry.get("runs", []):  # pool() gave every draw its figures
        value, bound = measure(run["figures"], run["baseline"])
        if value is not None:
            margins.append(value - bound)
    value, bound = measure(entry["figures"], entry["baseline"])
    return _check(what, value, bound, draws=by_draw(margins))


def _joint_lines(key: str, entry: dict, baselines: list[tuple[str, float]]) -> list[str]:
    """Whether any threshold could meet the precision and exact-folder targets together: the
    hindsight ceiling (the most placed exactly while precision holds its goal, the threshold
    picked on the test answers) against each exact-folder goal. Below it, no threshold rule
    can meet both on these scores; only a model that ranks its right answers higher can."""
    ceiling = entry.get("hindsight_exact")
    if ceiling is None:
        return []
    return [
        f"  {key} hindsight ceiling {ceiling:.3f} vs exact-folder goal {lr - 0.05:.3f} ({name}): "
        + ("one threshold could meet both" if ceiling >= lr - 0.05 else "no threshold meets both")
        for name, lr in baselines
    ]


def target_lines(sets: dict[str, dict], speed: dict[str, float]) -> list[str]:
    """The issue's targets, met or not, for every single-label set and size (with how they
    hold draw by draw), and the speed."""
    lines = []
    for key, entry in sets.items():
        if "all_labels_found" in entry["figures"]:
            continue  # the targets are for single-label data
        f, base = entry["figures"], entry["baseline"]
        # The logistic regressions: on MobileNetV2's features ("LR"), and where the model's
        # network is another, on its own features ("LR same").
        named = [(n, k) for n, k in (("LR", "top1"), ("LR same", "same_top1"))
                 if base.get(k) is not None]  # fmt: skip
        for name, k in named:
            lines.append(_target(
                f"{key} exact folder >= {name} top-1 - 5 points", entry,
                lambda fig, b, k=k: (fig["exact_folder"], b[k] - 0.05),
            ))  # fmt: skip
        lines.append(_check(f"{key} 2+ folders <= 3%", f["multi_folder_share"], 0.03, at_most=True))
        lines.append(_target(
            f"{key} placed-precision >= top-1 + 5 points", entry,
            lambda fig, b: (fig["placed_precision"], fig["top1"] + 0.05),
        ))  # fmt: skip
        lines += _joint_lines(key, entry, [(n, base[k]) for n, k in named])
        for name, k in named:
            lines.append(_target(
                f"{key} (stretch) top-1 >= {name} top-1 + 3 points", entry,
                lambda fig, b, k=k: (fig["top1"], b[k] + 0.03),
            ))  # fmt: skip
    for images, seconds in speed.items():
        lines.append(_check(
            f"quick training of {images} images, seconds", seconds, 60, True, form=".1f"
        ))  # fmt: skip
    return lines


def print_saved(paths: list[Path]) -> int:
    """The target checks of saved sets runs, recomputed. Several files: their sets together,
    and the draws of a set and size found in more than one file pooled (each seed once)."""
    runs: dict[str, dict[int, dict]] = {}
    speed: dict = {}
    for path in paths:
        saved = json.loads(path.read_text(encoding="utf-8"))
        for key, entry in saved.get("sets", {}).items():
            runs.setdefault(key, {}).update({run["seed"]: run for run in entry["runs"]})
        speed.update(saved.get("speed_seconds", {}))
    sets = {}
    for key, by_seed in runs.items():
        drawn = [by_seed[seed] for seed in sorted(by_seed)]
        sets[key] = pool(drawn, drawn[0]["multi_label_data"])
        print("\n".join(describe(key, sets[key])))
    print("targets:\n  " + "\n  ".join(target_lines(sets, speed)))
    return 0
