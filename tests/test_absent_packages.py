"""The frozen app's stand-ins for pandas, scipy and scikit-learn (installer/pyi_rth_absent.py).

build.spec leaves the three packages out of the bundle; these tests hide the installed ones the
same way (the stand-in finder first on sys.meta_path) and run what the frozen app runs.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fakes import make_training_folder

ROOT = Path(__file__).resolve().parent.parent
HOOK = ROOT / "installer" / "pyi_rth_absent.py"

LOAD_HOOK = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("pyi_rth_absent", {str(HOOK)!r})
hook = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hook)
"""


def run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "script.py"
    script.write_text(LOAD_HOOK + textwrap.dedent(code), encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=600
    )


def load_hook():
    spec = importlib.util.spec_from_file_location("pyi_rth_absent_test", HOOK)
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return hook


def test_placeholders_match_nothing_and_refuse_calls():
    hook = load_hook()
    finder = hook.StandInFinder(("pandas",))
    module = finder.create_module(finder.find_spec("pandas"))
    frame = module.DataFrame
    assert frame is module.DataFrame  # the same placeholder each time
    assert not isinstance(object(), frame) and not isinstance(3, frame)
    assert module.options.display is module.options.display
    module.options.display.max_colwidth = 600  # fastai sets this while it is imported
    assert module.set_option("mode.chained_assignment", "raise") is None
    with pytest.raises(ModuleNotFoundError, match=r"DataFrame was called, but pandas is not"):
        frame({"a": [1]})
    with pytest.raises(ModuleNotFoundError, match=r"pandas\.read_csv"):
        module.read_csv("labels.csv")
    assert finder.find_spec("fastai") is None and finder.find_spec("pandasx") is None
    assert finder.find_spec("pandas.api.types") is not None


def test_real_packages_win_when_installed(tmp_path):
    result = run_python(
        """
        hook.install()
        import pandas
        print(type(pandas).__name__, pandas.DataFrame({"a": [1, 2]}).shape)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["module", "(2,", "1)"]


@pytest.mark.slow
def test_training_and_sorting_run_without_the_packages(tmp_path):
    """Full and quick training, then a sort, with pandas, scipy and sklearn hidden: what the
    frozen app does with them left out. A call into any of them would fail the run."""
    data = make_training_folder(tmp_path / "data")
    code = f"""
        hook.install(first=True)
        from sorter.cli import main

        small = ["--input-size", "64", "--seed", "1"]
        for mode, extra in (("full", ["--epochs", "1"]), ("quick", [])):
            out = {str(tmp_path)!r} + f"/{{mode}}.pth"
            code = main(["train", {str(data)!r}, "--mode", mode, "--out", out, *small, *extra])
            assert code == 0, (mode, code)
        sorted_to = {str(tmp_path / "out")!r}
        assert main(["sort", {str(data)!r}, "--model", out, "--out", sorted_to]) == 0
        import fastai.vision.all, fastai.metrics  # imported by now: through the stand-ins
        for name in ("pandas", "scipy", "scipy.stats", "sklearn", "sklearn.metrics"):
            assert isinstance(sys.modules[name], hook.StandInModule), name
        print("ran without them")
        """
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ran without them" in result.stdout
    assert (tmp_path / "out" / "sorter-report.csv").is_file()
