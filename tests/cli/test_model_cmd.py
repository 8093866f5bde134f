"""`sorter info` and `sorter import-weights` as a user runs them."""

from __future__ import annotations

import json
import re

import pytest
import torch

from sorter.cli import main
from sorter.core.model.meta import IMAGENET, ModelMeta, Preprocessing
from sorter.core.model.modelfile import load_model, read_model_file, save_model
from sorter.core.model.networks import fastai_network
from sorter.core.settings import Settings, save_settings


@pytest.fixture(scope="module")
def resnet18_weights(tmp_path_factory):
    """A bare state_dict saved the seed's way: torch.save(..., pickle_protocol=4)."""
    path = tmp_path_factory.mktemp("weights") / "export.pth"
    torch.manual_seed(0)
    torch.save(fastai_network("resnet18", 3).state_dict(), path, pickle_protocol=4)
    return path


def test_import_weights_then_info(resnet18_weights, tmp_path, capsys):
    out = tmp_path / "mine.pth"
    code = main(
        [
            "import-weights",
            str(resnet18_weights),
            "--arch",
            "resnet18",
            "--categories",
            "cats, dogs,birds",
            "--out",
            str(out),
            "--resize-method",
            "squish",
            "--size",
            "128",
        ]
    )
    assert code == 0
    assert str(out) in capsys.readouterr().out
    meta, sd = read_model_file(out)
    assert meta.categories == ["cats", "dogs", "birds"]
    assert meta.activation == "sigmoid" and meta.builder == "fastai"
    assert meta.thresholds == {"cats": 0.5, "dogs": 0.5, "birds": 0.5}
    assert meta.input_size == 128 and meta.resize_method == "squish"
    assert meta.normalize == IMAGENET
    assert "imported" in meta.training["note"]
    original = torch.load(resnet18_weights, weights_only=False)
    assert all(torch.equal(sd[k], v) for k, v in original.items())
    assert load_model(out, device="cpu").categories == ["cats", "dogs", "birds"]

    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "resnet18 (fastai)" in text and "squish" in text and "multi-label" in text
    assert "Decision:     multi-label: every category that passes" in text
    assert "  - dogs: threshold 0.5" in text and "imported_from" in text


def test_import_defaults(resnet18_weights, capsys):
    out = resnet18_weights.with_name("export.sorter.pth")
    args = ["import-weights", str(resnet18_weights), "--arch", "resnet18", "--no-normalize"]
    try:
        assert main([*args, "--categories", "a,b,c"]) == 0
        meta, _ = read_model_file(out)
        assert meta.normalize is None
        assert meta.input_size == 224 and meta.resize_method == "crop"
        # Never overwrites: the second run refuses.
        assert main([*args, "--categories", "a,b,c"]) == 2
        assert "already exists" in capsys.readouterr().err
    finally:
        out.unlink(missing_ok=True)


@pytest.mark.parametrize(
    ("arch", "categories", "message"),
    [
        ("resnet34", "a,b,c", "do not fit a fastai resnet34 with 3 outputs"),
        ("resnet18", "a,b", r"1 wrong shape: 1.8.weight (3, 512) vs (2, 512)"),
        ("mobilenet_v2", "a,b,c", "unexpected"),
    ],
)
def test_import_mismatch_is_one_clear_line(
    resnet18_weights, tmp_path, capsys, arch, categories, message
):
    out = tmp_path / "x.pth"
    args = ["import-weights", str(resnet18_weights), "--arch", arch, "--categories", categories]
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--categories", "a,a,b"], "distinct"),
        (["--categories", "a,b,c", "--out", "/nonexistent-folder/m.pth"], "does not exist"),
    ],
)
def test_import_bad_arguments(resnet18_weights, capsys, extra, message):
    assert main(["import-weights", str(resnet18_weights), "--arch", "resnet18", *extra]) == 2
    assert message in capsys.readouterr().err


def test_import_refuses_an_unsafe_file(tmp_path, capsys):
    evil = tmp_path / "evil.pth"
    evil.write_bytes(b"\x80\x02cos\nsystem\nq\x00X\x05\x00\x00\x00touchq\x01\x85q\x02Rq\x03.")
    args = ["import-weights", str(evil), "--arch", "resnet18", "--categories", "a"]
    assert main([*args, "--out", str(tmp_path / "o.pth")]) == 2
    assert "refused" in capsys.readouterr().err


def test_info_json_and_current_model(tmp_path, capsys):
    path = tmp_path / "m.pth"
    meta = {
        "arch": "resnet18",
        "builder": "fastai",
        "categories": ["x", "y"],
        "activation": "sigmoid",
        "n_outputs": 2,
        "default_threshold": 0.4,
        "thresholds": {"x": 0.6},
        "input_size": 64,
        "resize_method": "pad",
        "normalize": None,
        "training": {"date": "2026-11-20", "image_counts": {"x": 5, "y": 7}},
    }
    save_model(path, ModelMeta.from_dict(meta), fastai_network("resnet18", 2).state_dict())
    save_settings(Settings(model_path=str(path)))
    assert main(["info", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["path"] == str(path) and {k: shown["meta"][k] for k in meta} == meta
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert "  - x: threshold 0.6" in text and "  - y: threshold 0.4" in text
    assert "normalisation none" in text and "image_counts: x 5, y 7" in text
    assert "Stored:       whole, " in text and shown["stored"]["shared_files"] == []
    assert shown["stored"]["bytes"] == path.stat().st_size


def test_info_says_a_compact_model_names_the_shipped_weights(tmp_path, capsys):
    from fakes import quick_state, tiny_meta

    from sorter.core.model.arch_names import PAIR
    from sorter.core.training.backbone import shared_body

    path = tmp_path / "compact.pth"
    save_model(path, tiny_meta(("x", "y"), arch=PAIR), quick_state(2), shared_body(PAIR))
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "Stored:       compact, " in text
    assert "ImageNet weights are Sorter's own mobilenet_v2-b0353104.pth, efficientnet-lite0" in text
    assert main(["info", str(path), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["stored"]["shared_files"]) == 2


def test_info_on_a_single_label_model_counts_no_imagenet_classes(tmp_path, capsys):
    # What import-learner makes of a fastai single-label Learner: one softmax output per category.
    meta = ModelMeta(
        "resnet18", "fastai", ["blue", "red"], "softmax-groups", 2, Preprocessing(48),
        groups={"blue": [0], "red": [1]},
    )  # fmt: skip
    path = tmp_path / "single.pth"
    save_model(path, meta, fastai_network("resnet18", 2).state_dict())
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "ImageNet" not in text
    assert "  - blue: threshold 0.5\n" in text and "  - red: threshold 0.5\n" in text
    assert "single-label" in text
    assert "Decision:     single-label: one folder per image" in text


def test_info_on_the_default_model_counts_its_imagenet_classes(capsys):
    from sorter.core.model.modelfile import default_model_path

    assert main(["info", str(default_model_path())]) == 0
    text = capsys.readouterr().out
    assert re.search(r"  - birds: threshold 0\.5 \(59 ImageNet classes\)\n", text)
    assert "softmax-groups (a category's score = sum of its classes' probabilities)" in text
    assert "Decision:     single-label: one folder per image" in text


def test_info_on_a_bare_state_dict_suggests_import(resnet18_weights, capsys):
    assert main(["info", str(resnet18_weights)]) == 2
    assert "sorter import-weights" in capsys.readouterr().err


def test_info_default_model(capsys):
    from sorter.core.model.modelfile import default_model_path

    if not default_model_path().is_file():
        pytest.skip("the default model is not in assets yet")
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert "mobilenet_v2 (torchvision), 1000 outputs" in text
    assert "ImageNet classes" in text
