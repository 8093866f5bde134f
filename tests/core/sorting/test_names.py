"""Windows-safe names: forbidden characters, device names, uniqueness, numbering, long paths."""

from __future__ import annotations

import re
from pathlib import PureWindowsPath

import pytest

from sorter.core.files import long_path
from sorter.core.sorting.names import (
    MAX_FOLDER_CHARS,
    is_device_name,
    numbered_name,
    safe_file_name,
    safe_folder_name,
    unique_folder_names,
)

WINDOWS_BAD = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cats", "cats"),
        ("a/b\\c", "a_b_c"),
        ('who? "me" <you> | *all*: yes', "who_ _me_ _you_ _ _all__ yes"),
        ("tabs\tand\nnewlines", "tabs_and_newlines"),
        ("ends with dots...", "ends with dots"),
        ("ends with space   ", "ends with space"),
        ("CON", "CON_"),
        ("con.txt", "con_.txt"),
        ("LPT9", "LPT9_"),
        ("Com1 ", "Com1_"),
        ("", "category"),
        ("...", "category"),
        ("..", "category"),
        ("Küche & Café", "Küche & Café"),
        (".sorter", "sorter"),
        (". hidden", "hidden"),
    ],
)
def test_safe_folder_name(name, expected):
    assert safe_folder_name(name) == expected


@pytest.mark.parametrize("name", ["x" * 300, "é" * 300, "a." * 200, "CON" + " " * 100])
def test_safe_folder_name_is_bounded_and_windows_safe(name):
    result = safe_folder_name(name)
    assert 0 < len(result) <= MAX_FOLDER_CHARS
    assert not WINDOWS_BAD.search(result)
    assert not result.endswith((".", " "))
    assert not is_device_name(result)


def test_device_names():
    assert is_device_name("nul")
    assert is_device_name("AUX.jpg")
    assert is_device_name("com3.tar.gz")
    for console in ("CONIN$", "conout$", "CONIN$.txt", "CONOUT$ .jpg"):  # the console, like CON
        assert is_device_name(console), console
    assert safe_folder_name("CONIN$") == "CONIN$_"
    assert not is_device_name("COM0") and not is_device_name("conin")
    assert not is_device_name("console")
    assert not is_device_name("COM10")
    assert not is_device_name("com0")


def test_unique_folder_names_case_insensitive_and_never_reserved():
    categories = ["Cats", "cats", "CATS?", "uncertain", "Unreadable", "a:b", "a?b"]
    folders = unique_folder_names(categories)
    assert folders["Cats"] == "Cats"
    lowered = [f.casefold() for f in folders.values()]
    assert len(set(lowered)) == len(lowered)  # unique even on a case-insensitive disk
    assert "uncertain" not in lowered and "unreadable" not in lowered
    assert folders["uncertain"] == "uncertain (2)"
    assert folders["a:b"] == "a_b" and folders["a?b"] == "a_b (2)"
    assert unique_folder_names(["Sorter-Report.CSV"])["Sorter-Report.CSV"] != "Sorter-Report.CSV"


def test_unique_folder_names_keeps_order_and_long_names_unique():
    long = ["x" * 100 + str(i) for i in range(3)]
    folders = unique_folder_names(long)
    assert list(folders) == long
    assert len({f.casefold() for f in folders.values()}) == 3
    assert all(len(f) <= MAX_FOLDER_CHARS for f in folders.values())


@pytest.mark.parametrize(
    ("name", "n", "expected"),
    [
        ("a.jpg", 1, "a.jpg"),
        ("a.jpg", 2, "a (2).jpg"),
        ("a.b.jpg", 3, "a.b (3).jpg"),
        ("README", 2, "README (2)"),
        (".hidden", 2, ".hidden (2)"),
    ],
)
def test_numbered_name(name, n, expected):
    assert numbered_name(name, n) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("CON.jpg", "CON_.jpg"),
        ("nul", "nul_"),
        ("photo.jpg. . ", "photo.jpg"),
        ("a:b?.png", "a_b_.png"),
        ("日本の写真.jpg", "日本の写真.jpg"),
    ],
)
def test_safe_file_name(name, expected):
    assert safe_file_name(name) == expected


def test_safe_file_name_keeps_extension_when_shortened():
    name = "é" * 200 + ".jpeg"
    result = safe_file_name(name)
    assert result.endswith(".jpeg")
    assert len(result.encode("utf-8")) <= 240


def test_long_path_leaves_short_and_non_windows_paths_alone():
    short = "C:\\Users\\me\\photo.jpg"
    assert long_path(short, windows=True) == short
    long = "/home/me/" + "x" * 300
    assert long_path(long, windows=False) == long


def test_long_path_prefixes_long_windows_paths():
    deep = "C:\\Users\\me\\" + "\\".join(["folder" * 8] * 6) + "\\photo.jpg"
    assert len(deep) > 260
    result = long_path(deep, windows=True)
    assert result == "\\\\?\\" + deep
    assert PureWindowsPath(result[4:]) == PureWindowsPath(deep)
    assert long_path(result, windows=True) == result  # already prefixed: unchanged


def test_long_path_unc_share_and_forward_slashes():
    unc = "\\\\server\\share\\" + "d" * 300 + "\\a.jpg"
    assert long_path(unc, windows=True) == "\\\\?\\UNC\\server\\share\\" + "d" * 300 + "\\a.jpg"
    slashed = "C:/photos/" + "e" * 300
    assert long_path(slashed, windows=True) == "\\\\?\\C:\\photos\\" + "e" * 300


def test_long_path_relative_is_left_alone():
    rel = "photos\\" + "r" * 300
    assert long_path(rel, windows=True) == rel


def test_a_folder_path_takes_the_prefix_from_248_characters():
    # CreateDirectoryW fails from MAX_PATH - 12: a folder of 248 characters needs the prefix,
    # a file path of the same length does not.
    folder = "C:\\Photos\\" + "f" * (248 - len("C:\\Photos\\"))
    assert len(folder) == 248
    assert long_path(folder, windows=True, folder=True) == "\\\\?\\" + folder
    assert long_path(folder, windows=True) == folder
    assert long_path(folder[:-1], windows=True, folder=True) == folder[:-1]
    unc = "\\\\nas\\photos\\" + "u" * 240
    assert long_path(unc, windows=True, folder=True).startswith("\\\\?\\UNC\\nas\\photos\\")
