"""Hostile and odd input, each a real file: no crash, nothing lost or overwritten, sources kept."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from fakes import make_image, make_tiny_model, tree_hashes
from PIL import Image

import sorter.core.sorting.safecopy as safecopy
from sorter.core.errors import BadPathError, ModelFileError, OutOfSpaceError
from sorter.core.sorting.report import ALREADY_THERE, COPIED, SKIPPED, UNREADABLE
from sorter.core.sorting.sort import sort_folder

OK = (COPIED, ALREADY_THERE)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from sorter.core.model.modelfile import load_model

    return load_model(make_tiny_model(tmp_path_factory.mktemp("m") / "tiny.pth"), "cpu")


def sort_checked(src: Path, out: Path, model, **kw):
    """Sort with the real model; check no source changed and every image is accounted for.

    Returns {source name: outcome}.
    """
    before = sources(src, out)
    summary = sort_folder(src, out, model=model, batch_size=4, **kw)
    assert sources(src, out) == before, "a source file changed"
    outcomes = {o.source.name: o for o in summary.outcomes}
    for outcome in summary.outcomes:
        if outcome.status in OK:
            for dest in outcome.destinations:
                assert (out / dest).read_bytes() == outcome.source.read_bytes()
        else:
            assert outcome.status in (UNREADABLE, SKIPPED) and outcome.error, outcome
    assert not list(out.rglob(f"{safecopy.TEMP_PREFIX}*"))
    return outcomes


def sources(src: Path, out: Path) -> dict[str, str]:
    """Hashes of every file under src, leaving out OUT when it lies inside."""
    inside = out.relative_to(src).as_posix() + "/" if out.is_relative_to(src) else None
    return {k: v for k, v in tree_hashes(src).items() if not (inside and k.startswith(inside))}


def jpeg_bytes(size=(64, 48), **kw) -> bytes:
    noise = Image.effect_noise(size, 60).convert("RGB")
    buf = io.BytesIO()
    noise.save(buf, "JPEG", **kw)
    return buf.getvalue()


def test_truncated_jpeg_empty_file_and_text_named_png(tmp_path, model):
    src = tmp_path / "src"
    src.mkdir()
    (src / "truncated.jpg").write_bytes(jpeg_bytes()[:300])
    (src / "empty.jpg").write_bytes(b"")
    (src / "letter.png").write_text("Dear friend, this is not a picture.")
    make_image(src / "fine.jpg")
    got = sort_checked(src, tmp_path / "out", model)
    assert got["fine.jpg"].status == COPIED
    assert got["truncated.jpg"].status == UNREADABLE
    assert "truncated" in got["truncated.jpg"].error or "damaged" in got["truncated.jpg"].error
    assert got["empty.jpg"].status == UNREADABLE and "empty" in got["empty.jpg"].error
    assert got["letter.png"].status == UNREADABLE and "not an image" in got["letter.png"].error


def test_huge_images(tmp_path, model):
    src = tmp_path / "src"
    src.mkdir()
    Image.new("L", (10000, 8200), 128).save(src / "82mp.jpg", quality=30)  # 82 MP: decodes small
    Image.new("L", (10000, 9000), 0).save(src / "90mp.png", compress_level=1)  # over the limit
    got = sort_checked(src, tmp_path / "out", model)
    assert got["82mp.jpg"].status == COPIED
    assert got["90mp.png"].status == UNREADABLE and "too large" in got["90mp.png"].error


def test_unusual_modes_and_formats(tmp_path, model):
    import pillow_heif

    src = tmp_path / "src"
    src.mkdir()
    Image.new("CMYK", (40, 30), (0, 200, 200, 0)).save(src / "cmyk.jpg")
    Image.fromarray(__import__("numpy").full((30, 40), 40000, "uint16")).save(src / "deep16.png")
    assert Image.open(src / "deep16.png").mode.startswith("I")
    Image.new("RGB", (40, 30), (0, 90, 200)).convert("P").save(src / "palette.gif")
    frames = [Image.new("RGB", (40, 30), c).convert("P") for c in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(src / "animated.gif", save_all=True, append_images=frames[1:], duration=100)
    pillow_heif.register_heif_opener()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(src / "phone.heic")
    rotated = Image.new("RGB", (40, 30), (200, 200, 0))
    exif = rotated.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90 when shown
    rotated.save(src / "rotated.jpg", exif=exif)
    Image.new("RGBA", (40, 30), (0, 0, 0, 0)).save(src / "transparent.webp")
    Image.new("RGB", (40, 30), (9, 9, 9)).save(src / "scan.tiff")
    Image.new("RGB", (40, 30), (9, 90, 9)).save(src / "old.bmp")
    got = sort_checked(src, tmp_path / "out", model)
    assert {name: o.status for name, o in got.items()} == {name: COPIED for name in got}
    assert len(got) == 9
    copy = next((tmp_path / "out").rglob("rotated.jpg"))
    assert Image.open(copy).getexif()[0x0112] == 6  # the copy is the file, EXIF and all


def test_same_names_non_ascii_device_names_and_trailing_dots(tmp_path, model):
    src = tmp_path / "src"
    for folder in ["2019", "2020", "2021"]:
        make_image(src / folder / "IMG_0001.JPG", ((int(folder) - 2019) * 100, 50, 200))
    make_image(src / "2019" / "copy" / "IMG_0001.JPG", (0, 50, 200))  # 2019's twin: skipped
    make_image(src / "Čeština" / "фото 日本.jpg", (1, 2, 3))
    make_image(src / "CON.jpg", fmt="JPEG")
    make_image(src / "Trip. " / "sunset.jpg. ", (250, 120, 0), fmt="JPEG")
    make_image(src / "aux.png", fmt="PNG")
    out = tmp_path / "out"
    got = sort_checked(src, out, model)
    assert all(o.status in OK for o in got.values())
    names = [p.name for p in out.rglob("*") if p.is_file() and p.parent.name != ".sorter"]
    copies = [p for p in out.rglob("IMG_0001*")]
    assert len({p.read_bytes() for p in copies}) == 3  # all three kept, none overwritten
    assert "фото 日本.jpg" in names and "CON_.jpg" in names and "aux_.png" in names
    assert "sunset.jpg" in names


def test_very_long_paths(tmp_path, model):
    deep = tmp_path / "src"
    while len(str(deep)) < 300:
        deep = deep / ("very long folder name " * 3).strip()
    image = make_image(deep / ("a long photo name " * 6 + ".jpg"))
    out = tmp_path / ("output " * 30).strip()
    got = sort_checked(tmp_path / "src", out, model)
    assert got[image.name].status == COPIED
    assert len(str(image)) > 260


def test_symlink_loop_and_out_inside_src(tmp_path, model):
    src = tmp_path / "src"
    make_image(src / "a" / "pic.jpg")
    os.symlink(src, src / "a" / "loop")
    os.symlink("selfloop.jpg", src / "selfloop.jpg")
    out = src / "sorted"
    got = sort_checked(src, out, model)
    assert got["pic.jpg"].status == COPIED
    assert got["loop"].status == SKIPPED and got["selfloop.jpg"].status == SKIPPED
    again = sort_checked(src, out, model)  # OUT inside SRC is never sorted into itself
    assert "sorted" in again and again["sorted"].error == "the output folder"
    assert again["pic.jpg"].status == ALREADY_THERE


def test_src_equal_out_refused(tmp_path, model):
    make_image(tmp_path / "src" / "a.jpg")
    with pytest.raises(BadPathError):
        sort_folder(tmp_path / "src", tmp_path / "src", model=model)


def test_read_only_source(tmp_path, model):
    src = tmp_path / "src"
    image = make_image(src / "locked.jpg")
    image.chmod(0o444)
    src.chmod(0o555)
    try:
        got = sort_checked(src, tmp_path / "out", model)
        assert got["locked.jpg"].status == COPIED
        assert (image.stat().st_mode & 0o777) == 0o444
    finally:
        src.chmod(0o755)


def _sort_as_nobody(src: Path, out: Path) -> dict:
    """Fork, drop root, sort with a real decoder; return {name: [status, error]}."""
    from sorter.core.model.decode import open_image
    from sorter.core.sorting.sort import sort_folder as sort_in_child

    def decode_score(model, paths, **kw):
        for p in paths:
            try:
                open_image(p, 32)
                yield type("S", (), {"path": p, "scores": [0.9, 0.1], "error": None})
            except Exception as exc:
                yield type("S", (), {"path": p, "scores": None, "error": str(exc)})

    fake = type(
        "M",
        (),
        {"path": None, "categories": ["cats", "dogs"], "device": "cpu", "default_threshold": 0.5,
         "thresholds": {}, "empty_category": None},
    )  # fmt: skip
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read)
            os.setgid(65534)
            os.setuid(65534)
            summary = sort_in_child(src, out, model=fake, score=decode_score)
            data = {o.source.name: [o.status, o.error] for o in summary.outcomes}
            os.write(write, json.dumps(data).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the unprivileged sort failed"
    return json.loads(text)


@pytest.mark.skipif(not hasattr(os, "setuid"), reason="needs POSIX users")
def test_permission_denied_file(model):
    if os.geteuid() != 0:
        pytest.skip("runs as root and drops to 'nobody'; as a normal user chmod 000 suffices")
    base = Path(tempfile.mkdtemp(prefix="sorter-perm-"))
    try:
        base.chmod(0o777)
        src = base / "src"
        make_image(src / "open.jpg")
        secret = make_image(src / "secret.jpg")
        for path in (src, src / "open.jpg"):
            os.chown(path, 65534, 65534)
        secret.chmod(0o000)
        result = _sort_as_nobody(src, base / "out")
        assert result["open.jpg"][0] == COPIED
        assert result["secret.jpg"][0] == UNREADABLE
        assert "permission denied" in result["secret.jpg"][1]
        assert secret.stat().st_mode & 0o777 == 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_full_disk_simulated(tmp_path, model, monkeypatch):
    src = tmp_path / "src"
    for i in range(4):
        make_image(src / f"p{i}.jpg", (i * 60, 10, 10))

    def disk_full(source, tmp):
        Path(tmp).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safecopy, "_copy_bytes", disk_full)
    with pytest.raises(OutOfSpaceError, match="Free some space"):
        sort_folder(src, tmp_path / "out", model=model)
    assert not [
        p for p in (tmp_path / "out").rglob("*") if p.is_file() and ".sorter" not in p.parts
    ]
    monkeypatch.undo()
    got = sort_checked(src, tmp_path / "out", model)
    assert all(o.status == COPIED for o in got.values())


def test_full_disk_real_tmpfs(tmp_path, model):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tiny tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(disk)]).returncode:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        src = tmp_path / "src"
        src.mkdir()
        for i in range(6):
            Image.effect_noise((300, 300), 90 + i).convert("RGB").save(src / f"n{i}.png")
        with pytest.raises(OutOfSpaceError):
            sort_folder(src, disk / "out", model=model)
        placed = [p for p in (disk / "out").rglob("*.png")]
        assert all(p.read_bytes() == (src / p.name).read_bytes() for p in placed)
        assert not list(disk.rglob(f"{safecopy.TEMP_PREFIX}*"))
        subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True)  # space freed
        got = sort_checked(src, disk / "out", model)
        assert all(o.status in OK for o in got.values())
    finally:
        subprocess.run(["umount", str(disk)])


def test_corrupt_model_and_model_for_another_architecture(tmp_path):
    from sorter.core.model.modelfile import load_model, read_model_file, save_model

    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(os.urandom(2048))
    with pytest.raises(ModelFileError):
        load_model(corrupt, "cpu")
    good = make_tiny_model(tmp_path / "good.pth")
    half = tmp_path / "half.pth"
    half.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelFileError):
        load_model(half, "cpu")
    meta, weights = read_model_file(good)
    other = tmp_path / "other.pth"
    save_model(other, meta.replace(arch="mobilenet_v2"), weights)
    with pytest.raises(ModelFileError, match="mobilenet_v2"):
        load_model(other, "cpu")
