"""Settings persist as JSON in the (isolated) config folder and survive damage."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time

import pytest

from sorter.core.settings import (
    MAX_RECENT,
    Settings,
    load_settings,
    save_settings,
    settings_path,
    update_settings,
)


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


@pytest.mark.parametrize(
    ("content", "kept"),
    [
        ([1, 2], {}),
        (None, {}),
        ("x", {}),
        ({"model_path": 5, "device": "cpu"}, {"device": "cpu"}),
        ({"model_path": "", "skip_preview": True}, {"skip_preview": True}),
        ({"default_threshold": "high", "model_path": "/m.pth"}, {"model_path": "/m.pth"}),
        ({"default_threshold": 7, "device": "cpu"}, {"device": "cpu"}),
        ({"default_threshold": True, "device": "cpu"}, {"device": "cpu"}),
        ({"device": "gpu9", "default_threshold": 0.3}, {"default_threshold": 0.3}),
        ({"thresholds": [0.5], "device": "cpu"}, {"device": "cpu"}),
        ({"thresholds": {"cats": "x", "dogs": 0.7, "owls": -1}}, {"thresholds": {"dogs": 0.7}}),
        ({"recent_folders": "/photos", "device": "cpu"}, {"device": "cpu"}),
        ({"recent_folders": ["/a", 3, None, "/b"]}, {"recent_folders": ["/a", "/b"]}),
        ({"skip_preview": "yes", "device": "cuda"}, {"device": "cuda"}),
        ({"thumbnail_size": 240, "device": "gpu9"}, {"thumbnail_size": 240}),
        ({"thumbnail_size": 5000, "device": "cpu"}, {"device": "cpu"}),
        ({"thumbnail_size": "big", "device": "cpu"}, {"device": "cpu"}),
        ({"thumbnail_size": 200.5, "device": "cpu"}, {"device": "cpu"}),
        ({"sort_mode": "link", "device": "gpu9"}, {"sort_mode": "link"}),
        ({"sort_mode": "move", "device": "cpu"}, {"device": "cpu"}),  # never carried over
        ({"sort_mode": 3, "device": "cpu"}, {"device": "cpu"}),
    ],
)
def test_a_bad_field_falls_back_to_its_default_only(content, kept, caplog) -> None:
    settings_path().write_text(json.dumps(content), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="sorter.core.settings"):
        loaded = load_settings()
    assert loaded == Settings(**kept)
    assert caplog.records, "a field that was ignored must be logged"


def test_a_window_save_keeps_a_change_made_meanwhile_elsewhere() -> None:
    save_settings(Settings(model_path="/models/v1/model.pth", device="cpu"))
    window = load_settings()
    update_settings(lambda s: setattr(s, "model_path", "/models/v2/model.pth"))  # `models use`
    window.add_recent("/photos")
    save_settings(window)
    assert load_settings() == Settings(
        model_path="/models/v2/model.pth", device="cpu", recent_folders=["/photos"]
    )


# One writer process: 50 read-change-write rounds on its own field (or its own threshold key),
# started at the same instant as the others; exit 3 if a raw read ever saw a half-written file.
_WRITER = """
import json, sys, time
from sorter.core import settings as st
how, name, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
def value(j):
    return {"model_path": f"/models/m{j}.pth", "default_threshold": j / 100,
            "recent_folders": [f"/photos/{j}"], "thresholds": {"cats": j / 100}}[name]
while time.time() < start:
    time.sleep(0.001)
bad_reads = 0
for j in range(ROUNDS):
    if how == "save":
        s = st.load_settings()
        setattr(s, name, value(j))
        st.save_settings(s)
    else:
        st.update_settings(lambda s: s.thresholds.__setitem__(name, j / 100))
    try:
        json.loads(st.settings_path().read_text(encoding="utf-8"))
    except ValueError:
        bad_reads += 1
sys.exit(3 if bad_reads else 0)
"""
ROUNDS = 50
FIELDS = ("model_path", "default_threshold", "recent_folders", "thresholds")


@pytest.mark.parametrize("how", ["save", "update"])
def test_concurrent_writers_never_crash_and_never_lose_a_change(tmp_path, how) -> None:
    script = tmp_path / "writer.py"
    script.write_text(_WRITER.replace("ROUNDS", str(ROUNDS)), encoding="utf-8")
    save_settings(Settings(device="cpu", skip_preview=True))
    start = str(time.time() + 1.5)  # every writer imports first, then all start together
    names = FIELDS if how == "save" else ("p0", "p1", "p2", "p3")
    procs = [
        subprocess.Popen([sys.executable, str(script), how, name, start], stderr=subprocess.PIPE)
        for name in names
    ]
    errors = [p.communicate(timeout=120)[1].decode(errors="replace") for p in procs]
    assert [p.returncode for p in procs] == [0] * len(names), errors
    last = ROUNDS - 1
    final = json.loads(settings_path().read_text(encoding="utf-8"))
    assert final["device"] == "cpu" and final["skip_preview"] is True
    if how == "save":
        assert final["model_path"] == f"/models/m{last}.pth"
        assert final["default_threshold"] == last / 100
        assert final["recent_folders"] == [f"/photos/{last}"]
        assert final["thresholds"] == {"cats": last / 100}
    else:
        assert final["thresholds"] == dict.fromkeys(names, last / 100)
    assert [p.name for p in settings_path().parent.iterdir() if p.suffix == ".tmp"] == []
