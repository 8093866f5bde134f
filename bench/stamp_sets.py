"""Single-label photo sets for the training bench: tuxpaint photo cut-outs on real backgrounds.

A cut-out (transparent PNG from Debian's tuxpaint-stamps-default) is pasted at a random size and
place onto a random crop of a real photo wallpaper (Debian's mate-backgrounds), and saved as a
320x240 JPEG: one object on a varied background, as in a user's photo. One in five (and all,
without the wallpapers) get a plain light colour instead. The category is the stamp's top
folder; each image is in exactly one category folder, so Sorter trains a single-label model.

Collages (`build_collages`) put two cut-outs of two different categories side by side on one
background: multi-label data, given to Sorter as a labels CSV (`file,labels`, labels separated by
spaces), the form `sorter train` reads several labels per image from.

    apt-get install -y tuxpaint-stamps-default mate-backgrounds
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from pathlib import Path

from PIL import Image

STAMPS = Path("/usr/share/tuxpaint/stamps")
BACKGROUNDS = Path("/usr/share/backgrounds")
# Photo wallpapers without a main subject of their own (Debian's mate-backgrounds): flowers,
# insects or elephants would lend their category to the cut-out, and logos, flat colours or
# transparent PNGs are no photo background.
WALLPAPERS = (
    "Aqua.jpg", "Blinds.jpg", "Dune.jpg", "GreenMeadow.jpg", "RainDrops.jpg", "Storm.jpg",
    "Wood.jpg", "Stripes.png", "Ubuntu-Mate-Cold-no-logo.png", "Ubuntu-Mate-Warm-no-logo.png",
    "Ubuntu-Mate-Radioactive-no-logo.png",
)  # fmt: skip
PLAIN_SHARE = 0.2  # this share of images gets a plain light background instead
SIZE = (320, 240)
EVERYDAY = ("animals", "clothes", "food", "household", "plants", "vehicles")


def stamp_photos(min_per_category: int) -> dict[str, list[Path]]:
    """The photo cut-outs by top folder, as bench/train_quality.py takes them (no cartoons,
    symbols or *_mirror copies), for folders with at least `min_per_category`."""
    if not STAMPS.is_dir():
        raise SystemExit("No stamps; run: apt-get install -y tuxpaint-stamps-default")
    found: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(STAMPS.rglob("*.png")):
        rel = path.relative_to(STAMPS)
        if "cartoon" in rel.parts or rel.parts[0] == "symbols" or path.stem.endswith("_mirror"):
            continue
        found[rel.parts[0]].append(path)
    return {c: ps for c, ps in sorted(found.items()) if len(ps) >= min_per_category}


def load_backgrounds(longest: int = 900) -> list[Image.Image]:
    """Every usable wallpaper, scaled so its longest side is `longest` (kept in memory)."""
    paths = sorted(p for p in BACKGROUNDS.rglob("*") if p.name in WALLPAPERS)
    images = []
    for path in paths:
        with Image.open(path) as img:
            img.draft("RGB", (longest, longest))
            img = img.convert("RGB")
            img.thumbnail((longest, longest))
            images.append(img)
    return images


def _background(backgrounds: list[Image.Image], rng: random.Random) -> Image.Image:
    if not backgrounds or rng.random() < PLAIN_SHARE:
        return Image.new("RGB", SIZE, tuple(rng.randint(170, 250) for _ in range(3)))
    source = rng.choice(backgrounds)
    scale = rng.uniform(0.35, 1.0)
    width = max(SIZE[0], int(source.width * scale))
    height = min(source.height, int(width * SIZE[1] / SIZE[0]))
    width = int(height * SIZE[0] / SIZE[1])
    left, top = rng.randint(0, source.width - width), rng.randint(0, source.height - height)
    return source.crop((left, top, left + width, top + height)).resize(SIZE)


def composite(stamp: Path, backgrounds: list[Image.Image], rng: random.Random) -> Image.Image:
    """The cut-out, 45-90% of the frame's height, somewhere on a background crop."""
    canvas = _background(backgrounds, rng)
    cut = _cut_out(stamp)
    side = rng.uniform(0.45, 0.9) * SIZE[1]
    ratio = side / max(cut.width, cut.height)
    cut = cut.resize((max(1, int(cut.width * ratio)), max(1, int(cut.height * ratio))))
    x = rng.randint(0, max(0, SIZE[0] - cut.width))
    y = rng.randint(0, max(0, SIZE[1] - cut.height))
    canvas.paste(cut, (x, y), cut)
    return canvas


def build_set(
    root: Path,
    stamps: dict[str, list[Path]],
    categories: tuple[str, ...],
    n_train: int,
    n_test: int,
    seed: int,
    backgrounds: list[Image.Image],
    keep_test: bool = False,
) -> tuple[Path, Path]:
    """root/train/<category>/ (n_train images each) and root/test/<category>/ (up to n_test
    each, different stamps), drawn and composited with `seed`. Returns (train, test).

    A category with fewer than n_train + n_test stamps trains on n_train and tests on the rest,
    or with `keep_test`, tests on n_test and trains on the rest."""
    rng = random.Random(seed)
    for category in categories:
        chosen = list(stamps[category])
        rng.shuffle(chosen)
        cut = min(n_train, len(chosen) - n_test) if keep_test else n_train
        parts = {"train": chosen[:cut], "test": chosen[cut : cut + n_test]}
        for part, paths in parts.items():
            folder = root / part / category
            folder.mkdir(parents=True, exist_ok=True)
            for number, stamp in enumerate(paths):
                image = composite(stamp, backgrounds, rng)
                image.save(folder / f"{stamp.stem}_{number}.jpg", quality=88)
    return root / "train", root / "test"


def _fit(cut: Image.Image, box: tuple[int, int], share: float) -> Image.Image:
    ratio = min(box[0] / cut.width, box[1] / cut.height) * share
    return cut.resize((max(1, int(cut.width * ratio)), max(1, int(cut.height * ratio))))


def _cut_out(stamp: Path) -> Image.Image:
    """The object, without its transparent margin."""
    with Image.open(stamp) as img:
        cut = img.convert("RGBA")
    return cut.crop(cut.getchannel("A").getbbox())


def composite_pair(
    left: Path, right: Path, backgrounds: list[Image.Image], rng: random.Random
) -> Image.Image:
    """Two cut-outs side by side, each 60-95% of its half of the frame, on one background."""
    canvas = _background(backgrounds, rng)
    half = (SIZE[0] // 2, SIZE[1])
    for offset, stamp in ((0, left), (half[0], right)):
        cut = _fit(_cut_out(stamp), half, rng.uniform(0.6, 0.95))
        x = offset + rng.randint(0, half[0] - cut.width)
        y = rng.randint(0, half[1] - cut.height)
        canvas.paste(cut, (x, y), cut)
    return canvas


def balanced_pairs(
    categories: tuple[str, ...], per_category: int, rng: random.Random
) -> list[tuple[str, str]]:
    """Pairs of two different categories in which each category appears `per_category` times.

    The category with the most appearances left always takes one of the pair, its partner is
    drawn by appearances left: so no category is left over to pair with itself."""
    left = dict.fromkeys(categories, per_category)
    pairs = []
    while True:
        most = max(left.values())
        first = rng.choice([c for c in categories if left[c] == most])
        others = [c for c in categories if c != first and left[c] > 0]
        if not others:
            break
        second = rng.choices(others, weights=[left[c] for c in others])[0]
        left[first], left[second] = left[first] - 1, left[second] - 1
        pairs.append((first, second) if rng.random() < 0.5 else (second, first))
    rng.shuffle(pairs)
    return pairs


def collage_pools(
    stamps: dict[str, list[Path]], categories: tuple[str, ...], seed: int, cap: int
) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """Each category's stamps split into a training pool (at most `cap`) and a test pool (a
    quarter, 3-6 stamps), drawn with `seed`: no stamp is in both."""
    rng = random.Random(seed)
    train, test = {}, {}
    for category in categories:
        chosen = list(stamps[category])
        rng.shuffle(chosen)
        held = max(3, min(6, len(chosen) // 4))
        test[category], train[category] = chosen[:held], chosen[held : held + cap]
    return train, test


def write_collages(
    folder: Path,
    pools: dict[str, list[Path]],
    pairs: list[tuple[str, str]],
    backgrounds: list[Image.Image],
    rng: random.Random,
) -> dict[str, tuple[str, str]]:
    """One JPEG per pair in `folder` (stamps taken round-robin from each category's pool);
    returns {file name: its two categories}."""
    folder.mkdir(parents=True, exist_ok=True)
    turn = dict.fromkeys(pools, 0)
    labels = {}
    for number, pair in enumerate(pairs):
        chosen = []
        for category in pair:
            chosen.append(pools[category][turn[category] % len(pools[category])])
            turn[category] += 1
        name = f"collage_{number:03d}_{pair[0]}_{pair[1]}.jpg"
        composite_pair(*chosen, backgrounds, rng).save(folder / name, quality=88)
        labels[name] = pair
    return labels


def build_collages(
    root: Path,
    stamps: dict[str, list[Path]],
    categories: tuple[str, ...],
    sizes: tuple[int, int, int],
    seed: int,
    backgrounds: list[Image.Image],
) -> tuple[Path, Path, dict[str, tuple[str, str]]]:
    """root/train/labels.csv with its collages beside it, and root/test/ (collages of other
    stamps), drawn with `seed`. sizes = (training appearances per category, test appearances
    per category, most stamps per category in the training pool).

    Returns (the CSV, the test folder, {test file name: its two categories})."""
    per_train, per_test, cap = sizes
    rng = random.Random(seed)
    train_pool, test_pool = collage_pools(stamps, categories, seed, cap)
    train = write_collages(
        root / "train", train_pool, balanced_pairs(categories, per_train, rng), backgrounds, rng
    )
    with (root / "train" / "labels.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "labels"])
        writer.writerows([name, " ".join(pair)] for name, pair in train.items())
    test = write_collages(
        root / "test", test_pool, balanced_pairs(categories, per_test, rng), backgrounds, rng
    )
    return root / "train" / "labels.csv", root / "test", test
