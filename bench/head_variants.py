"""Heads on MobileNetV2 for ~10 images per category: linear probes, augmented views, last blocks.

Every variant fits on a set's training images only (regularisation chosen by 5-fold CV on them)
and is scored on its test images; top-1 pooled over all test images of all seeds, the mean and
sample sd over seeds, and the CPU and wall seconds of the fits (features not included; the
7x7-map extraction is timed separately, per image and view).

Sets: bench/stamp_sets.py folder sets (6 EVERYDAY categories, 10 train / up to 8 test images
each, seeds 0..14), read from --sets (default /work/cache/sets10: seed{N}/ folders and seed{N}.npz
pooled features). Built with stamp_sets when absent:

    apt-get install -y tuxpaint-stamps-default mate-backgrounds
    PYTHONPATH=. .venv/bin/python bench/head_variants.py [--seeds 15] [--only probe,ft18]

The maps entering block 17 (views: plain, mirror, four zoomed corner crops for training images;
plain and mirror for test images) are cached under --maps (default /work/cache/blocks).
Writes bench/out/head_variants.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from blocks import (
    VIEWS,
    BlockSettings,
    cache_maps,
    choose_decay,
    fit_blocks,
    fit_linear,
    multi_hot,
    pooled,
    split_body,
)
from common import OUT_DIR, machine, write_json

from sorter.core.model.meta import IMAGENET, Preprocessing
from sorter.core.training.backbone import find_pretrained_weights, pretrained_body

PRE = Preprocessing(224, "crop", IMAGENET)
TRAIN_VIEWS = tuple(VIEWS)  # plain, mirror, zoom00..zoom11
TEST_VIEWS = ("plain", "mirror")


def build_sets(root: Path, seeds: int) -> None:
    """The folder sets as train_quality.py --only folders draws them, where missing."""
    from stamp_sets import EVERYDAY, build_set, load_backgrounds, stamp_photos

    stamps = stamp_photos(13)
    categories = tuple(c for c in EVERYDAY if c in stamps)
    backgrounds = load_backgrounds()
    for seed in range(seeds):
        if not (root / f"seed{seed}" / "train").is_dir():
            build_set(root / f"seed{seed}", stamps, categories, 10, 8, seed, backgrounds)


def load_seed(sets: Path, maps_dir: Path, seed: int, body: torch.nn.Sequential) -> dict:
    """A seed's maps (cached under maps_dir), labels and frozen pooled features per view."""
    cache = maps_dir / f"seed{seed}.pt"
    folder = sets / f"seed{seed}"
    train = sorted((folder / "train").rglob("*.jpg"))
    test = sorted((folder / "test").rglob("*.jpg"))
    categories = sorted({p.parent.name for p in train})
    if not cache.exists():
        cpu = torch.device("cpu")
        tr, _ = cache_maps(train, body, PRE, cpu, views=TRAIN_VIEWS)
        te, _ = cache_maps(test, body, PRE, cpu, views=TEST_VIEWS)
        maps_dir.mkdir(parents=True, exist_ok=True)
        torch.save({"train": tr, "test": te, "views": TRAIN_VIEWS}, cache)
    maps = torch.load(cache)
    tail = split_body(body)[1].eval()
    with torch.no_grad():
        f_train = torch.stack([pooled(tail, maps["train"][:, v]) for v in range(6)], dim=1)
        f_test = torch.stack([pooled(tail, maps["test"][:, v]) for v in range(2)], dim=1)
    return {
        "maps_train": maps["train"],
        "maps_test": maps["test"],
        "f_train": f_train,
        "f_test": f_test,
        "y_train": torch.tensor([categories.index(p.parent.name) for p in train]),
        "y_test": torch.tensor([categories.index(p.parent.name) for p in test]),
    }


def logistic_baseline(d: dict, seed: int) -> np.ndarray:
    """bench/train_quality.py's logistic_top1 model (sklearn, C by 5-fold CV) on plain features."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    warnings.filterwarnings("ignore", category=FutureWarning, module="sklearn")
    model = make_pipeline(
        StandardScaler(),
        LogisticRegressionCV(Cs=[0.001, 0.01, 0.1, 1.0], cv=5, max_iter=3000, random_state=seed),
    )
    model.fit(d["f_train"][:, 0].numpy(), d["y_train"].numpy())
    return model.predict_proba(d["f_test"][:, 0].numpy())


def probe(views: tuple[int, ...], cols: slice = slice(None), standardize: bool = True,
          tta: bool = False) -> Callable[[dict, int], np.ndarray]:  # fmt: skip
    """A linear softmax probe on the given training views (and feature columns)."""

    def run(d: dict, seed: int) -> np.ndarray:
        x = d["f_train"][:, list(views), cols]
        y = multi_hot(d["y_train"], 6)
        decay = choose_decay(x, y, True, BlockSettings().head_decays, seed, standardize=standardize)
        head = fit_linear(x.flatten(0, 1), y.repeat_interleave(len(views), 0), True, decay,
                          standardize=standardize)  # fmt: skip
        return _scores(lambda f: head.logits(f[:, cols]), d["f_test"], tta)

    return run


def _scores(logits: Callable[[torch.Tensor], torch.Tensor], f_test: torch.Tensor,
            tta: bool) -> np.ndarray:  # fmt: skip
    probs = torch.softmax(logits(f_test[:, 0]), dim=1)
    if tta:  # the mirrored test image's scores averaged in: one more forward when sorting
        probs = (probs + torch.softmax(logits(f_test[:, 1]), dim=1)) / 2
    return probs.numpy()


def blocks(
    views: tuple[int, ...], tta: bool = False, **settings
) -> Callable[[dict, int], np.ndarray]:
    """Last block(s) fine-tuned with a probe-started linear head (bench/blocks.py)."""

    def run(d: dict, seed: int) -> np.ndarray:
        maps, options = d["maps_train"][:, list(views)], BlockSettings(**settings)
        result = fit_blocks(maps, d["y_train"], body=BODY, exclusive=True, settings=options,
                            seed=seed)  # fmt: skip
        tail = split_body(result.body)[1]
        with torch.no_grad():
            f_test = torch.stack([pooled(tail, d["maps_test"][:, v]) for v in range(2)], dim=1)
            return _scores(result.linear.logits, f_test, tta)

    return run


def prototype_mix(views: tuple[int, ...]) -> Callable[[dict, int], np.ndarray]:
    """The probe's probabilities averaged with a nearest-class-mean (cosine) classifier's."""
    linear = probe(views)

    def run(d: dict, seed: int) -> np.ndarray:
        p_probe = linear(d, seed)
        x = d["f_train"][:, list(views)]
        mean, std = x.flatten(0, 1).mean(0), x.flatten(0, 1).std(0).clamp_min(1e-3)
        z = torch.nn.functional.normalize((x.mean(1) - mean) / std, dim=1)
        protos = torch.stack([z[d["y_train"] == c].mean(0) for c in range(6)])
        zt = torch.nn.functional.normalize((d["f_test"][:, 0] - mean) / std, dim=1)
        p_proto = torch.softmax(10.0 * zt @ torch.nn.functional.normalize(protos, dim=1).T, 1)
        return (p_probe + p_proto.numpy()) / 2

    return run


PLAIN, MIRROR, ALL = (0,), (0, 1), tuple(range(6))
AVG, MAX = slice(1280, 2560), slice(0, 1280)  # fastai's concat pool puts max first
VARIANTS: dict[str, tuple[str, Callable[[dict, int], np.ndarray]]] = {
    "logistic": (
        "sklearn LogisticRegressionCV, standardised avg+max (baseline)",
        logistic_baseline,
    ),
    "probe": ("linear softmax probe, L-BFGS, decay by 5-fold CV, avg+max std.", probe(PLAIN)),
    "probe_avg": ("same, avg-pooled features only", probe(PLAIN, AVG)),
    "probe_max": ("same, max-pooled features only", probe(PLAIN, MAX)),
    "probe_raw": ("same, avg+max not standardised", probe(PLAIN, standardize=False)),
    "probe_mirror": ("probe + mirrored copies as training rows", probe(MIRROR)),
    "probe_views": ("probe + mirrored + 4 zoomed corner crops (x6 rows)", probe(ALL)),
    "probe_mirror_tta": (
        "probe_mirror, test score = mean(plain, mirrored)",
        probe(MIRROR, tta=True),
    ),
    "probe_views_tta": ("probe_views, test score = mean(plain, mirrored)", probe(ALL, tta=True)),
    "proto_mix": (
        "probe_mirror averaged with a cosine class-mean classifier",
        prototype_mix(MIRROR),
    ),
    "ft18": ("block 18 + head fine-tuned, plain+mirror rows", blocks(MIRROR, tune_from=1)),
    "ft17_18": ("blocks 17-18 + head fine-tuned, plain+mirror rows", blocks(MIRROR)),
    "ft17_18_views": ("blocks 17-18 + head, all 6 views", blocks(ALL)),
    "ft18_long": ("ft18 at lr 1e-3 for 15 epochs", blocks(MIRROR, tune_from=1, lr=1e-3, epochs=15)),
    "ft17_18_long": ("ft17_18 at lr 1e-3 for 15 epochs", blocks(MIRROR, lr=1e-3, epochs=15)),
    "ft17_18_tta": ("ft17_18, test score = mean(plain, mirrored)", blocks(MIRROR, tta=True)),
}
BODY = pretrained_body("mobilenet_v2", find_pretrained_weights("mobilenet_v2")).eval()


def measure(name: str, data: list[dict]) -> dict:
    """One variant over every seed: pooled and per-seed top-1, CPU and wall seconds of the fits."""
    hits, per_seed = [], []
    cpu, wall = time.process_time(), time.perf_counter()
    for seed, d in enumerate(data):
        torch.manual_seed(seed)
        right = (VARIANTS[name][1](d, seed).argmax(1) == d["y_test"].numpy()).tolist()
        hits += right
        per_seed.append(sum(right) / len(right))
    return {
        "variant": name,
        "what": VARIANTS[name][0],
        "top1_pooled": sum(hits) / len(hits),
        "top1_seed_mean": statistics.mean(per_seed),
        "top1_seed_sd": statistics.stdev(per_seed) if len(per_seed) > 1 else 0.0,
        "per_seed": per_seed,
        "cpu_s_per_fit": (time.process_time() - cpu) / len(data),
        "wall_s_per_fit": (time.perf_counter() - wall) / len(data),
    }


def check_model_file(sets: Path, d: dict, seed: int, work: Path) -> dict:
    """ft17_18 saved as a normal fastai-layout model file, loaded and run by `sorter sort`'s
    scorer: its scores must match the evaluation's (on the seed's test images)."""
    from sorter.core.model.meta import single_label_meta
    from sorter.core.model.modelfile import load_model, save_model
    from sorter.core.model.predict import score_images
    from sorter.core.training.quick import assemble

    result = fit_blocks(d["maps_train"][:, :2], d["y_train"], body=BODY, exclusive=True,
                        settings=BlockSettings(), seed=seed)  # fmt: skip
    tail = split_body(result.body)[1]
    with torch.no_grad():
        expected = torch.softmax(result.linear.logits(pooled(tail, d["maps_test"][:, 0])), dim=1)
    test = sorted((sets / f"seed{seed}" / "test").rglob("*.jpg"))
    categories = sorted({p.parent.name for p in test})
    path = work / "blocks_check.pth"
    save_model(path, single_label_meta("mobilenet_v2", categories, PRE),
               assemble("mobilenet_v2", result.body, result.head))  # fmt: skip
    scored = [s.scores for s in score_images(load_model(path, device="cpu"), test)]
    got = torch.tensor(scored)
    return {
        "max_abs_score_diff": float((got - expected).abs().max()),
        "top1_agreement": float((got.argmax(1) == expected.argmax(1)).float().mean()),
        "images": len(test),
    }


def timing(sets: Path, n_images: int) -> dict:
    """CPU and wall seconds to cache plain+mirror maps of n_images (the seed-0 training images
    over and over) and to fit blocks 17-18 with default settings on them."""
    paths = sorted((sets / "seed0" / "train").rglob("*.jpg"))
    paths = [paths[i % len(paths)] for i in range(n_images)]
    y = torch.tensor([sorted({p.parent.name for p in paths}).index(p.parent.name) for p in paths])
    out = {"images": n_images, "threads": torch.get_num_threads()}
    cpu, wall = time.process_time(), time.perf_counter()
    maps, _ = cache_maps(paths, BODY, PRE, torch.device("cpu"), views=("plain", "mirror"))
    out["maps_cpu_s"], out["maps_wall_s"] = time.process_time() - cpu, time.perf_counter() - wall
    for name, tune_from in (("ft17_18", 0), ("ft18", 1)):
        cpu, wall = time.process_time(), time.perf_counter()
        fit_blocks(maps, y, body=BODY, exclusive=True, settings=BlockSettings(tune_from=tune_from),
                   seed=0)  # fmt: skip
        out[f"{name}_cpu_s"] = time.process_time() - cpu
        out[f"{name}_wall_s"] = time.perf_counter() - wall
    return out


def save_rows(rows: list[dict], seeds: int) -> None:
    """Merge rows into bench/out/head_variants.json (by variant), so runs of --only add up."""
    path = OUT_DIR / "head_variants.json"
    old = json.loads(path.read_text())["variants"] if path.exists() else []
    new = {r["variant"]: r for r in [*old, *rows]}
    write_json({"machine": machine(), "seeds": seeds, "variants": list(new.values())}, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=Path, default=Path("/work/cache/sets10"))
    parser.add_argument("--maps", type=Path, default=Path("/work/cache/blocks"))
    parser.add_argument("--seeds", type=int, default=15)
    parser.add_argument("--only", default="", help="comma-separated variant names")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="only the model-file check")
    parser.add_argument("--timing", type=int, nargs="*", help="only time N images (e.g. 60 500)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    build_sets(args.sets, args.seeds)
    if args.timing:
        for n in args.timing:
            print(timing(args.sets, n), flush=True)
        return
    data = [load_seed(args.sets, args.maps, seed, BODY) for seed in range(args.seeds)]
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            print(check_model_file(args.sets, data[0], 0, Path(tmp)))
        return
    names = [n for n in args.only.split(",") if n] or list(VARIANTS)
    rows = []
    print(f"{'variant':18} {'pooled':>7} {'seed mean±sd':>14} {'cpu s':>6} {'wall s':>6}")
    for name in names:
        row = measure(name, data)
        rows.append(row)
        save_rows(rows, args.seeds)
        print(f"{name:18} {row['top1_pooled']:7.3f} {row['top1_seed_mean']:7.3f}±"
              f"{row['top1_seed_sd']:.3f} {row['cpu_s_per_fit']:6.1f} {row['wall_s_per_fit']:6.1f}",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
