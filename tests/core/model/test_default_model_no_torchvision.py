"""The embedded default model loads and scores without torchvision, as torchvision's network did."""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from sorter import appdirs
from sorter.core.model.modelfile import load_model
from sorter.core.model.predict import score_images

SAMPLES = sorted(p for p in appdirs.asset_path("samples").iterdir() if p.suffix == ".jpg")[:3]

SCORE_DEFAULT = """
import json, sys
from sorter.core.model.modelfile import load_model
from sorter.core.model.predict import score_images
model = load_model(None, device="cpu")
scores = [s.scores for s in score_images(model, sys.argv[1:], threads=1)]
print(json.dumps({"scores": scores, "torchvision": "torchvision" in sys.modules}))
"""


def test_default_model_scores_equal_torchvisions_network_without_importing_it():
    assert len(SAMPLES) == 3
    done = subprocess.run(
        [sys.executable, "-c", SCORE_DEFAULT, *map(str, SAMPLES)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torchvision"] is False
    # The same weights in torchvision's own MobileNetV2 (what the default model used to run on).
    import torchvision

    model = load_model(None, device="cpu")
    reference = torchvision.models.mobilenet_v2(weights=None, num_classes=1000)
    reference.load_state_dict(model.network.state_dict(), strict=True)
    model.network = reference.eval()
    expected = [s.scores for s in score_images(model, SAMPLES, threads=1)]
    assert torch.allclose(torch.tensor(result["scores"]), torch.tensor(expected), atol=1e-5)
    assert max(max(row) for row in expected) > 0.3  # real photos get confident scores
