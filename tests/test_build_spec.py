"""build.spec, run with stand-ins for PyInstaller: names, variants, dropped libraries, assets."""

from __future__ import annotations

import ast
import shutil
import sys
import types
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "build.spec"

BINARIES = [
    "torch/lib/libtorch_cpu.so",
    "torch/lib/libtorch_cuda.so",
    "torch/lib/libtorch_cuda_linalg.so",
    "nvidia/cudnn/lib/libcudnn.so.9",
    "nvidia/cudnn/lib/libcudnn_engines_precompiled.so.9",
    "nvidia/cu13/lib/libcusolver.so.12",
    "nvidia/cu13/lib/libcublasLt.so.13",
    "nvidia/cu13/lib/libcudart_static.a",
    "nvidia/nvshmem/lib/nvshmem_transport_ibrc.so.3",
    "torchvision/_C.so",
]

QT_DATAS = [
    "PySide6/Qt/translations/qtbase_de.qm",
    "PySide6\\translations\\qt_fr.qm",  # the Windows wheel's layout
    "PySide6/Qt/plugins/imageformats/libqjpeg.so",
]
QT_BINARIES = [
    "PySide6/Qt/plugins/tls/libqopensslbackend.so",
    "PySide6/Qt/plugins/platforms/libqxcb.so",
    "PySide6/Qt/lib/libQt6Widgets.so.6",
]


class Recorder:
    """Stands in for PyInstaller's build targets and remembers how it was called."""

    made: ClassVar[list[Recorder]] = []

    def __init__(self, *args, **kwargs) -> None:
        self.args, self.kwargs = args, kwargs
        Recorder.made.append(self)


class FakeAnalysis(Recorder):
    def __init__(self, scripts, **kwargs) -> None:
        super().__init__(scripts, **kwargs)
        self.binaries = [(name, "/src/" + name, "BINARY") for name in BINARIES + QT_BINARIES]
        self.datas = list(kwargs["datas"]) + [(name, "/src/" + name, "DATA") for name in QT_DATAS]
        self.pure = [("pandas.tests.frame", "x", "PYMODULE"), ("pandas.core", "x", "PYMODULE")]
        stems = [Path(s).stem for s in scripts]
        boot = ("pyiboot01_bootstrap", "b", "PYSOURCE")
        self.scripts = [boot, *[(s, s, "PYSOURCE") for s in stems]]


def _fake_hooks() -> types.ModuleType:
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    known = ["sorter.cli.sort_cmd", "fastai.callback.wandb", "fastai.callback.fp16", "fastcore.xt"]

    def collect_submodules(package, filter=None):
        chosen = [n for n in known if n.startswith(package + ".")]
        return [n for n in chosen if filter is None or filter(n)]

    hooks.collect_submodules = collect_submodules
    hooks.collect_dynamic_libs = lambda package, search_patterns: [(f"{package}/_C.so", package)]
    return hooks


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the spec with a small assets folder, including a sort output to leave out."""
    root = tmp_path / "Sörter src"
    (root / "installer").mkdir(parents=True)
    shutil.copy(SPEC, root / "build.spec")
    for path in [ROOT / "installer" / "version_info.py", *(ROOT / "installer").glob("pyi_rth_*")]:
        shutil.copy(path, root / "installer")
    (root / "sorter").mkdir()
    (root / "sorter" / "__init__.py").write_text('__version__ = "1.2.3"\n', encoding="utf-8")
    files = ("assets/samples/cat.jpg", "assets/samples (sorted)/cat.jpg", "assets/models/d.json")
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    return root


def run_spec(project: Path, monkeypatch, *, platform="linux", variant="cpu") -> dict:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setenv("SORTER_BUILD_VARIANT", variant)
    for name in ("version_info", "pyi_rth_absent"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", _fake_hooks())
    Recorder.made = []
    namespace = {
        "SPECPATH": str(project),
        "workpath": str(project / "work"),
        "Analysis": FakeAnalysis,
        **{name: Recorder for name in ("PYZ", "EXE", "COLLECT")},
    }
    spec = project / "build.spec"
    exec(compile(spec.read_text(encoding="utf-8"), str(spec), "exec"), namespace)
    return namespace


def _exes() -> dict[str, Recorder]:
    return {r.kwargs["name"]: r for r in Recorder.made if "console" in r.kwargs}


def test_packages_with_stand_ins_are_left_out_and_the_hook_installed(project, monkeypatch) -> None:
    ns = run_spec(project, monkeypatch)
    kwargs = ns["a"].kwargs
    assert {"pandas", "scipy", "sklearn"} <= set(kwargs["excludes"])
    hooks = [Path(hook).name for hook in kwargs["runtime_hooks"]]
    assert hooks == ["pyi_rth_sorter.py", "pyi_rth_absent.py"]
    assert all(Path(hook).is_file() for hook in kwargs["runtime_hooks"])


def test_unused_qt_parts_are_left_out(project, monkeypatch) -> None:
    ns = run_spec(project, monkeypatch)
    names = {entry[0] for entry in ns["a"].binaries + ns["a"].datas}
    assert {QT_DATAS[2], QT_BINARIES[1], QT_BINARIES[2]} <= names
    assert not names & {QT_DATAS[0], QT_DATAS[1], QT_BINARIES[0]}
    assert "PySide6.QtNetwork" in ns["a"].kwargs["excludes"]


def test_spec_is_valid_python() -> None:
    ast.parse(SPEC.read_text(encoding="utf-8"))


def test_two_executables_share_one_folder(project, monkeypatch) -> None:
    ns = run_spec(project, monkeypatch)
    exes = _exes()
    assert set(exes) == {"Sorter", "sorter"}
    assert exes["Sorter"].kwargs["console"] is False and exes["sorter"].kwargs["console"] is True
    collect = Recorder.made[-1]
    assert collect.kwargs["name"] == "Sorter" and set(collect.args[:2]) == set(exes.values())
    assert [s[0] for s in exes["Sorter"].args[1]] == ["pyiboot01_bootstrap", "__main__"]
    assert [s[0] for s in exes["sorter"].args[1]] == ["pyiboot01_bootstrap", "cli_entry"]
    assert ns["a"].kwargs["binaries"] == [("torchvision/_C.so", "torchvision")]


def test_windows_names_differ_beyond_case_and_get_version_info(project, monkeypatch) -> None:
    run_spec(project, monkeypatch, platform="win32", variant="cuda")
    names = set(_exes())
    assert names == {"Sorter", "sorter-cli"}
    assert len({n.lower() for n in names}) == 2
    version_text = Path(_exes()["sorter-cli"].kwargs["version"]).read_text(encoding="utf-8")
    assert "filevers=(1, 2, 3, 0)" in version_text and "'sorter-cli.exe'" in version_text


def _kept_binaries(ns: dict) -> set[str]:
    return {Path(entry[0]).name for entry in ns["a"].binaries}


def test_cpu_variant_drops_gpu_only_libraries(project, monkeypatch) -> None:
    kept = _kept_binaries(run_spec(project, monkeypatch, variant="cpu"))
    assert {"libtorch_cpu.so", "libtorch_cuda.so", "libcudnn.so.9", "libcublasLt.so.13"} <= kept
    dropped = {"libcudnn_engines_precompiled.so.9", "libcusolver.so.12", "libtorch_cuda_linalg.so"}
    assert not dropped & kept
    assert "libcudart_static.a" not in kept and "nvshmem_transport_ibrc.so.3" not in kept


def test_cuda_variant_keeps_gpu_libraries(project, monkeypatch) -> None:
    kept = _kept_binaries(run_spec(project, monkeypatch, variant="cuda"))
    assert {"libcudnn_engines_precompiled.so.9", "libcusolver.so.12"} <= kept
    assert "libcudart_static.a" not in kept


def test_auto_variant_follows_the_installed_torch(project, monkeypatch) -> None:
    import torch

    ns = run_spec(project, monkeypatch, variant="auto")
    assert ns["VARIANT"] == ("cuda" if torch.version.cuda else "cpu")


def test_unknown_variant_stops_the_build(project, monkeypatch) -> None:
    with pytest.raises(SystemExit, match="SORTER_BUILD_VARIANT"):
        run_spec(project, monkeypatch, variant="rocm")


def test_assets_are_bundled_without_sort_outputs(project, monkeypatch) -> None:
    ns = run_spec(project, monkeypatch)
    bundled = {(Path(src).name, dest) for src, dest in ns["a"].kwargs["datas"]}
    assert bundled == {("cat.jpg", "assets/samples"), ("d.json", "assets/models")}


def test_hidden_imports_and_excludes(project, monkeypatch) -> None:
    ns = run_spec(project, monkeypatch)
    analysis = ns["a"].kwargs
    assert "sorter.cli.sort_cmd" in analysis["hiddenimports"]  # imported by name only
    assert "fastai.callback.fp16" in analysis["hiddenimports"]
    assert "fastai.callback.wandb" not in analysis["hiddenimports"]
    assert {"spacy", "tkinter", "IPython", "triton"} <= set(analysis["excludes"])
    assert [m[0] for m in ns["a"].pure] == ["pandas.core"]


def test_installer_and_workflow_use_the_names_the_spec_builds(project, monkeypatch) -> None:
    run_spec(project, monkeypatch, platform="win32", variant="cuda")
    gui, cli = (f"{name}.exe" for name in sorted(_exes()))  # "Sorter" sorts before "sorter-cli"
    iss = (ROOT / "installer" / "sorter.iss").read_text(encoding="utf-8")
    assert f'#define GuiExe "{gui}"' in iss
    assert "PrivilegesRequired=lowest" in iss
    for key in ("Directory\\shell\\{#VerbKey}", "Directory\\Background\\shell\\{#VerbKey}"):
        assert f'Root: HKCU; Subkey: "Software\\Classes\\{key}\\command"' in iss
    workflow = (ROOT / ".github" / "workflows" / "windows.yml").read_text(encoding="utf-8")
    assert f"dist\\Sorter\\{cli} self-test" in workflow and f"dist\\Sorter\\{gui}" in workflow
    assert "download.pytorch.org/whl/cu" in workflow  # the CPU leg takes PyPI's Windows torch


def test_the_real_assets_are_bundled_with_the_self_tests_heic(monkeypatch) -> None:
    # The spec run on this repository's own assets folder: the self-test reads sample.heic
    # through asset_path("selftest", "sample.heic"), so the bundle must hold it there.
    from sorter.selftest import HEIC_SAMPLE

    ns = run_spec(ROOT, monkeypatch)
    bundled = {(Path(src).name, dest) for src, dest in ns["a"].kwargs["datas"]}
    name = HEIC_SAMPLE[-1]
    assert (name, "/".join(("assets", *HEIC_SAMPLE[:-1]))) in bundled
    assert (ROOT / "assets" / Path(*HEIC_SAMPLE)).stat().st_size < 20_000  # a few KB


def _fake_torch(monkeypatch, tmp_path: Path, cuda: str | None) -> None:
    """The spec reads torch/version.py to tell a CUDA build from a CPU one: give it one."""
    import importlib.util

    torch_dir = tmp_path / "fake-torch"
    torch_dir.mkdir()
    (torch_dir / "version.py").write_text(f"cuda = {cuda!r}\n", encoding="utf-8")
    spec = types.SimpleNamespace(submodule_search_locations=[str(torch_dir)])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)


def test_windows_cpu_variant_refuses_a_cuda_torch(project, monkeypatch, tmp_path) -> None:
    # torch_cuda.dll links cuSOLVER directly: a CUDA build with DLLs deleted cannot load.
    _fake_torch(monkeypatch, tmp_path, "13.0")
    with pytest.raises(SystemExit, match="needs a CPU torch"):
        run_spec(project, monkeypatch, platform="win32", variant="cpu")


def test_windows_cpu_variant_from_a_cpu_torch_deletes_nothing(project, monkeypatch, tmp_path):
    _fake_torch(monkeypatch, tmp_path, None)
    kept = _kept_binaries(run_spec(project, monkeypatch, platform="win32", variant="cpu"))
    assert {"libcusolver.so.12", "libcudnn_engines_precompiled.so.9"} <= kept
    assert "libcudart_static.a" not in kept  # static archives are never needed


def test_linux_cpu_variant_may_come_from_a_cuda_torch(project, monkeypatch, tmp_path) -> None:
    _fake_torch(monkeypatch, tmp_path, "13.0")
    kept = _kept_binaries(run_spec(project, monkeypatch, platform="linux", variant="cpu"))
    assert "libcusolver.so.12" not in kept and "libtorch_cuda.so" in kept


def test_the_licence_files_are_bundled_beside_the_assets(monkeypatch) -> None:
    # Help > About > Licences reads them at the bundle's root (appdirs.asset_root()).
    ns = run_spec(ROOT, monkeypatch)
    bundled = {(Path(src).name, dest) for src, dest in ns["a"].kwargs["datas"]}
    assert {("LICENSE", "."), ("THIRD_PARTY_LICENSES.md", ".")} <= bundled
