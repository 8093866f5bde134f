"""Tests for model versions in the data folder and the current-model pointer."""

from __future__ import annotations

import json
import os

import pytest
import torch
from fakes import make_training_folder, tiny_meta

from sorter import appdirs
from sorter.core.learning import versions
from sorter.core.learning.versions import (
    DEFAULT,
    VersionError,
    add_version,
    current_version_name,
    get_version,
    list_versions,
    read_model,
    read_report,
    use_version,
    version_name_of,
)
from sorter.core.model.meta import ModelMeta
from sorter.core.model.modelfile import current_model_path, default_model_path
from sorter.core.settings import load_settings


def _meta(categories=("cats", "dogs"), acc=0.8) -> ModelMeta:
    training = {"date": "2026-11-23", "metrics": {"accuracy_multi": acc}}
    return tiny_meta(categories, input_size=64, training=training)


def _weights(value: float = 1.0) -> dict:
    return {"head.weight": torch.full((2, 3), value)}


def test_versions_are_numbered_and_stored_in_the_data_folder() -> None:
    v1 = add_version(_meta(), _weights(1.0), report={"promoted": True}, note="first")
    v2 = add_version(_meta(("cats", "dogs", "birds"), 0.9), _weights(2.0))
    assert (v1.name, v2.name) == ("v1", "v2")
    assert v1.path == appdirs.data_dir() / "models" / "v1" / "model.pth"
    meta, state = read_model(v2.path)
    assert meta.categories == ["cats", "dogs", "birds"]
    assert torch.equal(state["head.weight"], torch.full((2, 3), 2.0))
    assert read_report("v1") == {"promoted": True}
    assert read_report("2") is None


def test_list_shows_versions_with_metrics_and_the_current_one() -> None:
    add_version(_meta(acc=0.7), _weights())
    add_version(_meta(acc=0.75), _weights())
    use_version("v1")
    listed = {v.name: v for v in list_versions(include_default=False)}
    assert list(listed) == ["v1", "v2"]
    assert listed["v1"].current and not listed["v2"].current
    assert listed["v2"].metrics == {"accuracy_multi": 0.75}
    assert listed["v1"].categories == ["cats", "dogs"]


def test_use_moves_the_current_model_pointer_and_back_to_default() -> None:
    assert current_version_name() == DEFAULT
    v1 = add_version(_meta(), _weights())
    assert current_version_name() == DEFAULT  # storing does not promote
    use_version("1")
    assert load_settings().model_path == str(v1.path)
    assert current_model_path() == v1.path
    assert current_version_name() == "v1"
    use_version("default")
    assert load_settings().model_path is None
    assert current_model_path() == default_model_path()
    assert current_version_name() == DEFAULT


def test_unknown_version_is_a_clear_error() -> None:
    add_version(_meta(), _weights())
    with pytest.raises(VersionError, match=r"no model version 'v9'.*v1"):
        use_version("v9")
    assert load_settings().model_path is None


def test_a_version_whose_file_vanished_is_not_listed() -> None:
    v1 = add_version(_meta(), _weights())
    v1.path.unlink()
    assert list_versions(include_default=False) == []
    with pytest.raises(VersionError):
        get_version("v1")


def test_a_taken_folder_number_is_skipped() -> None:
    (versions.models_dir() / "v1").mkdir()  # e.g. left by a crash: no model file in it
    assert add_version(_meta(), _weights()).name == "v2"


def test_names_of_model_files(tmp_path) -> None:
    v1 = add_version(_meta(), _weights())
    assert version_name_of(v1.path) == "v1"
    assert version_name_of(None) == DEFAULT
    assert version_name_of(default_model_path()) == DEFAULT
    assert version_name_of(tmp_path / "mine.pth") == "mine.pth"


def test_version_info_is_readable_json() -> None:
    v1 = add_version(_meta(acc=0.6), _weights(), note="retrained from 12 corrections")
    info = json.loads((v1.path.parent / "version.json").read_text())
    assert info["note"] == "retrained from 12 corrections"
    assert info["metrics"] == {"accuracy_multi": 0.6}


def test_leftovers_of_a_live_promotion_are_left_alone() -> None:
    from sorter.core.locks import FileLock

    add_version(_meta(), _weights())
    writing = versions.models_dir() / "v2"
    writing.mkdir()
    (writing / ".model.pth.tmp").write_bytes(b"half")
    with FileLock(versions.models_dir() / versions.LOCK_FILE):  # another process promoting
        assert [v.name for v in list_versions(include_default=False)] == ["v1"]
        assert (writing / ".model.pth.tmp").exists()
    list_versions()  # that process has died: its temp file and empty folder go
    assert not writing.exists() and (versions.models_dir() / "v1" / "model.pth").is_file()


@pytest.mark.slow
def test_training_from_examples_stores_a_version_that_is_not_yet_current(tmp_path) -> None:
    from sorter.core.training.data import load_folder
    from sorter.core.training.options import TrainOptions

    add_version(_meta(), _weights())  # v1 exists: the trained model is the next number
    data = load_folder(make_training_folder(tmp_path / "My examples"))
    result, version = versions.train_version(data, TrainOptions(input_size=32), title="Mine")
    assert version.name == "v2" and not version.current and version.title == "Mine"
    assert result.model_path == version.path and version.path.is_file()
    assert current_version_name() == DEFAULT
    assert version.categories == ["blue", "red"]
    assert version.note == "trained on 24 example photos in My examples"
    leftovers = [f for f in (appdirs.data_dir() / "models").iterdir()
                 if f.name.startswith(versions.SCRATCH_PREFIX)]  # fmt: skip
    assert leftovers == []
    report = json.loads(result.report_json.read_text(encoding="utf-8"))
    assert result.report_json.parent == version.path.parent
    assert report["model"] == str(version.path)
    listed = {v.name: v for v in list_versions(include_default=False)}
    assert listed["v2"].metrics["exact_match"] == result.meta.training["metrics"]["exact_match"]
    # every example photo was scored out of fold: `models list` says what the figure is from
    assert listed["v2"].metrics["images"] == 24
    assert listed["v2"].metrics["evaluated_on"] == versions.EXAMPLES_JUDGED
    use_version("v2")
    assert read_model(version.path)[0].categories == ["blue", "red"]


def test_a_cancelled_training_leaves_no_version(tmp_path) -> None:
    from sorter.core.jobs import Cancelled, CancelToken
    from sorter.core.training.data import load_folder

    data = load_folder(make_training_folder(tmp_path / "examples"))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        versions.train_version(data, cancel=token)
    with pytest.raises(VersionError, match="at most 60"):  # said before training, not after
        versions.train_version(data, title="x" * 61)
    assert list_versions(include_default=False) == []
    assert [f.name for f in (appdirs.data_dir() / "models").iterdir()
            if not f.name.startswith(".versions")] == []  # fmt: skip


def test_old_scratch_folders_of_killed_trainings_are_swept(monkeypatch) -> None:
    root = appdirs.data_dir() / "models"
    root.mkdir(parents=True, exist_ok=True)
    old, live = root / ".training-old", root / ".training-live"
    for folder in (old, live):
        folder.mkdir()
        (folder / "model.pth").write_bytes(b"x")
    stale = old.stat().st_mtime - versions.SCRATCH_MAX_AGE_S - 60
    os.utime(old, (stale, stale))
    list_versions()
    assert not old.exists() and live.is_dir()


def test_a_version_can_be_given_a_name_of_its_own_and_lose_it() -> None:
    add_version(_meta(), _weights(), note="first")
    named = versions.name_version("1", "  Shop\tfurniture \n")
    assert named.name == "v1" and named.title == "Shop furniture"
    (listed,) = list_versions(include_default=False)
    assert listed.title == "Shop furniture" and listed.note == "first"
    assert listed.to_dict()["title"] == "Shop furniture"
    assert versions.title_of(listed.path) == "Shop furniture"
    info = json.loads((listed.path.parent / "version.json").read_text(encoding="utf-8"))
    assert info["title"] == "Shop furniture" and info["categories"] == ["cats", "dogs"]
    versions.name_version("v1", " ")
    assert list_versions(include_default=False)[0].title == ""
    info = json.loads((listed.path.parent / "version.json").read_text(encoding="utf-8"))
    assert "title" not in info and info["note"] == "first"


def test_names_the_default_cannot_take_or_too_long_are_refused() -> None:
    add_version(_meta(), _weights())
    with pytest.raises(VersionError, match="built-in model keeps its name"):
        versions.name_version("default", "Mine")
    with pytest.raises(VersionError, match="at most 60 characters; this one has 61"):
        versions.name_version("v1", "x" * 61)
    with pytest.raises(VersionError, match="no model version 'v7'"):
        versions.name_version("v7", "Mine")
    assert list_versions(include_default=False)[0].title == ""
    assert versions.title_of(None) == "" and versions.title_of(default_model_path()) == ""


def test_a_promoted_retrain_keeps_the_name_of_the_version_it_came_from() -> None:
    from sorter.core.learning.queue import CorrectionQueue
    from sorter.core.learning.retrain import Candidate, promote

    base = add_version(_meta(), _weights(), title="Garden birds")
    assert base.title == "Garden birds"
    candidate = Candidate(
        meta=_meta(), state_dict=_weights(2.0), base_path=base.path, base_version="v1",
        comparisons=[], better=True, reason="better", used_ids=[], new_categories=[],
    )  # fmt: skip
    assert promote(candidate, CorrectionQueue()) == "v2"
    assert get_version("v2").title == "Garden birds"
    unnamed = add_version(_meta(), _weights())
    candidate.base_path, candidate.base_version = unnamed.path, unnamed.name
    assert promote(candidate, CorrectionQueue()) == "v4"
    assert get_version("v4").title == ""


def test_a_version_not_in_use_can_be_deleted_and_its_number_is_not_reused() -> None:
    v1 = add_version(_meta(), _weights(), note="first")
    v2 = add_version(_meta(), _weights(2.0), note="second")
    assert v1.path.stat().st_size > 0
    listed = list_versions(include_default=False)
    assert all(v.size_bytes > v.path.stat().st_size for v in listed)  # model + version.json
    use_version("v1")
    with pytest.raises(VersionError, match=r"v1 is the one in use\. Switch to another"):
        versions.delete_version("v1")
    with pytest.raises(VersionError, match="built-in model is part of Sorter"):
        versions.delete_version("default")
    assert versions.delete_version("2").name == "v2"
    assert not v2.path.parent.exists()
    assert [v.name for v in list_versions(include_default=False)] == ["v1"]
    assert [p.name for p in versions.models_dir().iterdir() if p.name.startswith(".deleted")] == []
    # v2 named the deleted model in journals and the queue: the next model is v3
    assert add_version(_meta(), _weights()).name == "v3"
    assert v1.path.is_file() and current_version_name() == "v1"


def test_files_of_a_deletion_that_could_not_finish_are_swept() -> None:
    held = versions.models_dir() / ".deleted-v4-abc" / "v4"
    held.mkdir(parents=True)
    (held / "model.pth").write_bytes(b"x")  # e.g. open in another program on Windows
    list_versions()
    assert not held.parent.exists()


def test_a_version_is_copied_to_a_file_that_opens_anywhere(tmp_path) -> None:
    add_version(_meta(("chairs", "tables")), _weights(3.0))
    dest = versions.export_version("v1", tmp_path / "Shop.pth")
    meta, state = read_model(dest)
    assert meta.categories == ["chairs", "tables"]
    assert torch.equal(state["head.weight"], torch.full((2, 3), 3.0))
    dest.write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        versions.export_version("v1", dest)
    assert dest.read_bytes() == b"mine"  # never replaced unless asked
    versions.export_version("v1", dest, replace=True)
    assert read_model(dest)[0].categories == ["chairs", "tables"]
    with pytest.raises(VersionError, match="comes with every Sorter"):
        versions.export_version("default", tmp_path / "d.pth")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Shop.pth"]  # no temporary left


def test_a_model_file_is_added_as_the_next_version_under_its_file_name(tmp_path) -> None:
    from sorter.core.errors import ModelFileError

    add_version(_meta(("chairs", "tables")), _weights(3.0))
    shared = versions.export_version("v1", tmp_path / "Shop stock.pth")
    before = shared.read_bytes()
    added = versions.add_model_file(shared)
    assert (added.name, added.title, added.current) == ("v2", "Shop stock", False)
    assert added.note == "added from the file Shop stock.pth"
    assert read_model(added.path)[0].categories == ["chairs", "tables"]
    assert shared.read_bytes() == before  # the user's file is only read
    assert versions.add_model_file(shared, title="Office").title == "Office"
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelFileError):
        versions.add_model_file(junk)
    with pytest.raises(ModelFileError, match=r"notes\.txt is not a Sorter model file"):
        versions.add_model_file(tmp_path / "notes.txt")
    assert [v.name for v in list_versions(include_default=False)] == ["v1", "v2", "v3"]
