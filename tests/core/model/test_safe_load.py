"""The restricted loader: real malicious files are refused, every honest weights format loads."""

from __future__ import annotations

import builtins
import io
import os
import pickle
import re
from collections import OrderedDict

import pytest
import torch
from torch import nn

from sorter.core.errors import ModelFileError
from sorter.core.model.safe_load import safe_torch_load


def small_state_dict() -> dict[str, torch.Tensor]:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2)).state_dict()


class WritesMarker:
    """Unpickling this calls os.system, which would create the marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


class EvalsMarker:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (builtins.eval, (f"open({self.marker!r}, 'w').close()",))


@pytest.mark.parametrize("payload_cls", [WritesMarker, EvalsMarker])
@pytest.mark.parametrize(("zip_format", "protocol"), [(True, 4), (False, 4), (False, 2)])
def test_malicious_file_is_refused_and_never_runs(tmp_path, payload_cls, zip_format, protocol):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pth"
    payload = {"format": "sorter-model", "state_dict": small_state_dict(), "x": payload_cls(marker)}
    torch.save(payload, bad, _use_new_zipfile_serialization=zip_format, pickle_protocol=protocol)
    # The file really is dangerous: plain pickle-based torch.load runs it.
    if payload_cls is WritesMarker and zip_format:
        torch.load(bad, weights_only=False)
        assert marker.exists()
        marker.unlink()
    with pytest.raises(ModelFileError) as err:
        safe_torch_load(bad)
    assert not marker.exists()
    name = "system" if payload_cls is WritesMarker else "builtins.eval"
    assert name in str(err.value)
    assert "refused" in str(err.value)


def test_fastai_object_is_refused_with_advice(tmp_path):
    path = tmp_path / "export.pkl"
    # A pickle naming fastcore's L list, as learn.save(with_opt=True) writes.
    path.write_bytes(b"\x80\x02cfastcore.foundation\nL\nq\x00)\x81q\x01.")
    with pytest.raises(ModelFileError, match=r"fastcore\.foundation\.L.*with_opt=False"):
        safe_torch_load(path)


@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("zip_format", [True, False])
def test_honest_state_dicts_load(tmp_path, protocol, zip_format):
    sd = small_state_dict()
    path = tmp_path / "w.pth"
    torch.save(sd, path, pickle_protocol=protocol, _use_new_zipfile_serialization=zip_format)
    loaded = safe_torch_load(path)
    assert isinstance(loaded, OrderedDict)
    assert list(loaded) == list(sd)
    for key, value in sd.items():
        assert torch.equal(loaded[key], value)


def test_parameters_dtypes_and_plain_data_load(tmp_path):
    path = tmp_path / "misc.pth"
    data = {
        "p": nn.Parameter(torch.arange(3.0)),
        "half": torch.ones(2, dtype=torch.float16),
        "dtype": torch.bfloat16,
        "meta": {"names": ["a", "b"], "t": (1, 2.5, None, True)},
    }
    torch.save(data, path, pickle_protocol=4)
    loaded = safe_torch_load(path)
    assert torch.equal(loaded["p"], data["p"])
    assert loaded["half"].dtype == torch.float16
    assert loaded["dtype"] is torch.bfloat16
    assert loaded["meta"] == data["meta"]


def test_protocol_2_plain_data_loads(tmp_path):
    path = tmp_path / "old.pth"
    data = {"bytes": b"\x00\xff", "set": {1, 2}, "frozen": frozenset({3}), "w": torch.ones(2)}
    torch.save(data, path, pickle_protocol=2, _use_new_zipfile_serialization=False)
    loaded = safe_torch_load(path)
    assert loaded["bytes"] == b"\x00\xff" and loaded["set"] == {1, 2}
    assert loaded["frozen"] == frozenset({3}) and torch.equal(loaded["w"], torch.ones(2))


def test_torchscript_archive_is_refused(tmp_path):
    path = tmp_path / "scripted.pth"
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), str(path))
    with pytest.raises(ModelFileError, match="TorchScript"):
        safe_torch_load(path)


def test_truncated_file(tmp_path):
    buf = io.BytesIO()
    torch.save(small_state_dict(), buf, pickle_protocol=4)
    path = tmp_path / "cut.pth"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ModelFileError, match=r"damaged|not a"):
        safe_torch_load(path)


@pytest.mark.parametrize("content", [b"", b"hello, I am a text file\n", b"\x89PNG\r\n\x1a\n...."])
def test_not_a_torch_file(tmp_path, content):
    path = tmp_path / "notes.pth"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=re.escape(str(path))):
        safe_torch_load(path)


def test_plain_pickle_is_not_a_torch_file(tmp_path):
    path = tmp_path / "set.pkl"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=4))
    # A legacy-format torch file starts with a magic number: plain pickles are not torch files.
    with pytest.raises(ModelFileError):
        safe_torch_load(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        safe_torch_load(tmp_path / "nope.pth")


@pytest.mark.parametrize("error", [OverflowError, IndexError, AttributeError, MemoryError])
def test_random_bytes_that_upset_the_unpickler_are_a_damaged_file(tmp_path, monkeypatch, error):
    # Random bytes sometimes make the unpickler raise these (seen: OverflowError, now and then,
    # in test_corrupt_model_and_model_for_another_architecture); each must be one sentence.
    import torch

    from sorter.core.model import safe_load

    path = tmp_path / "damaged.pth"
    torch.save({"w": torch.zeros(2)}, path)

    def upset(self):
        raise error("bad length")

    monkeypatch.setattr(safe_load.RestrictedUnpickler, "load", upset)
    with pytest.raises(ModelFileError, match="damaged or not a PyTorch weights file"):
        safe_load.safe_torch_load(path)
