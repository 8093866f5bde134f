"""Single-label photo sets for the training bench: tuxpaint photo cut-outs on real backgrounds.

A cut-out (transparent PNG from Debian's tuxpaint-stamps-default) is pasted at a random size and
place onto a random crop of a real photo wallpaper (Debian's mate-backgrounds), and saved as a
320x240 JPEG: one object on a varied background, as in a user's photo. One in five (and all,
without the wallpapers) get a plain light colour instead. The category is the stamp's top
folder; each image is in exactly one category folder, so Sorter trains a single-label model.

    apt-get install -y tuxpaint-stamps-default mate-backgrounds
"""

from __future__ import annotations

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
    with Image.open(stamp) as img:
        cut = img.convert("RGBA")
    cut = cut.crop(cut.getchannel("A").getbbox())  # the object, not its transparent margin
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
) -> tuple[Path, Path]:
    """root/train/<category>/ (n_train images each) and root/test/<category>/ (up to n_test
    each, different stamps), drawn and composited with `seed`. Returns (train, test)."""
    rng = random.Random(seed)
    for category in categories:
        chosen = list(stamps[category])
        rng.shuffle(chosen)
        parts = {"train": chosen[:n_train], "test": chosen[n_train : n_train + n_test]}
        for part, paths in parts.items():
            folder = root / part / category
            folder.mkdir(parents=True, exist_ok=True)
            for number, stamp in enumerate(paths):
                image = composite(stamp, backgrounds, rng)
                image.save(folder / f"{stamp.stem}_{number}.jpg", quality=88)
    return root / "train", root / "test"
