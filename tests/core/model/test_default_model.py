"""The shipped default model: its JSON, class mapping, weights and what it says on the samples."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from sorter import appdirs
from sorter.core.model.decide import decide
from sorter.core.model.meta import ModelMeta
from sorter.core.model.modelfile import default_model_path, load_model
from sorter.core.model.predict import score_images

REPO = Path(__file__).resolve().parents[3]
SAMPLES = appdirs.asset_path("samples")
CONTRACT_KEYS = {
    "arch": "mobilenet_v2",
    "builder": "torchvision",
    "activation": "softmax-groups",
    "n_outputs": 1000,
    "input_size": 224,
    "resize_method": "crop",
}


@pytest.fixture(scope="module")
def meta() -> dict:
    return json.loads(default_model_path().read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def imagenet_names() -> list[str]:
    from torchvision.models import MobileNet_V2_Weights

    return MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]


@pytest.fixture(scope="module")
def default_model():
    return load_model(default_model_path(), device="cpu")


def group_of(meta: dict, index: int) -> str | None:
    found = [name for name, members in meta["groups"].items() if index in members]
    assert len(found) <= 1, f"class {index} is in {found}"
    return found[0] if found else None


def test_json_follows_the_model_contract(meta):
    ModelMeta.from_dict(meta)  # the same check load_model applies
    for key, value in CONTRACT_KEYS.items():
        assert meta[key] == value, key
    assert 10 <= len(meta["categories"]) <= 15
    assert list(meta["groups"]) == meta["categories"]
    assert 0 < meta["default_threshold"] < 1 and meta["thresholds"] == {}
    assert meta["normalize"] == {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    assert "ImageNet-1k" in meta["training"]["origin"]
    assert re.fullmatch(r"[0-9a-f]{64}", meta["weights_sha256"])


def test_category_names_are_plain_folder_names(meta):
    for name in meta["categories"]:
        assert name == name.strip() and name.islower()
        assert not set(name) & set('<>:"/\\|?*'), name


def test_groups_are_disjoint_and_in_range(meta):
    members = [i for group in meta["groups"].values() for i in group]
    assert len(members) == len(set(members))
    assert all(isinstance(i, int) and 0 <= i < 1000 for i in members)
    assert all(len(group) >= 5 for group in meta["groups"].values())
    assert meta["training"]["unmapped_classes"] == 1000 - len(members)


@pytest.mark.parametrize(
    ("index", "name", "category"),
    [
        (281, "tabby", "animals"),
        (207, "golden retriever", "animals"),
        (301, "ladybug", "animals"),
        (11, "goldfinch", "birds"),
        (84, "peacock", "birds"),
        (1, "goldfish", "fish & sea life"),
        (147, "grey whale", "fish & sea life"),
        (985, "daisy", "plants & flowers"),
        (954, "banana", "food & drink"),
        (967, "espresso", "food & drink"),
        (970, "alp", "landscape"),
        (483, "castle", "buildings"),
        (817, "sports car", "vehicles"),
        (555, "fire engine", "vehicles"),
        (765, "rocking chair", "furniture"),
        (859, "toaster", "kitchen & household"),
        (834, "suit", "clothing"),
        (620, "laptop", "electronics"),
        (587, "hammer", "tools"),
        (402, "acoustic guitar", "musical instruments"),
        (752, "racket", "sports"),
        (982, "groom", None),
        (413, "assault rifle", None),
    ],
)
def test_known_classes_land_in_the_right_group(meta, imagenet_names, index, name, category):
    assert imagenet_names[index] == name  # guards the class order as well as the mapping
    assert group_of(meta, index) == category


def test_weights_file_matches_the_recorded_sha256(meta):
    weights = appdirs.asset_path("weights", meta["weights_file"])
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert digest == meta["weights_sha256"]
    assert digest.startswith("b03531047ffa")  # torchvision's MobileNet_V2 IMAGENET1K_V1 file
    assert "BSD 3-Clause License" in appdirs.asset_path("weights", "LICENSE").read_text()


def test_committed_json_is_what_the_script_writes(meta):
    # Rebuild from the committed groups with the script's own writer: catches hand edits and
    # script changes that were not regenerated. The WordNet half of the script is dev-only.
    spec = importlib.util.spec_from_file_location("mdm", REPO / "tools" / "make_default_model.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert meta["categories"] == tool.CATEGORIES
    assert {cat for _, cat in tool.RULES if cat} == set(tool.CATEGORIES)
    assigned = [group_of(meta, i) for i in range(1000)]
    text = tool.render(tool.build_meta(assigned, meta["weights_sha256"]))
    assert text == default_model_path().read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("cat-chelsea.jpg", ["animals"]),
        ("coffee-cup.jpg", ["food & drink"]),
        ("fire-engine.jpg", ["vehicles"]),
        ("classical-guitar.jpg", ["musical instruments"]),
        ("mountains-picos-de-europa.jpg", ["landscape"]),
        ("astronaut-eileen-collins.jpg", []),  # people have no category: uncertain
    ],
)
def test_default_model_sorts_clear_samples(default_model, sample, expected):
    [scored] = list(score_images(default_model, [SAMPLES / sample], threads=1))
    assert scored.error is None
    assert all(0.0 <= s <= 1.0 for s in scored.scores)
    assert sum(scored.scores) <= 1.0 + 1e-4  # disjoint groups of one softmax
    chosen = decide(scored.scores, default_model.categories, default_model.default_threshold)
    assert chosen == expected


def test_default_model_is_exclusive_and_decides_as_before_at_its_threshold(default_model):
    """Its groups exclude one another, so at 0.5 the top-1 rule changes no sample's folder;
    below 0.5 a multi-label reading would put some image in two folders, the model never."""
    assert default_model.exclusive
    photos = sorted(SAMPLES.glob("*.jpg"))
    scored = list(score_images(default_model, photos, threads=1))
    cats, low, two = default_model.categories, 0.1, 0
    for s in scored:
        every = decide(s.scores, cats, default_model.default_threshold)
        assert decide(s.scores, cats, default_model.default_threshold, exclusive=True) == every
        assert len(decide(s.scores, cats, low, exclusive=True)) <= 1
        two += len(decide(s.scores, cats, low)) > 1
    assert two > 0  # the samples do reach the case the exclusive rule guards


def test_samples_are_small_real_photos_with_licences():
    photos = sorted(SAMPLES.glob("*.jpg"))
    assert 10 <= len(photos) <= 20
    assert sum(p.stat().st_size for p in photos) < 3_000_000
    notes = (SAMPLES / "LICENSE.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([^`]+)`", notes, flags=re.MULTILINE))
    assert listed == {p.name for p in photos}
    for photo in photos:
        with Image.open(photo) as img:
            assert img.format == "JPEG" and max(img.size) <= 1024
