"""Tests for what a user does to stored versions: name, delete, copy out, add a file."""

from __future__ import annotations

import json

import pytest
import torch
from fakes import version_meta, version_weights

from sorter.core.learning import manage, versions
from sorter.core.learning.versions import (
    VersionError,
    add_version,
    current_version_name,
    list_versions,
    read_model,
    use_version,
)
from sorter.core.model.modelfile import default_model_path


def test_a_version_can_be_given_a_name_of_its_own_and_lose_it() -> None:
    add_version(version_meta(), version_weights(), note="first")
    named = manage.name_version("1", "  Shop\tfurniture \n")
    assert named.name == "v1" and named.title == "Shop furniture"
    (listed,) = list_versions(include_default=False)
    assert listed.title == "Shop furniture" and listed.note == "first"
    assert listed.to_dict()["title"] == "Shop furniture"
    assert versions.title_of(listed.path) == "Shop furniture"
    info = json.loads((listed.path.parent / "version.json").read_text(encoding="utf-8"))
    assert info["title"] == "Shop furniture" and info["categories"] == ["cats", "dogs"]
    manage.name_version("v1", " ")
    assert list_versions(include_default=False)[0].title == ""
    info = json.loads((listed.path.parent / "version.json").read_text(encoding="utf-8"))
    assert "title" not in info and info["note"] == "first"


def test_names_the_default_cannot_take_or_too_long_are_refused() -> None:
    add_version(version_meta(), version_weights())
    with pytest.raises(VersionError, match="built-in model keeps its name"):
        manage.name_version("default", "Mine")
    with pytest.raises(VersionError, match="at most 60 characters; this one has 61"):
        manage.name_version("v1", "x" * 61)
    with pytest.raises(VersionError, match="no model version 'v7'"):
        manage.name_version("v7", "Mine")
    assert list_versions(include_default=False)[0].title == ""
    assert versions.title_of(None) == "" and versions.title_of(default_model_path()) == ""


def test_a_version_not_in_use_can_be_deleted_and_its_number_is_not_reused() -> None:
    v1 = add_version(version_meta(), version_weights(), note="first")
    v2 = add_version(version_meta(), version_weights(2.0), note="second")
    assert v1.path.stat().st_size > 0
    listed = list_versions(include_default=False)
    assert all(v.size_bytes > v.path.stat().st_size for v in listed)  # model + version.json
    use_version("v1")
    with pytest.raises(VersionError, match=r"v1 is the one in use\. Switch to another"):
        manage.delete_version("v1")
    with pytest.raises(VersionError, match="built-in model is part of Sorter"):
        manage.delete_version("default")
    assert manage.delete_version("2").name == "v2"
    assert not v2.path.parent.exists()
    assert [v.name for v in list_versions(include_default=False)] == ["v1"]
    assert [p.name for p in versions.models_dir().iterdir() if p.name.startswith(".deleted")] == []
    # v2 named the deleted model in journals and the queue: the next model is v3
    assert add_version(version_meta(), version_weights()).name == "v3"
    assert v1.path.is_file() and current_version_name() == "v1"


def test_files_of_a_deletion_that_could_not_finish_are_swept() -> None:
    held = versions.models_dir() / ".deleted-v4-abc" / "v4"
    held.mkdir(parents=True)
    (held / "model.pth").write_bytes(b"x")  # e.g. open in another program on Windows
    list_versions()
    assert not held.parent.exists()


def test_a_version_is_copied_to_a_file_that_opens_anywhere(tmp_path) -> None:
    add_version(version_meta(("chairs", "tables")), version_weights(3.0))
    dest = manage.export_version("v1", tmp_path / "Shop.pth")
    meta, state = read_model(dest)
    assert meta.categories == ["chairs", "tables"]
    assert torch.equal(state["head.weight"], torch.full((2, 3), 3.0))
    dest.write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        manage.export_version("v1", dest)
    assert dest.read_bytes() == b"mine"  # never replaced unless asked
    manage.export_version("v1", dest, replace=True)
    assert read_model(dest)[0].categories == ["chairs", "tables"]
    with pytest.raises(VersionError, match="comes with every Sorter"):
        manage.export_version("default", tmp_path / "d.pth")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Shop.pth"]  # no temporary left


def test_a_model_file_is_added_as_the_next_version_under_its_file_name(tmp_path) -> None:
    from sorter.core.errors import ModelFileError
    from sorter.core.model.modelfile import save_model

    add_version(version_meta(("cats", "dogs")), version_weights(1.0))
    shared = tmp_path / "Shop stock.pth"  # made on another computer
    save_model(shared, version_meta(("chairs", "tables")), version_weights(3.0))
    before = shared.read_bytes()
    added, new = manage.add_model_file(shared)
    assert (added.name, added.title, added.current, new) == ("v2", "Shop stock", False, True)
    assert added.note == "added from the file Shop stock.pth"
    assert read_model(added.path)[0].categories == ["chairs", "tables"]
    assert shared.read_bytes() == before  # the user's file is only read
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelFileError):
        manage.add_model_file(junk)
    with pytest.raises(ModelFileError, match=r"notes\.txt is not a Sorter model file"):
        manage.add_model_file(tmp_path / "notes.txt")
    other = tmp_path / "Office.pth"
    save_model(other, version_meta(("chairs", "tables")), version_weights(4.0))
    assert manage.add_model_file(other, title="Front office")[0].title == "Front office"
    assert [v.name for v in list_versions(include_default=False)] == ["v1", "v2", "v3"]


def test_a_model_kept_already_is_not_added_twice(tmp_path) -> None:
    from sorter.core.model.modelfile import save_model

    add_version(version_meta(("chairs", "tables")), version_weights(3.0))
    copy = manage.export_version("v1", tmp_path / "Shop.pth")
    version, new = manage.add_model_file(copy)
    assert (version.name, new) == ("v1", False)
    # the same weights with other thresholds decide otherwise: a model of its own
    tuned = version_meta(("chairs", "tables")).replace(default_threshold=0.7)
    save_model(tmp_path / "Tuned.pth", tuned, version_weights(3.0))
    version, new = manage.add_model_file(tmp_path / "Tuned.pth")
    assert (version.name, new) == ("v2", True)
    again, new = manage.add_model_file(tmp_path / "Tuned.pth")
    assert (again.name, new) == ("v2", False)
    assert [v.name for v in list_versions(include_default=False)] == ["v1", "v2"]


def test_a_compact_version_is_copied_whole_and_added_back_compact(tmp_path, monkeypatch) -> None:
    from fakes import quick_state, tiny_meta

    from sorter.core.model import modelfile
    from sorter.core.model.arch_names import PAIR
    from sorter.core.model.safe_load import safe_torch_load

    state = quick_state(2)
    stored = versions.add_version(tiny_meta(("chairs", "tables"), arch=PAIR), state)
    assert stored.size_bytes < 1_000_000  # the shipped networks are named, not stored
    copy = manage.export_version(stored.name, tmp_path / "Shop.pth")
    assert safe_torch_load(copy)["version"] == modelfile.VERSION  # every weight, for anywhere
    manage.delete_version(stored.name)  # as on another computer, which does not have it
    added, new = manage.add_model_file(copy)
    assert new
    assert safe_torch_load(added.path)["version"] == modelfile.COMPACT_VERSION
    assert added.path.stat().st_size < 1_000_000
    back = read_model(added.path)[1]
    assert all(torch.equal(back[k], v) for k, v in state.items())
    # the copy opens on a computer without the shipped files the version names
    monkeypatch.setattr(modelfile, "find_weight_file", lambda name: None)
    whole = read_model(copy)[1]
    assert all(torch.equal(whole[k], v) for k, v in state.items())
    with pytest.raises(modelfile.ModelFileError, match="not installed"):
        read_model(added.path)
