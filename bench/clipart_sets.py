"""Single-label clip-art sets for the training bench: Debian's openclipart-png drawings.

Eight everyday categories of drawings (sub-folders of /usr/share/openclipart/png), chosen
because each names a kind of thing a user would sort pictures by and has at least 50 drawings
(so a full-size set has 40 to train on and 8 to test). Abstract folders (shapes, signs,
computer icons, games) and small ones are left out. A drawing is placed at a random size and
place on a plain light canvas and saved as a 320x240 JPEG: a different kind of image from the
cut-outs on photos of bench/stamp_sets.py. Variants of one drawing (`name_01`, `name_02`) are
kept on one side of the split, so the test set never shows a copy of a training drawing.

    apt-get install -y openclipart-png
"""

from __future__ import annotations

import random
import re
import warnings
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from PIL import Image

CLIPART = Path("/usr/share/openclipart/png")
CATEGORIES = {
    "mammals": "animals/mammals",
    "birds": "animals/birds",
    "bugs": "animals/bugs",
    "fruit": "food/fruit",
    "beverages": "food/beverages",
    "vehicles": "transportation/vehicles",
    "music": "recreation/music",
    "clothing": "people/clothing",
}
MAX_PIXELS = 16_000_000  # a few drawings are rendered at 169 MP; too slow to read for a bench
SIZE = (320, 240)


def variant_key(path: Path) -> str:
    """The drawing a file is a variant of: its name without a trailing number."""
    return re.sub(r"[_\-. ]*\d+$", "", path.stem)


def _pixels(path: Path) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the header only
        with Image.open(path) as img:
            return img.width * img.height


def clipart_groups() -> dict[str, list[list[Path]]]:
    """Per category, the drawings grouped by variant_key (groups and files sorted)."""
    if not CLIPART.is_dir():
        raise SystemExit("No clip art; run: apt-get install -y openclipart-png")
    found: dict[str, list[list[Path]]] = {}
    for category, folder in CATEGORIES.items():
        groups: dict[str, list[Path]] = defaultdict(list)
        for path in sorted((CLIPART / folder).rglob("*.png")):
            if _pixels(path) <= MAX_PIXELS:
                groups[variant_key(path)].append(path)
        found[category] = [groups[key] for key in sorted(groups)]
    return found


@lru_cache(maxsize=1024)
def _drawing(path: Path) -> Image.Image:
    """The drawing without its transparent margin, at most 240 px (kept across draws)."""
    with Image.open(path) as img:
        cut = img.convert("RGBA")
    box = cut.getchannel("A").getbbox()
    cut = cut.crop(box) if box else cut
    cut.thumbnail((SIZE[1], SIZE[1]))
    return cut


def render(path: Path, rng: random.Random) -> Image.Image:
    """The drawing, 55-95% of the frame's height, somewhere on a plain light canvas."""
    canvas = Image.new("RGB", SIZE, tuple(rng.randint(225, 255) for _ in range(3)))
    cut = _drawing(path)
    ratio = rng.uniform(0.55, 0.95) * SIZE[1] / max(cut.width, cut.height)
    cut = cut.resize((max(1, int(cut.width * ratio)), max(1, int(cut.height * ratio))))
    x = rng.randint(0, max(0, SIZE[0] - cut.width))
    y = rng.randint(0, max(0, SIZE[1] - cut.height))
    canvas.paste(cut, (x, y), cut)
    return canvas


def _split(groups: list[list[Path]], n_train: int, n_test: int, rng: random.Random):
    order = list(groups)
    rng.shuffle(order)
    test, train = [], []
    for group in order:
        if len(test) < n_test:
            test.extend(group)
        else:
            train.extend(group)
    return train[:n_train], test[:n_test]


def build_clipart_set(
    root: Path,
    groups: dict[str, list[list[Path]]],
    n_train: int,
    n_test: int,
    seed: int,
) -> tuple[Path, Path]:
    """root/train/<category>/ (n_train drawings each, or all there are) and root/test/<category>/
    (n_test from other drawings), drawn and rendered with `seed`. Returns (train, test)."""
    rng = random.Random(seed)
    for category, its_groups in groups.items():
        parts = dict(zip(("train", "test"), _split(its_groups, n_train, n_test, rng), strict=True))
        for part, paths in parts.items():
            folder = root / part / category
            folder.mkdir(parents=True, exist_ok=True)
            for number, path in enumerate(paths):
                render(path, rng).save(folder / f"{path.stem}_{number}.jpg", quality=88)
    return root / "train", root / "test"
