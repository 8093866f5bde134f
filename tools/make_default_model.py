"""Regenerate assets/models/default.json: ImageNet-1k classes grouped into everyday categories.

A development tool, not part of the product: it needs WordNet 3.0 (Debian's `wordnet-base`),
nltk, and timm's list of ImageNet synset ids (from an installed timm or a downloaded timm wheel).
See tools/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import tempfile
import warnings
import zipfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_JSON = REPO / "assets" / "models" / "default.json"
WEIGHTS = REPO / "assets" / "weights" / "mobilenet_v2-b0353104.pth"
SYNSETS_IN_TIMM = "timm/data/_info/imagenet_synsets.txt"

# Category names, in the order of the model's outputs. Plain words: they become folder names.
CATEGORIES = [
    "animals",
    "birds",
    "fish & sea life",
    "plants & flowers",
    "food & drink",
    "landscape",
    "buildings",
    "vehicles",
    "furniture",
    "kitchen & household",
    "clothing",
    "electronics",
    "tools",
    "musical instruments",
    "sports",
]

# (WordNet synset, category or None) checked in this order; the first rule whose synset is the
# class itself or one of its hypernyms decides. None keeps the class out of every group, so its
# probability counts towards "uncertain". Specific rules come before the broad ones they carve
# out of (birds before animals, musical instruments before devices, ...).
RULES: list[tuple[str, str | None]] = [
    # People: only the sporty ones have a home.
    ("ballplayer.n.01", "sports"),
    ("scuba_diver.n.01", "sports"),
    ("person.n.01", None),
    # Animals.
    ("bird.n.01", "birds"),
    ("fish.n.01", "fish & sea life"),
    ("aquatic_mammal.n.01", "fish & sea life"),
    ("sea_turtle.n.01", "fish & sea life"),
    ("sea_snake.n.01", "fish & sea life"),
    ("crustacean.n.01", "fish & sea life"),
    ("coelenterate.n.01", "fish & sea life"),
    ("echinoderm.n.01", "fish & sea life"),
    ("chambered_nautilus.n.01", "fish & sea life"),
    ("sea_slug.n.01", "fish & sea life"),
    ("conch.n.01", "fish & sea life"),
    ("chiton.n.02", "fish & sea life"),
    ("animal.n.01", "animals"),
    # Fruit and vegetables are plant parts too: food wins. Hay is fodder, not food.
    ("fodder.n.02", None),
    ("edible_fruit.n.01", "food & drink"),
    ("vegetable.n.01", "food & drink"),
    ("food.n.01", "food & drink"),
    ("food.n.02", "food & drink"),
    ("pot.n.04", "plants & flowers"),  # a flowerpot
    ("plant.n.02", "plants & flowers"),
    ("fungus.n.01", "plants & flowers"),
    ("plant_part.n.01", "plants & flowers"),
    ("geological_formation.n.01", "landscape"),
    # Things people made, specific before general.
    ("home_theater.n.01", "electronics"),
    ("musical_instrument.n.01", "musical instruments"),
    ("pick.n.05", "musical instruments"),
    ("drumstick.n.02", "musical instruments"),
    ("golfcart.n.01", "vehicles"),
    ("sports_equipment.n.01", "sports"),
    ("sports_implement.n.01", "sports"),
    ("ball.n.01", "sports"),
    ("ski.n.01", "sports"),
    ("puck.n.02", "sports"),
    ("snorkel.n.01", "sports"),
    ("paddle.n.04", "sports"),
    ("reel.n.03", "sports"),
    ("handcart.n.01", None),
    ("litter.n.03", None),
    ("missile.n.01", None),
    ("farm_machine.n.01", "vehicles"),
    ("car_wheel.n.01", "vehicles"),
    ("vehicle.n.01", "vehicles"),
    ("conveyance.n.03", "vehicles"),
    ("slide_rule.n.01", None),
    ("electronic_equipment.n.01", "electronics"),
    ("electronic_device.n.01", "electronics"),
    ("electro-acoustic_transducer.n.01", "electronics"),
    ("computer.n.01", "electronics"),
    ("telephone.n.01", "electronics"),
    ("camera.n.01", "electronics"),
    ("radio.n.03", "electronics"),
    ("television.n.02", "electronics"),
    ("screen.n.03", "electronics"),
    ("remote_control.n.01", "electronics"),
    ("magnetic_disk.n.01", "electronics"),
    ("projector.n.02", "electronics"),
    ("photocopier.n.01", "electronics"),
    ("cash_machine.n.01", "electronics"),
    ("space_bar.n.01", "electronics"),
    ("cassette.n.01", "electronics"),
    ("digital_clock.n.01", "electronics"),
    ("digital_watch.n.01", "electronics"),
    ("water_tower.n.01", "buildings"),
    ("corkscrew.n.01", "kitchen & household"),
    ("can_opener.n.01", "kitchen & household"),
    ("cleaver.n.01", "kitchen & household"),
    ("plate_rack.n.01", "kitchen & household"),
    ("home_appliance.n.01", "kitchen & household"),
    ("kitchen_utensil.n.01", "kitchen & household"),
    ("tableware.n.01", "kitchen & household"),
    ("vessel.n.03", "kitchen & household"),
    ("glass.n.02", "kitchen & household"),
    ("mug.n.04", "kitchen & household"),
    ("bottle.n.01", "kitchen & household"),
    ("jar.n.01", "kitchen & household"),
    ("jug.n.01", "kitchen & household"),
    ("shaker.n.03", "kitchen & household"),
    ("measure.n.09", "kitchen & household"),
    ("strainer.n.01", "kitchen & household"),
    ("tray.n.01", "kitchen & household"),
    ("basket.n.01", "kitchen & household"),
    ("ashcan.n.01", "kitchen & household"),
    ("cleaning_implement.n.01", "kitchen & household"),
    ("towel.n.01", "kitchen & household"),
    ("bath_linen.n.01", "kitchen & household"),
    ("dishrag.n.01", "kitchen & household"),
    ("toilet_tissue.n.01", "kitchen & household"),
    ("toiletry.n.01", "kitchen & household"),
    ("bedclothes.n.01", "kitchen & household"),
    ("cushion.n.03", "kitchen & household"),
    ("theater_curtain.n.01", None),
    ("curtain.n.01", "kitchen & household"),
    ("window_blind.n.01", "kitchen & household"),
    ("lampshade.n.01", "kitchen & household"),
    ("candle.n.01", "kitchen & household"),
    ("fan.n.01", "kitchen & household"),
    ("heater.n.01", "kitchen & household"),
    ("radiator.n.03", "kitchen & household"),
    ("clock.n.01", "kitchen & household"),
    ("washbasin.n.02", "kitchen & household"),
    ("soap_dispenser.n.01", "kitchen & household"),
    ("doormat.n.02", "kitchen & household"),
    ("fire_screen.n.01", "kitchen & household"),
    ("thimble.n.02", "kitchen & household"),
    ("seat.n.03", "furniture"),
    ("furniture.n.01", "furniture"),
    ("seat_belt.n.01", None),
    ("clothing.n.01", "clothing"),
    ("headdress.n.01", "clothing"),
    ("helmet.n.01", "clothing"),
    ("footwear.n.02", "clothing"),
    ("jewelry.n.01", "clothing"),
    ("cloak.n.01", "clothing"),
    ("bib.n.01", "clothing"),
    ("handkerchief.n.01", "clothing"),
    ("face_mask.n.01", "clothing"),
    ("spectacles.n.01", "clothing"),
    ("backpack.n.01", "clothing"),
    ("purse.n.03", "clothing"),
    ("wallet.n.01", "clothing"),
    ("hair_slide.n.01", "clothing"),
    ("tool.n.01", "tools"),
    ("carpenter's_kit.n.01", "tools"),
    ("nail.n.02", "tools"),
    ("screw.n.04", "tools"),
    ("paintbrush.n.01", "tools"),
    ("rule.n.12", "tools"),
    # Structures: buildings, bridges, walls, monuments; not their fittings.
    ("brass.n.07", None),
    ("movable_barrier.n.01", None),
    ("bannister.n.02", None),
    ("grate.n.03", None),
    ("framework.n.03", None),
    ("coil.n.01", None),
    ("tent.n.01", None),
    ("support.n.07", None),
    ("signboard.n.01", None),
    ("structure.n.01", "buildings"),
    ("roof.n.01", "buildings"),
    ("bell_cote.n.01", "buildings"),
    ("pier.n.03", "buildings"),
]


def read_synset_ids(source: Path | None) -> list[str]:
    """ImageNet-1k synset ids in class order, from a file, a timm wheel or the installed timm."""
    if source is not None and source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            text = wheel.read(SYNSETS_IN_TIMM).decode("ascii")
    elif source is not None:
        text = source.read_text("ascii")
    else:
        from importlib.resources import files

        text = files("timm").joinpath("data/_info/imagenet_synsets.txt").read_text("ascii")
    ids = text.split()
    if len(ids) != 1000:
        raise SystemExit(f"expected 1000 ImageNet synset ids, found {len(ids)}")
    return ids


def _lexnames(man_page: Path) -> str:
    # Debian's wordnet-base leaves out the `lexnames` file nltk needs; its man page holds the table.
    import gzip

    lines = []
    for line in gzip.decompress(man_page.read_bytes()).decode("latin-1").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].isdigit() and len(parts[0]) == 2:
            lines.append(f"{parts[0]}\t{parts[1].strip()}\t0\n")
    return "".join(lines)


def open_wordnet(wordnet_dir: Path, work: Path):
    """A WordNet 3.0 reader over a private copy of the Debian files (nltk refuses symlinks)."""
    import nltk.data
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class Reader(WordNetCorpusReader):
        def map_wn(self, version: str = "wordnet") -> None:
            return None  # no cross-version mapping: it would look for nltk's own corpus

    for f in wordnet_dir.iterdir():
        if f.is_file():
            shutil.copy(f, work / f.name)
    if not (work / "lexnames").exists():
        man = Path("/usr/share/man/man5/lexnames.5WN.gz")
        (work / "lexnames").write_text(_lexnames(man), "ascii")
    nltk.data.path.append(str(work))  # nltk only reads corpora under its data path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available": unused
        return Reader(str(work), None)


def ancestors(synset) -> list[str]:
    """The synset and all its hypernyms (instance hypernyms included), as names."""
    names = {synset.name()}
    for path in synset.hypernym_paths():
        names.update(s.name() for s in path)
    return sorted(names)


def classify(wn, synset_ids: list[str]) -> list[str | None]:
    """One category (or None) per ImageNet class, by the first matching rule."""
    out: list[str | None] = []
    for wnid in synset_ids:
        found = set(ancestors(wn.synset_from_pos_and_offset("n", int(wnid[1:]))))
        out.append(next((cat for root, cat in RULES if root in found), None))
    return out


def check_rules(wn) -> None:
    """Fail early on a misspelt synset name or a category outside CATEGORIES."""
    for root, cat in RULES:
        wn.synset(root)
        if cat is not None and cat not in CATEGORIES:
            raise SystemExit(f"rule {root} names unknown category {cat!r}")


def build_meta(assigned: list[str | None], weights_sha256: str) -> dict:
    """The full model meta dict (docs/architecture.md) for the default model."""
    groups = {c: [i for i, a in enumerate(assigned) if a == c] for c in CATEGORIES}
    return {
        "format": "sorter-model",
        "version": 1,
        "arch": "mobilenet_v2",
        "builder": "torchvision",
        "categories": CATEGORIES,
        "activation": "softmax-groups",
        "groups": groups,
        "n_outputs": 1000,
        # A softmax group passing 0.5 holds most of the probability: at most one category can,
        # so an image gets one folder or goes to uncertain when the mass is spread out.
        "default_threshold": 0.5,
        "thresholds": {},
        "input_size": 224,
        # torchvision evaluates with resize 256 + centre crop 224; "crop" (centre square crop,
        # then resize to 224) is the closest method sorter supports. See README, default-model.
        "resize_method": "crop",
        "normalize": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
        "empty_category": None,
        "training": {
            "origin": "torchvision MobileNet_V2_Weights.IMAGENET1K_V1, trained on ImageNet-1k",
            "metrics": {"imagenet_top1": 71.878, "imagenet_top5": 90.286},
            "image_counts": {"imagenet_train": 1281167},
            "mapping": "ImageNet classes grouped by WordNet 3.0 hypernyms "
            "(tools/make_default_model.py); classes in no group push towards uncertain",
            "unmapped_classes": sum(a is None for a in assigned),
        },
        "created_by": "tools/make_default_model.py",
        "weights_file": WEIGHTS.name,
        "weights_sha256": weights_sha256,
        "backbone_sha256": weights_sha256,
    }


def _one_line(match: re.Match[str]) -> str:
    return "[" + ", ".join(part.strip() for part in match.group(1).split(",")) + "]"


def render(meta: dict) -> str:
    """JSON text with every list of numbers on one line, so diffs stay readable."""
    text = json.dumps(meta, indent=2, ensure_ascii=False)
    return re.sub(r"\[\s*([-0-9.,\s]+?)\s*\]", _one_line, text) + "\n"


def report(assigned: list[str | None], verbose: bool) -> None:
    """Print class counts per category; with verbose, the class names too."""
    from torchvision.models import MobileNet_V2_Weights

    names = MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]
    counts = Counter(assigned)
    for cat in [*CATEGORIES, None]:
        label = cat or "(no group)"
        print(f"{label:22} {counts.get(cat, 0):4}")
        if verbose:
            members = [f"{i}:{names[i]}" for i, a in enumerate(assigned) if a == cat]
            print("    " + ", ".join(members))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synsets", type=Path, help="imagenet_synsets.txt or a timm wheel")
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--check", action="store_true", help="compare with the committed json")
    parser.add_argument("-v", "--verbose", action="store_true", help="list classes per category")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sorter-wordnet-") as work:
        wn = open_wordnet(args.wordnet, Path(work))
        check_rules(wn)
        assigned = classify(wn, read_synset_ids(args.synsets))
    report(assigned, args.verbose)
    text = render(build_meta(assigned, hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()))
    if args.check:
        same = OUT_JSON.exists() and OUT_JSON.read_text("utf-8") == text
        print("default.json is up to date" if same else "default.json differs: regenerate it")
        return 0 if same else 1
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(text, "utf-8")
    print(f"wrote {OUT_JSON.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
