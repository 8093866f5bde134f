"""The self-test's own logic: outcomes of a sort, the window subprocess, the exit code."""

from __future__ import annotations

import io
import shutil
import sys
import types
from pathlib import Path

import pytest

from sorter import selftest


def _image(path: Path, payload: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    folder = tmp_path / "samples"
    _image(folder / "cat.jpg", b"cat")
    _image(folder / "sub" / "Bus.PNG", b"bus")
    _image(folder / "blurry.webp", b"blurry")
    (folder / "LICENSE.txt").write_text("not an image", encoding="utf-8")
    return folder


def test_sample_images_are_recursive_and_ignore_non_images(samples: Path) -> None:
    names = [p.name for p in selftest.sample_images(samples)]
    assert sorted(names) == ["Bus.PNG", "blurry.webp", "cat.jpg"]
    assert selftest.sample_images(samples / "missing") == []


def test_outcomes_match_copies_by_content_not_by_name(samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _image(out / "animals" / "cat (2).jpg", b"cat")  # renamed by a collision: still found
    _image(out / "pets" / "cat.jpg", b"cat")
    _image(out / "uncertain" / "blurry.webp", b"blurry")
    images = selftest.sample_images(samples)
    outcomes = {p.name: o for p, o in selftest.sample_outcomes(images, out).items()}
    expected = {"cat.jpg": "copied:animals,pets", "blurry.webp": "uncertain", "Bus.PNG": "missing"}
    assert outcomes == expected


def test_a_file_named_in_the_report_counts_as_reported(samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / selftest.REPORT_NAME).write_text(
        "source,status,error\nC:\\photos\\sub\\Bus.PNG,unreadable,truncated\n", encoding="utf-8"
    )
    outcomes = selftest.sample_outcomes(selftest.sample_images(samples), out)
    assert {p.name: o for p, o in outcomes.items()}["Bus.PNG"] == "reported"


def test_describe_outcomes_counts_per_folder() -> None:
    text = selftest.describe_outcomes(["copied:animals,pets", "copied:animals", "uncertain"])
    assert text == "2 copied (animals 2, pets 1), 1 uncertain"
    assert selftest.describe_outcomes(["reported"]) == "0 copied, 1 reported"


def _fake_sort_module(monkeypatch: pytest.MonkeyPatch, sort_folder) -> None:
    module = types.ModuleType("sorter.core.sorting.sort")
    module.sort_folder = sort_folder
    monkeypatch.setitem(sys.modules, "sorter.core.sorting.sort", module)


def _good_sort(src: Path, out: Path, *, model) -> None:
    for image in selftest.sample_images(src):
        folder = "uncertain" if "blurry" in image.name else "things"
        _image(out / folder / image.name, image.read_bytes())


def test_sort_samples_passes_when_every_image_lands(samples, monkeypatch) -> None:
    _fake_sort_module(monkeypatch, _good_sort)
    assert selftest.sort_samples(object(), samples) == "3 samples: 2 copied (things 2), 1 uncertain"


def test_sort_samples_fails_when_an_image_is_lost(samples, monkeypatch) -> None:
    def loses_one(src: Path, out: Path, *, model) -> None:
        _good_sort(src, out, model=model)
        shutil.rmtree(out / "uncertain")

    _fake_sort_module(monkeypatch, loses_one)
    with pytest.raises(selftest.SelfTestFailure, match="neither copied nor reported"):
        selftest.sort_samples(object(), samples)


def test_sort_samples_fails_when_the_sources_change(samples, monkeypatch) -> None:
    def writes_into_source(src: Path, out: Path, *, model) -> None:
        _good_sort(src, out, model=model)
        (src / "cat.jpg").write_bytes(b"modified")

    _fake_sort_module(monkeypatch, writes_into_source)
    with pytest.raises(selftest.SelfTestFailure, match="changed the sample folder"):
        selftest.sort_samples(object(), samples)


def test_window_only_run_reports_and_returns_the_exit_code(monkeypatch) -> None:
    monkeypatch.setenv(selftest.WINDOW_ONLY_ENV, "1")
    lines: list[str] = []
    seen: list[float] = []

    def window(timeout_s: float) -> int:
        seen.append(timeout_s)
        return 0

    assert selftest.run_self_test(window, timeout_s=7, echo=lines.append) == 0
    assert seen == [7]
    assert any(line.startswith("[ok] main window") for line in lines)
    assert selftest.run_self_test(lambda t: 3, echo=lines.append) == 1
    assert "exited with code 3" in lines[-2] and lines[-1].startswith("Self-test FAILED")


def test_a_crashing_check_fails_the_run_without_raising(monkeypatch) -> None:
    def boom() -> str:
        raise RuntimeError("no libtorch_cuda.so")

    monkeypatch.setattr(selftest, "check_libraries", boom)
    monkeypatch.setattr(selftest, "check_training_libraries", lambda: "fastai stub")
    monkeypatch.setattr(selftest.CoreChecks, "check_assets", lambda self: "assets stub")
    monkeypatch.setattr(selftest.CoreChecks, "check_model", lambda self: boom())
    lines: list[str] = []
    assert selftest.run_self_test(None, echo=lines.append) == 1
    text = "\n".join(lines)
    assert "[FAIL] libraries" in text and "no libtorch_cuda.so" in text
    assert "skipped: the default model did not load" in text
    assert "FAILED (libraries, default model, sort samples)" in lines[-1]


def test_subprocess_window_check_passes_env_and_echoes_output(monkeypatch) -> None:
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    child = (
        "import os, sys; print('window ok ö', sys.argv[1:]);"
        f"sys.exit(0 if os.environ['{selftest.WINDOW_ONLY_ENV}'] == '1' else 5)"
    )
    monkeypatch.setattr(selftest, "gui_command", lambda: [sys.executable, "-c", child])
    lines: list[str] = []
    assert selftest.subprocess_window_check(lines.append)(30) == 0
    assert "  | window ok ö ['--self-test', '--timeout', '30']" in lines


def test_subprocess_window_check_times_out(monkeypatch) -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    monkeypatch.setattr(selftest, "gui_command", lambda: sleeper)
    monkeypatch.setattr(selftest, "PROCESS_GRACE_S", 0.0)
    with pytest.raises(selftest.SelfTestFailure, match="did not close within"):
        selftest.subprocess_window_check(lambda line: None)(0.5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="offscreen rule is for Linux")
def test_needs_offscreen_only_without_a_display() -> None:
    assert selftest.needs_offscreen({})
    assert not selftest.needs_offscreen({"DISPLAY": ":0"})
    assert not selftest.needs_offscreen({"WAYLAND_DISPLAY": "wayland-0"})
    assert not selftest.needs_offscreen({"QT_QPA_PLATFORM": "xcb"})


def test_gui_command_frozen_is_the_sibling_executable(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "_internal"), raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "Sörter test" / "sorter-cli.exe"))
    command = selftest.gui_command()
    assert Path(command[0]).parent == tmp_path / "Sörter test"
    assert Path(command[0]).stem == "Sorter"


def test_gui_command_from_source_runs_the_package() -> None:
    assert selftest.gui_command() == [sys.executable, "-m", "sorter"]


def test_console_echo_survives_no_stdout_and_narrow_encodings(monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    selftest.console_echo("no console in a windowed exe")
    narrow = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr(sys, "stdout", narrow)
    selftest.console_echo("Sörter")
    narrow.seek(0)
    assert narrow.read() == "S?rter\n"


def test_selftest_module_stays_qt_free() -> None:
    import ast

    tree = ast.parse(Path(selftest.__file__).read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {n for n in names if n.startswith(("PySide6", "sorter.gui", "shiboken6"))}


@pytest.mark.slow
def test_core_checks_pass_with_the_real_default_model_and_samples(monkeypatch) -> None:
    """The real thing from source: default model, real sort_folder, bundled samples."""
    monkeypatch.setattr(selftest, "check_training_libraries", lambda: "skipped here (slow)")
    lines: list[str] = []
    results = selftest.CoreChecks("cpu").run(lines.append)
    assert all(r.ok for r in results), "\n".join(lines)
    sort_line = next(line for line in lines if line.startswith("[ok] sort samples"))
    assert "copied" in sort_line


def test_model_check_fails_when_scoring_runs_unfolded(monkeypatch) -> None:
    import copy

    from sorter.core.model import modelfile as model_module

    checks = selftest.CoreChecks(device="cpu")
    assert "52 BatchNorm layers folded for scoring" in checks.check_model()
    # A build where torch.fx cannot trace: the fallback copy keeps every BatchNorm.
    monkeypatch.setattr(model_module, "fold_batchnorm", copy.deepcopy)
    with pytest.raises(selftest.SelfTestFailure, match="still has 52 of 52 BatchNorm layers"):
        selftest.CoreChecks(device="cpu").check_model()


def test_heic_check_decodes_the_bundled_sample() -> None:
    assert selftest.check_heic() == "sample.heic decoded, 160 x 106"


def _heic_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run the core checks with every check but the HEIC one stubbed; the lines printed."""
    monkeypatch.setattr(selftest, "check_libraries", lambda: "stub")
    monkeypatch.setattr(selftest, "check_training_libraries", lambda: "stub")
    for name in ("check_assets", "check_model", "check_sort"):
        monkeypatch.setattr(selftest.CoreChecks, name, lambda self: "stub")
    lines: list[str] = []
    assert selftest.run_self_test(None, echo=lines.append) == 1
    return lines


def test_self_test_fails_without_pillow_heif(monkeypatch) -> None:
    from sorter.core.model import decode

    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # `import pillow_heif` raises
    monkeypatch.setattr(decode, "_heif_ready", False)
    monkeypatch.setattr(decode, "_heif_problem", None)
    lines = _heic_only(monkeypatch)
    line = next(line for line in lines if "HEIC photos" in line)
    assert (
        line.startswith("[FAIL] HEIC photos")
        and "pillow-heif cannot be used (ModuleNotFoundError" in line
    )
    assert "FAILED (HEIC photos)" in lines[-1]


def test_self_test_fails_when_heic_does_not_decode(monkeypatch) -> None:
    from PIL import Image

    selftest.check_heic()  # pillow-heif registered: now take its opener away again
    Image.init()  # every plugin registered first, or they would land in the patched list only
    monkeypatch.setattr(Image, "ID", [i for i in Image.ID if i != "HEIF"])
    monkeypatch.delitem(Image.OPEN, "HEIF")
    lines = _heic_only(monkeypatch)
    line = next(line for line in lines if "HEIC photos" in line)
    assert line.startswith("[FAIL] HEIC photos") and "sample.heic" in line
