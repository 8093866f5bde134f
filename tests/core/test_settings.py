"""Settings persist as JSON in the (isolated) config folder and survive damage."""

from __future__ import annotations

import json

from sorter.core.settings import MAX_RECENT, Settings, load_settings, save_settings, settings_path


def test_defaults_when_no_file() -> None:
    assert load_settings() == Settings()


def test_round_trip() -> None:
    s = Settings(model_path="/models/m.pth", device="cpu", thresholds={"chair": 0.7})
    save_settings(s)
    assert load_settings() == s


def test_damaged_or_foreign_file_gives_defaults() -> None:
    settings_path().write_text("{not json", encoding="utf-8")
    assert load_settings() == Settings()
    settings_path().write_text(json.dumps({"device": "cpu", "unknown": 1}), encoding="utf-8")
    assert load_settings().device == "cpu"


def test_recent_folders_are_unique_newest_first_and_bounded() -> None:
    s = Settings()
    for i in range(MAX_RECENT + 3):
        s.add_recent(f"/photos/{i}")
    s.add_recent("/photos/5")
    assert s.recent_folders[0] == "/photos/5"
    assert len(s.recent_folders) == MAX_RECENT
    assert s.recent_folders.count("/photos/5") == 1
