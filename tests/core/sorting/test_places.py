"""Default output folders for drives, shares, cards and mixed drops (Windows cases: pure paths)."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from fakes import make_image

from sorter import appdirs
from sorter.core.sorting import places, session
from sorter.core.sorting.sort import default_out

W = PureWindowsPath
PICTURES = W("C:/Users/Ana/Pictures")


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        (W("D:/"), PICTURES / "Sorted from D"),  # an SD card or USB drive
        (W("d:\\"), PICTURES / "Sorted from d"),
        (W("//server/share/"), PICTURES / "Sorted from share"),
        (W("//?/E:/"), PICTURES / "Sorted from E"),
        (W("C:/Users/Ana/Holiday"), W("C:/Users/Ana/Holiday (sorted)")),
        (W("D:/DCIM"), W("D:/DCIM (sorted)")),
        (W("//server/share/Photos"), W("//server/share/Photos (sorted)")),
    ],
)
def test_windows_drives_and_shares_go_to_pictures(root, expected):
    assert places.default_out_for(root, PICTURES) == expected


def test_posix_root_and_mounted_card():
    pictures = PurePosixPath("/home/ana/Pictures")
    assert places.default_out_for(PurePosixPath("/"), pictures) == pictures / "Sorted photos"
    card = PurePosixPath("/media/ana/EOS_DIGITAL")
    on_card = places.default_out_for(card, pictures, drive=True)
    assert on_card == pictures / "Sorted from EOS_DIGITAL"
    assert places.default_out_for(card, pictures) == card.with_name("EOS_DIGITAL (sorted)")


@pytest.mark.parametrize(
    ("folders", "expected"),
    [
        ([W("C:/Photos/2020"), W("c:/photos/2021/May")], W("C:/Photos")),  # case-insensitive
        ([W("C:/Users/Ana/Desktop"), W("C:/Photos")], W("C:/")),
        ([W("//server/share/a"), W("//SERVER/Share/b")], W("//server/share/")),
        ([W("C:/Photos"), W("D:/DCIM/100CANON")], None),  # two drives: commonpath raises here
        ([W("//server/share/a"), W("C:/a")], None),
        ([W("E:/")], W("E:/")),
    ],
)
def test_common_folder_of_a_drop(folders, expected):
    assert places.common_folder(folders) == expected


def test_items_from_different_drives_go_to_sorted_photos():
    root = places.common_folder([W("C:/Users/Ana/Desktop/a.jpg").parent, W("F:/b.jpg").parent])
    assert places.default_out_for(root, PICTURES) == PICTURES / "Sorted photos"


def test_drive_labels():
    assert [places.drive_label(p) for p in (W("D:/"), W("//nas/photos/"), PurePosixPath("/"))] == [
        "D",
        "photos",
        "",
    ]


def test_default_out_of_the_file_system_root_is_in_pictures():
    # Before: BadPathError, uncaught in the window (stuck on "Getting the model ready...").
    assert default_out(Path("/")) == appdirs.pictures_dir() / "Sorted photos"


def test_a_mounted_card_is_sorted_into_pictures(tmp_path, monkeypatch):
    card = tmp_path / "CARD"
    card.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == card or real_ismount(p))
    assert default_out(card) == appdirs.pictures_dir() / "Sorted from CARD"
    assert default_out(tmp_path / "Photos") == tmp_path / "Photos (sorted)"


def test_the_window_remembers_folders_but_not_drives_or_cards(tmp_path, monkeypatch):
    photos, card = tmp_path / "Photos", tmp_path / "CARD"
    make_image(photos / "2020" / "a.jpg")
    make_image(photos / "2021" / "b.jpg")
    card.mkdir()
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) in (card, Path("/")))
    loose = [photos / "2020" / "a.jpg", photos / "2021"]
    assert session.remembered_folder(loose) == photos
    assert session.proposed_out(loose) == tmp_path / "Photos (sorted)"
    assert session.remembered_folder([card]) is None
    assert session.proposed_out([card]) == appdirs.pictures_dir() / "Sorted from CARD"
    assert session.remembered_folder([Path("/")]) is None


ONEDRIVE_ENV = {
    "OneDrive": "C:\\Users\\Ana\\OneDrive",
    "OneDriveCommercial": "C:\\Users\\Ana\\Contoso Ltd",  # an organisation may rename it
}


@pytest.mark.parametrize(
    ("out", "root"),
    [
        (W("C:/Users/Ana/OneDrive/Pictures/Sorted from D"), W("C:/Users/Ana/OneDrive")),
        (W("c:/users/ana/onedrive/Holiday (sorted)"), W("C:/Users/Ana/OneDrive")),  # any case
        (W("C:/Users/Ana/Contoso Ltd/Photos (sorted)"), W("C:/Users/Ana/Contoso Ltd")),
        (W("E:/OneDrive - Contoso/Photos (sorted)"), W("E:/OneDrive - Contoso")),  # moved
        (W("D:/Backup/OneDrive/x"), W("D:/Backup/OneDrive")),  # no variable: named OneDrive
        (W("C:/Users/Ana/Pictures/Sorted from D"), None),
        (W("C:/Users/Ana/OneDriveTemp/x"), None),  # only the folder itself, or "OneDrive - "
        (W("C:/Users/Ana/OneDrive Photos/x"), None),
        (W("D:/"), None),
    ],
)
def test_onedrive_folder(out, root):
    assert places.onedrive_folder(out, ONEDRIVE_ENV) == root


def test_onedrive_variables_of_another_flavour_are_ignored():
    # A Linux path never lies under a Windows variable's folder (and nothing raises).
    assert places.onedrive_folder(PurePosixPath("/home/ana/out"), ONEDRIVE_ENV) is None
    assert places.onedrive_folder(PurePosixPath("/home/ana/OneDrive/out"), {}) is not None


def test_onedrive_warning_is_one_sentence_naming_the_folder():
    text = places.onedrive_warning(W("C:/Users/Ana/OneDrive/Pictures/out"), ONEDRIVE_ENV)
    assert "OneDrive (C:\\Users\\Ana\\OneDrive)" in text and "uploaded" in text
    assert text.count(". ") == 0 and text.endswith(".")
    assert places.onedrive_warning(W("C:/Users/Ana/Pictures/out"), ONEDRIVE_ENV) is None
