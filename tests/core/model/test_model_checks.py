"""Damaged model files are refused: weights that fail their checksum, NaN or inf in weights."""

from __future__ import annotations

import logging
import lzma
import struct
import zipfile
from pathlib import Path

import pytest
import torch
from fakes import make_tiny_model, tiny_meta

from sorter.core.errors import ModelFileError
from sorter.core.model.modelfile import load_model, read_model_file, save_model
from sorter.core.model.networks import build_network
from sorter.core.model.safe_load import safe_torch_load

DATA = Path(__file__).resolve().parents[2] / "data"
PICK_ANOTHER = "sorter models use default"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.pth")


def _largest_record(path: Path) -> tuple[int, int]:
    """(offset, size) in the file of the bytes of the largest tensor (zip entries are stored)."""
    with zipfile.ZipFile(path) as zf:
        info = max((i for i in zf.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    with path.open("rb") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", f.read(4))
    return info.header_offset + 30 + name_len + extra_len, info.file_size


def flip_bytes(path: Path, count: int = 64) -> None:
    """Invert `count` bytes in the middle of the largest tensor's data, as a bad disk might."""
    offset, size = _largest_record(path)
    data = bytearray(path.read_bytes())
    start = offset + size // 2
    data[start : start + count] = bytes(b ^ 0xFF for b in data[start : start + count])
    path.write_bytes(bytes(data))


def test_a_saved_model_records_the_checksum_of_its_weights(model_file):
    raw = safe_torch_load(model_file)
    digest = raw["meta"]["state_dict_sha256"]
    assert len(digest) == 64 and int(digest, 16) >= 0
    meta, _ = read_model_file(model_file)
    assert meta.state_dict_sha256 == digest


def test_64_flipped_bytes_in_the_weights_are_refused(model_file, tmp_path):
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(model_file.read_bytes())
    flip_bytes(damaged)
    with pytest.raises(ModelFileError) as err:
        load_model(damaged, device="cpu")
    message = str(err.value)
    assert str(damaged) in message and "do not match the checksum" in message
    assert PICK_ANOTHER in message


def _write_v1(path: Path, state: dict, checksum: str | None = None) -> Path:
    """A model file as save_model writes it, but with these weights (NaN allowed)."""
    meta = tiny_meta().to_dict()
    if checksum is not None:
        meta["state_dict_sha256"] = checksum
    payload = {"format": "sorter-model", "version": 1, "meta": meta, "state_dict": state}
    torch.save(payload, path, pickle_protocol=4)
    return path


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("with_checksum", [False, True])
def test_nan_or_inf_in_the_weights_is_refused(tmp_path, bad, with_checksum):
    torch.manual_seed(0)
    state = build_network(tiny_meta()).state_dict()
    state["1.8.weight"][1, 7] = bad
    checksum = None
    if with_checksum:  # a file whose checksum matches: only the values are wrong
        from sorter.core.model.modelfile import weights_checksum

        checksum = weights_checksum(state)
    path = _write_v1(tmp_path / "nan.pth", state, checksum)
    with pytest.raises(ModelFileError, match="NaN or infinite") as err:
        load_model(path, device="cpu")
    assert str(path) in str(err.value) and "1.8.weight" in str(err.value)
    assert PICK_ANOTHER in str(err.value)


def test_save_refuses_nan_weights(tmp_path):
    state = build_network(tiny_meta()).state_dict()
    state["1.8.weight"][0, 0] = float("nan")
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        save_model(tmp_path / "m.pth", tiny_meta(), state)
    assert list(tmp_path.iterdir()) == []


def test_a_file_from_before_checksums_loads_and_says_so(tmp_path, caplog):
    old = tmp_path / "old.pth"
    old.write_bytes(lzma.decompress((DATA / "model-v1-dict-meta.pth.xz").read_bytes()))
    caplog.set_level(logging.INFO)
    model = load_model(old, device="cpu")
    assert model.meta.state_dict_sha256 is None
    assert f"{old} has no weights checksum" in caplog.text


def test_the_checksum_is_the_weights_not_the_file(model_file, tmp_path):
    meta, state = read_model_file(model_file)
    again = tmp_path / "again.pth"
    save_model(again, meta.replace(training={"note": "other metadata, same weights"}), state)
    assert read_model_file(again)[0].state_dict_sha256 == meta.state_dict_sha256
    state["1.8.weight"][0, 0] += 1.0
    save_model(tmp_path / "changed.pth", meta, state)
    assert read_model_file(tmp_path / "changed.pth")[0].state_dict_sha256 != meta.state_dict_sha256
