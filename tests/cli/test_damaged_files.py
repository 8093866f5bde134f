"""Damaged, foreign or odd files (settings, queue, journal, report, names) as a user meets them."""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))
from fakes import make_image, make_tiny_model, tree_hashes

from sorter.cli import main
from sorter.core.learning.queue import CorrectionQueue
from sorter.core.settings import load_settings, settings_path
from sorter.core.sorting.journal import JOURNAL_FILE, STATE_DIR
from sorter.core.sorting.report import update_report

PAGE = 4096  # SQLite's default page size


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.pth")


def garble_page(path: Path, page: int) -> None:
    """Overwrite one whole page of a SQLite file with garbage (fixed, so runs repeat)."""
    with open(path, "r+b") as f:
        f.seek(page * PAGE)
        f.write(random.Random(page).randbytes(PAGE))


def one_clear_line(err: str, *words: str) -> None:
    lines = [line for line in err.splitlines() if line.startswith("sorter:")]
    assert len(lines) == 1, err
    assert "unexpected" not in lines[0] and all(w in lines[0] for w in words), lines[0]


@pytest.mark.parametrize(
    "content", [[1, 2], None, "x", {"model_path": 5}, {"default_threshold": "high"}]
)
def test_models_use_default_repairs_any_settings_file(content, capsys) -> None:
    settings_path().write_text(json.dumps(content), encoding="utf-8")
    assert main(["models", "use", "default"]) == 0
    assert "The current model is now default" in capsys.readouterr().out
    assert load_settings().model_path is None
    assert isinstance(json.loads(settings_path().read_text(encoding="utf-8")), dict)


def test_a_journal_with_a_garbage_page_is_one_clear_line(tmp_path, model_file, capsys) -> None:
    src = tmp_path / "Photos"
    for i in range(60):
        make_image(src / f"album{i % 4}" / f"photo-{i:03d}.jpg", (4 * i, 250 - 4 * i, 90))
    out = tmp_path / "Sorted"
    assert main(["sort", str(src), "--out", str(out), "--model", str(model_file)]) == 0
    journal = out / STATE_DIR / JOURNAL_FILE
    good = tmp_path / "journal-copy.sqlite"
    shutil.copyfile(journal, good)
    pages = journal.stat().st_size // PAGE
    placed = tree_hashes(out)
    capsys.readouterr()
    sort_again = ["sort", str(src), "--out", str(out), "--model", str(model_file)]
    for page in (pages // 4, pages // 2, 3 * pages // 4):
        for command in (["undo", str(out)], sort_again):
            shutil.copyfile(good, journal)
            garble_page(journal, page)
            assert main(command) == 2, (page, command[0])
            one_clear_line(capsys.readouterr().err, str(journal), "damaged", "move it")
            assert tree_hashes(out) == placed  # nothing was undone, nothing was written


def test_a_queue_with_a_garbage_page_is_one_clear_line(tmp_path, capsys) -> None:
    queue = CorrectionQueue()
    for i in range(40):
        Image.new("RGB", (40, 30), (6 * i, 200, 250 - 6 * i)).save(tmp_path / f"{i}.png")
        queue.add(tmp_path / f"{i}.png", [f"label-{i % 3}"])
    good = tmp_path / "queue-copy.sqlite"
    shutil.copyfile(queue.path, good)
    pages = queue.path.stat().st_size // PAGE
    assert pages >= 4
    for page in range(1, pages):  # every page but the header: damage anywhere is caught
        shutil.copyfile(good, queue.path)
        garble_page(queue.path, page)
        assert main(["queue", "list"]) == 2, f"page {page} of {pages}"
        one_clear_line(capsys.readouterr().err, str(queue.path), "damaged", "Move it away")


def test_damage_met_after_the_check_at_open_is_still_one_line(tmp_path, monkeypatch, capsys):
    from sorter.core.sorting import journal as journal_module

    out = tmp_path / "Sorted"
    (out / STATE_DIR).mkdir(parents=True)
    journal_module.Journal(out).close()

    def damaged(self):
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(journal_module.Journal, "runs", damaged)
    assert main(["undo", str(out)]) == 2
    one_clear_line(capsys.readouterr().err, "damaged", "malformed", "Move that file away")


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux file systems take any bytes")
def test_a_name_that_is_not_text_is_skipped_and_reported(tmp_path, model_file, capsys) -> None:
    src = tmp_path / "Photos"
    make_image(src / "good.jpg", (220, 20, 20))
    make_image(src / "also good.png", (20, 20, 220))
    raw = os.fsencode(src)
    shutil.copyfile(src / "good.jpg", os.path.join(raw, b"bad\xff.jpg"))
    os.mkdir(os.path.join(raw, b"album\xfe"))
    shutil.copyfile(src / "good.jpg", os.path.join(raw, b"album\xfe", b"inside.jpg"))
    before = tree_hashes(src)
    out = tmp_path / "Sorted"
    assert main(["sort", str(src), "--out", str(out), "--model", str(model_file)]) == 0
    printed = capsys.readouterr().out
    assert "Sorted 2 images" in printed
    assert f"not sorted: {src}/bad\\xff.jpg: file name is not valid text" in printed
    with open(out / "sorter-report.csv", newline="", encoding="utf-8-sig") as f:
        rows = {row["source"]: row for row in csv.DictReader(f)}
    assert rows[f"{src}/bad\\xff.jpg"]["status"] == "skipped"
    assert "rename the file" in rows[f"{src}/bad\\xff.jpg"]["error"]
    assert "rename the folder" in rows[f"{src}/album\\xfe"]["error"]
    assert {rows[str(src / n)]["status"] for n in ("good.jpg", "also good.png")} == {"copied"}
    placed = {Path(p).name for p in tree_hashes(out)}
    assert placed == {"good.jpg", "also good.png", "sorter-report.csv"}
    assert tree_hashes(src) == before


def test_a_users_own_sorter_report_is_never_overwritten(tmp_path, model_file, capsys) -> None:
    src = tmp_path / "Photos"
    make_image(src / "red.jpg", (220, 20, 20))
    make_image(src / "blue.png", (20, 20, 220))
    out = tmp_path / "Sorted"
    out.mkdir()
    mine = "name,size\nholiday.jpg,1200\n"
    (out / "sorter-report.csv").write_text(mine, encoding="utf-8")
    (out / "sorter-report (2).csv").write_bytes(b"")  # someone's empty file: not Sorter's either
    sort = ["sort", str(src), "--out", str(out), "--model", str(model_file)]
    for _ in range(2):  # a second run rewrites Sorter's own report, and no other file
        assert main(sort) == 0
        assert f"Report: {out / 'sorter-report (3).csv'}" in capsys.readouterr().out
    assert (out / "sorter-report.csv").read_text(encoding="utf-8") == mine
    assert (out / "sorter-report (2).csv").read_bytes() == b""
    assert not (out / "sorter-report (4).csv").exists()
    with open(out / "sorter-report (3).csv", newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert {Path(r["source"]).name for r in rows} == {"red.jpg", "blue.png"}
    assert {r["status"] for r in rows} == {"already there"}  # the second run's rows
    assert update_report(out, {src / "red.jpg": (["owls"], [out / "owls" / "red.jpg"])}) == 1
    assert (out / "sorter-report.csv").read_text(encoding="utf-8") == mine
