"""kill -9 a real promotion at chosen points; the next command finds no leftovers and a
consistent queue: the current version's corrections are marked used, the others pending."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import make_tiny_model
from PIL import Image

from sorter.cli import main
from sorter.core.learning.queue import CorrectionQueue
from sorter.core.learning.versions import current_version_name, models_dir

# Promote the tiny model as a retrain's candidate for every queued correction, and SIGKILL this
# process at the chosen point of retrain.promote().
_PROMOTE = """
import os, signal, sys
from pathlib import Path
from sorter.core.learning import retrain, versions
from sorter.core.learning.queue import CorrectionQueue
from sorter.core.model import modelfile

point, base = sys.argv[1], Path(sys.argv[2])

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if point == "model file written":  # the temporary file is complete, not yet renamed
    real_save = modelfile.torch.save
    modelfile.torch.save = lambda *args, **kwargs: (real_save(*args, **kwargs), die())
elif point == "made current":  # settings name the new version; the queue is not marked yet
    CorrectionQueue.mark_used = die
queue = CorrectionQueue()
meta, state = versions.read_model(base)
candidate = retrain.Candidate(
    meta=meta, state_dict=state, base_path=base, base_version="default", comparisons=[],
    better=True, reason="for a test", used_ids=[c.id for c in queue.list()], new_categories=[])
retrain.promote(candidate, queue)
sys.exit(5)  # the chosen point was never reached
"""


def _queue_two(tmp_path: Path) -> CorrectionQueue:
    queue = CorrectionQueue()
    for i, color in enumerate([(200, 20, 20), (20, 20, 200)]):
        Image.new("RGB", (40, 30), color).save(tmp_path / f"{i}.jpg")
        queue.add(tmp_path / f"{i}.jpg", ["cats"])
    return queue


def _leftovers() -> list[str]:
    return sorted(str(p.relative_to(models_dir())) for p in models_dir().rglob("*.tmp"))


@pytest.mark.parametrize("point", ["model file written", "made current"])
def test_kill_9_during_a_promotion_then_the_next_command(tmp_path, point, capsys) -> None:
    base = make_tiny_model(tmp_path / "base.pth")
    queue = _queue_two(tmp_path)
    killed = subprocess.run([sys.executable, "-c", _PROMOTE, point, str(base)], timeout=120)
    assert killed.returncode == -signal.SIGKILL
    if point == "model file written":  # what the kill left, before any fix runs
        assert _leftovers() == ["v1/.model.pth.tmp"] and current_version_name() == "default"
    else:
        assert current_version_name() == "v1" and queue.pending_count() == 2

    assert main(["models", "list"]) == 0  # the next command, whatever it is
    listed = capsys.readouterr().out
    assert _leftovers() == []
    if point == "model file written":  # never promoted: nothing half-made stays, all pending
        assert not (models_dir() / "v1").exists() and "v1" not in listed
        assert queue.pending_count() == 2 and current_version_name() == "default"
    else:  # promoted: the corrections it learned from are used, as after an uninterrupted one
        assert queue.pending_count() == 0
        assert {c.used_in_version for c in queue.list(include_used=True)} == {"v1"}
