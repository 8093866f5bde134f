"""Writes tests/data/model-v1-dict-meta.pth.xz: a model file saved by the dict-metadata code.

Run once, from the commit named in model-v1-dict-meta.json, with
`python tests/data/make_model_v1_fixture.py`; kept to show how the fixture was made. The file
must never be regenerated with later code: it stands for the files users saved before ModelMeta.

The network is tests/model_helpers.tiny_meta's fastai resnet18 (3 categories, 32 px squish, no
normalisation), with sparse weights so that the file compresses to a few KB: the stem and every
downsampling convolution pass the red, green and blue channels through, each residual branch is
zero, and the head reads the max and mean of those three channels. Its scores therefore still
depend on the image's colours, which the test checks against the scores recorded here.
"""

from __future__ import annotations

import json
import lzma
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # model_helpers

# (name, left colour, right colour) of the 40x30 PNGs the test scores again.
IMAGES = [
    ("red", (255, 0, 0), (255, 0, 0)),
    ("green", (0, 255, 0), (0, 255, 0)),
    ("blue", (0, 0, 255), (0, 0, 255)),
    ("half", (200, 120, 40), (10, 60, 250)),
]


def make_image(path: Path, left: tuple[int, int, int], right: tuple[int, int, int]) -> Path:
    """A 40x30 PNG, its left half one colour and its right half another."""
    img = Image.new("RGB", (40, 30), left)
    img.paste(Image.new("RGB", (20, 30), right), (20, 0))
    img.save(path)
    return path


def sparse_state_dict(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The network's state_dict with the sparse weights described in the module docstring."""
    gen = torch.Generator().manual_seed(13)
    state = {k: v.clone() for k, v in network.state_dict().items()}
    for key, value in state.items():
        if key.endswith("weight") and value.dim() > 1:
            value.zero_()
    for c in range(3):
        state["0.0.weight"][c, c, 3, 3] = 1.0  # stem: 7x7, centre tap
        for layer in (5, 6, 7):
            state[f"0.{layer}.0.downsample.0.weight"][c, c, 0, 0] = 1.0
    pooled = [0, 1, 2, 512, 513, 514]  # max of r, g, b, then their mean
    state["1.4.weight"][:8, pooled] = torch.randn(8, 6, generator=gen)
    state["1.6.bias"][:8] = torch.randn(8, generator=gen) * 0.1
    state["1.8.weight"][:, :8] = torch.randn(3, 8, generator=gen)
    return state


def main() -> None:
    from model_helpers import tiny_meta

    from sorter.core.model.modelfile import load_model, save_model
    from sorter.core.model.networks import build_network
    from sorter.core.model.predict import score_images

    meta = tiny_meta(training={"note": "sparse weights: the model-v1 fixture"})
    with tempfile.TemporaryDirectory() as tmp:
        pth = Path(tmp) / "model.pth"
        save_model(pth, meta, sparse_state_dict(build_network(meta)))
        paths = [make_image(Path(tmp) / f"{n}.png", a, b) for n, a, b in IMAGES]
        model = load_model(pth, device="cpu")
        scores = [s.scores for s in score_images(model, paths, batch_size=4)]
        (HERE / "model-v1-dict-meta.pth.xz").write_bytes(lzma.compress(pth.read_bytes()))
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=HERE, check=True
    ).stdout.strip()
    note = {
        "written_by_commit": commit,
        "how": "tests/data/make_model_v1_fixture.py (lzma of the .pth that save_model wrote)",
        "images": [{"name": n, "left": a, "right": b} for n, a, b in IMAGES],
        "scores": scores,
    }
    (HERE / "model-v1-dict-meta.json").write_text(json.dumps(note, indent=2) + "\n")


if __name__ == "__main__":
    main()
