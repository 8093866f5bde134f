"""Scanning a source folder: extensions, hidden files, OUT inside SRC, links and loops, order."""

from __future__ import annotations

import os

import pytest
from fakes import make_image

from sorter.core.errors import BadPathError
from sorter.core.sorting.scan import scan


def names(result, root):
    return [p.relative_to(root).as_posix() for p in result.images]


def test_finds_every_image_extension_in_any_case(tmp_path):
    src = tmp_path / "src"
    exts = ["jpg", "JPEG", "Png", "gif", "BMP", "tif", "tiff", "webp", "heic", "HEIF"]
    for i, ext in enumerate(exts):
        (src / "deep" / str(i)).mkdir(parents=True)
        (src / "deep" / str(i) / f"img.{ext}").write_bytes(b"x")
    (src / "notes.txt").write_text("not an image")
    (src / "video.mp4").write_bytes(b"x")
    result = scan(src)
    assert len(result.images) == len(exts)
    assert all(p.suffix.lower().lstrip(".") in {e.lower() for e in exts} for p in result.images)


def test_order_is_sorted_and_stable(tmp_path):
    src = tmp_path / "src"
    for name in ["b/z.jpg", "a/y.jpg", "c.jpg", "a/x.png", "B2/q.jpg"]:
        make_image(src / name)
    first = scan(src)
    assert first.images == sorted(first.images)
    assert first.images == scan(src).images


def test_skips_hidden_and_system_files(tmp_path):
    src = tmp_path / "src"
    make_image(src / "ok.jpg")
    make_image(src / ".hidden.jpg")
    make_image(src / ".cache" / "inside.jpg")
    (src / "Thumbs.db").write_bytes(b"x")
    (src / "desktop.ini").write_text("[x]")
    result = scan(src)
    assert names(result, src) == ["ok.jpg"]
    reasons = {p.name: r for p, r in result.skipped}
    assert reasons[".hidden.jpg"] == "hidden file"
    assert reasons[".cache"] == "hidden file"
    assert reasons["Thumbs.db"] == "system file"
    assert reasons["desktop.ini"] == "system file"


def test_out_inside_src_is_skipped(tmp_path):
    src = tmp_path / "src"
    make_image(src / "a.jpg")
    out = src / "sorted"
    make_image(out / "cats" / "a.jpg")
    result = scan(src, out)
    assert names(result, src) == ["a.jpg"]
    assert (out, "the output folder") in result.skipped


def test_src_equal_out_is_refused(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(BadPathError, match="source folder"):
        scan(src, src)
    with pytest.raises(BadPathError, match="source folder"):
        scan(src, tmp_path / "x" / ".." / "src")


def test_out_holding_src_is_refused(tmp_path):
    src = tmp_path / "photos" / "2024"
    src.mkdir(parents=True)
    with pytest.raises(BadPathError, match="cannot hold"):
        scan(src, tmp_path / "photos")


def test_missing_or_file_src_is_refused(tmp_path):
    with pytest.raises(BadPathError, match="does not exist"):
        scan(tmp_path / "nope")
    file = make_image(tmp_path / "one.jpg")
    with pytest.raises(BadPathError, match="not a folder"):
        scan(file)


def test_symlink_loops_do_not_loop(tmp_path):
    src = tmp_path / "src"
    make_image(src / "a" / "one.jpg")
    os.symlink(src, src / "a" / "back-to-top")  # a loop through a folder link
    os.symlink("self.jpg", src / "self.jpg")  # a link to itself: ELOOP
    result = scan(src)
    assert names(result, src) == ["a/one.jpg"]
    reasons = {p.name: r for p, r in result.skipped}
    assert "already scanned" in reasons["back-to-top"]
    assert "cannot be followed" in reasons["self.jpg"]


def test_folder_link_outside_src_is_followed_once(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    make_image(elsewhere / "far.jpg")
    src = tmp_path / "src"
    src.mkdir()
    os.symlink(elsewhere, src / "link1")
    os.symlink(elsewhere, src / "link2")
    result = scan(src)
    assert names(result, src) == ["link1/far.jpg"]
    assert any(p.name == "link2" for p, _ in result.skipped)


def test_file_links_to_included_files_are_not_doubled(tmp_path):
    src = tmp_path / "src"
    make_image(src / "real.jpg")
    os.symlink(src / "real.jpg", src / "alias.jpg")
    os.symlink(tmp_path / "missing.jpg", src / "broken.jpg")
    result = scan(src)
    assert names(result, src) == ["real.jpg"]
    reasons = {p.name: r for p, r in result.skipped}
    assert "already included" in reasons["alias.jpg"]
    assert reasons["broken.jpg"] == "broken link"


def test_windows_hidden_attribute_is_honoured():
    from types import SimpleNamespace

    from sorter.core.sorting.scan import _hidden_reason

    def entry(name, attrs):
        st = SimpleNamespace(st_file_attributes=attrs)
        return SimpleNamespace(name=name, stat=lambda follow_symlinks=False: st)

    assert _hidden_reason(entry("photo.jpg", 0)) is None
    assert "Windows attribute" in _hidden_reason(entry("photo.jpg", 2))  # FILE_ATTRIBUTE_HIDDEN
    assert "Windows attribute" in _hidden_reason(entry("photo.jpg", 4))  # FILE_ATTRIBUTE_SYSTEM
    assert _hidden_reason(entry("Thumbs.db", 0)) == "system file"


def test_names_ending_in_dots_or_spaces_count_by_extension(tmp_path):
    src = tmp_path / "src"
    make_image(src / "a.jpg. ", fmt="JPEG")
    make_image(src / "b.png  ", fmt="PNG")
    (src / "notes.txt.").write_text("x")
    assert sorted(p.name for p in scan(src).images) == ["a.jpg. ", "b.png  "]
