"""Tests for model versions in the data folder and the current-model pointer."""

from __future__ import annotations

import json
import os

import pytest
import torch
from fakes import make_training_folder, version_meta, version_weights

from sorter import appdirs
from sorter.core.learning import manage, version_folders, versions
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
from sorter.core.model.modelfile import COMPACT_VERSION, current_model_path, default_model_path
from sorter.core.model.safe_load import safe_torch_load
from sorter.core.settings import load_settings


def test_versions_are_numbered_and_stored_in_the_data_folder() -> None:
    v1 = add_version(version_meta(), version_weights(1.0), report={"promoted": True}, note="first")
    v2 = add_version(version_meta(("cats", "dogs", "birds"), 0.9), version_weights(2.0))
    assert (v1.name, v2.name) == ("v1", "v2")
    assert v1.path == appdirs.data_dir() / "models" / "v1" / "model.pth"
    meta, state = read_model(v2.path)
    assert meta.categories == ["cats", "dogs", "birds"]
    assert torch.equal(state["head.weight"], torch.full((2, 3), 2.0))
    assert read_report("v1") == {"promoted": True}
    assert read_report("2") is None


def test_list_shows_versions_with_metrics_and_the_current_one() -> None:
    add_version(version_meta(acc=0.7), version_weights())
    add_version(version_meta(acc=0.75), version_weights())
    use_version("v1")
    listed = {v.name: v for v in list_versions(include_default=False)}
    assert list(listed) == ["v1", "v2"]
    assert listed["v1"].current and not listed["v2"].current
    assert listed["v2"].metrics == {"accuracy_multi": 0.75}
    assert listed["v1"].categories == ["cats", "dogs"]


def test_use_moves_the_current_model_pointer_and_back_to_default() -> None:
    assert current_version_name() == DEFAULT
    v1 = add_version(version_meta(), version_weights())
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
    add_version(version_meta(), version_weights())
    with pytest.raises(VersionError, match=r"no model version 'v9'.*v1"):
        use_version("v9")
    assert load_settings().model_path is None


def test_a_version_whose_file_vanished_is_not_listed() -> None:
    v1 = add_version(version_meta(), version_weights())
    v1.path.unlink()
    assert list_versions(include_default=False) == []
    with pytest.raises(VersionError):
        get_version("v1")


def test_a_taken_folder_number_is_skipped() -> None:
    (versions.models_dir() / "v1").mkdir()  # e.g. left by a crash: no model file in it
    assert add_version(version_meta(), version_weights()).name == "v2"


def test_names_of_model_files(tmp_path) -> None:
    v1 = add_version(version_meta(), version_weights())
    assert version_name_of(v1.path) == "v1"
    assert version_name_of(None) == DEFAULT
    assert version_name_of(default_model_path()) == DEFAULT
    assert version_name_of(tmp_path / "mine.pth") == "mine.pth"


def test_version_info_is_readable_json() -> None:
    v1 = add_version(version_meta(acc=0.6), version_weights(), note="retrained from 12 corrections")
    info = json.loads((v1.path.parent / "version.json").read_text())
    assert info["note"] == "retrained from 12 corrections"
    assert info["metrics"] == {"accuracy_multi": 0.6}


def test_leftovers_of_a_live_promotion_are_left_alone() -> None:
    from sorter.core.locks import FileLock

    add_version(version_meta(), version_weights())
    writing = versions.models_dir() / "v2"
    writing.mkdir()
    (writing / ".model.pth.tmp").write_bytes(b"half")
    with FileLock(versions.models_dir() / version_folders.LOCK_FILE):  # another process promoting
        assert [v.name for v in list_versions(include_default=False)] == ["v1"]
        assert (writing / ".model.pth.tmp").exists()
    list_versions()  # that process has died: its temp file and empty folder go
    assert not writing.exists() and (versions.models_dir() / "v1" / "model.pth").is_file()


@pytest.mark.slow
def test_training_from_examples_stores_a_version_that_is_not_yet_current(tmp_path) -> None:
    from sorter.core.training.data import load_folder
    from sorter.core.training.options import TrainOptions

    add_version(
        version_meta(), version_weights()
    )  # v1 exists: the trained model is the next number
    data = load_folder(make_training_folder(tmp_path / "My examples"))
    result, version = manage.train_version(data, TrainOptions(input_size=32), title="Mine")
    assert version.name == "v2" and not version.current and version.title == "Mine"
    assert result.model_path == version.path and version.path.is_file()
    assert current_version_name() == DEFAULT
    assert version.categories == ["blue", "red"]
    assert version.note == "trained on 24 example photos in My examples"
    leftovers = [f for f in (appdirs.data_dir() / "models").iterdir()
                 if f.name.startswith(version_folders.SCRATCH_PREFIX)]  # fmt: skip
    assert leftovers == []
    report = json.loads(result.report_json.read_text(encoding="utf-8"))
    assert result.report_json.parent == version.path.parent
    assert report["model"] == str(version.path)
    listed = {v.name: v for v in list_versions(include_default=False)}
    assert listed["v2"].metrics["exact_match"] == result.meta.training["metrics"]["exact_match"]
    # every example photo was scored out of fold: `models list` says what the figure is from
    assert listed["v2"].metrics["images"] == 24
    assert listed["v2"].metrics["evaluated_on"] == manage.EXAMPLES_JUDGED
    use_version("v2")
    assert read_model(version.path)[0].categories == ["blue", "red"]
    # quick mode leaves the shipped networks as they are: the version stores only its head
    assert version.path.stat().st_size < 1_000_000
    assert safe_torch_load(version.path)["version"] == COMPACT_VERSION


def test_a_cancelled_training_leaves_no_version(tmp_path) -> None:
    from sorter.core.jobs import Cancelled, CancelToken
    from sorter.core.training.data import load_folder

    data = load_folder(make_training_folder(tmp_path / "examples"))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        manage.train_version(data, cancel=token)
    with pytest.raises(VersionError, match="at most 60"):  # said before training, not after
        manage.train_version(data, title="x" * 61)
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
    stale = old.stat().st_mtime - version_folders.SCRATCH_MAX_AGE_S - 60
    os.utime(old, (stale, stale))
    list_versions()
    assert not old.exists() and live.is_dir()


def test_a_promoted_retrain_keeps_the_name_of_the_version_it_came_from() -> None:
    from sorter.core.learning.queue import CorrectionQueue
    from sorter.core.learning.retrain import Candidate, promote

    base = add_version(version_meta(), version_weights(), title="Garden birds")
    assert base.title == "Garden birds"
    candidate = Candidate(
        meta=version_meta(), state_dict=version_weights(2.0), base_path=base.path,
        base_version="v1", comparisons=[], better=True, reason="better", used_ids=[],
        new_categories=[],
    )  # fmt: skip
    assert promote(candidate, CorrectionQueue()) == "v2"
    assert get_version("v2").title == "Garden birds"
    unnamed = add_version(version_meta(), version_weights())
    candidate.base_path, candidate.base_version = unnamed.path, unnamed.name
    assert promote(candidate, CorrectionQueue()) == "v4"
    assert get_version("v4").title == ""


def test_a_name_is_shown_with_the_title_of_its_version() -> None:
    named = add_version(version_meta(), version_weights(), title="Shop stock")
    plain = add_version(version_meta(), version_weights())
    assert versions.with_title("v1", named.path) == "v1 (Shop stock)"
    assert versions.with_title("v2", plain.path) == "v2"
    assert versions.with_title("default", None) == "default"
