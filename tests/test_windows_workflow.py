"""The Windows workflow, read as text: the checks it must run (no Windows runner here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "windows.yml"


def _job() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["build"]


def _step(words: str) -> dict:
    found = [s for s in _job()["steps"] if words.lower() in s.get("name", "").lower()]
    assert len(found) == 1, words
    return found[0]


def test_free_disk_is_printed_first():
    first = _job()["steps"][0]
    assert "free disk" in first["name"].lower() and "Get-PSDrive" in first["run"]


def test_pip_cache_is_kept_per_variant():
    cache = [s for s in _job()["steps"] if s.get("uses", "").startswith("actions/cache")]
    assert len(cache) == 1 and "pip" in cache[0]["with"]["path"].lower()
    assert "matrix.variant" in cache[0]["with"]["key"]


def test_cpu_variant_is_pypis_cpu_wheel_and_cuda_packs_with_normal_lzma2():
    legs = {leg["variant"]: leg for leg in _job()["strategy"]["matrix"]["include"]}
    assert legs["cpu"]["torch_index"] == ""  # PyPI: Windows wheels there are CPU builds
    assert "download.pytorch.org/whl/cu" in legs["cuda"]["torch_index"]
    assert legs["cuda"]["compression"] == "lzma2/normal"
    install = _step("Install torch")["run"]
    assert "torch.version.cuda" in install and "throw" in install  # a mismatched wheel stops


def test_iscc_is_found_on_path_or_under_inno_setup_6_or_7():
    run = _step("Build the installer")["run"]
    assert "Get-Command ISCC.exe" in run
    assert "foreach ($version in 7, 6)" in run and '"Inno Setup $version\\ISCC.exe"' in run
    assert "/DNumericVersion=${{ steps.version.outputs.numeric }}" in run
    assert "/DCompression=${{ matrix.compression }}" in run
    assert "installer\\version_info.py" in _step("Sorter version")["run"]


def test_signing_runs_only_with_the_secret_and_signs_setup_and_uninstaller():
    sign_exes = _step("Sign the executables")
    assert sign_exes["if"] == "env.CERT_PFX_BASE64 != ''"
    run = _step("Build the installer")["run"]
    guarded = re.search(r"if \(\$env:CERT_PFX_BASE64\) \{\n(.*?)\n *\}\n", run, re.S).group(1)
    assert '$isccArgs += "/Ssorter=$sign", "/DSignToolName=sorter"' in guarded
    assert re.search(r"\$sign = '[^']*\$f'", run)  # single quotes keep $q and $f for ISCC
    assert not [s for s in _job()["steps"] if s.get("name", "").startswith("Sign the installer")]


def test_the_windowed_self_test_proves_the_torch_runtime_preload():
    run = _step("windowed exe on its own")["run"]
    assert '"torch runtime preloaded from"' in run and "throw" in run


def test_the_cpu_leg_fails_when_the_bundle_or_installer_is_over_its_target():
    steps = _job()["steps"]
    names = [s.get("name", "") for s in steps]
    gate = _step("Size of the CPU bundle")
    assert gate["if"] == "matrix.variant == 'cpu'"
    assert "throw" in gate["run"] and "1229" in gate["run"] and "400" in gate["run"]
    built = next(i for i, n in enumerate(names) if n.startswith("Build the installer"))
    assert names.index(gate["name"]) > built  # measured once the installer exists


def test_the_frozen_exe_trains_in_full_mode_and_sorts_with_the_model():
    names = [s.get("name", "") for s in _job()["steps"]]
    step = _step("Frozen full-mode training")
    run = step["run"]
    assert "sorter-cli.exe train tiny --mode full" in run and "sorter-cli.exe sort tiny" in run
    assert run.count("exit $LASTEXITCODE") == 2 and "throw" in run
    assert names.index("Build the folder (pyinstaller build.spec)") < names.index(step["name"])
