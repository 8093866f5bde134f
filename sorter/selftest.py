"""Self-test of an installed or frozen Sorter: libraries, default model, sample sort, window."""

from __future__ import annotations

import csv
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sorter import __version__, appdirs
from sorter.core.files import IMAGE_SUFFIXES, file_sha256

if TYPE_CHECKING:
    from sorter.core.model.modelfile import LoadedModel

log = logging.getLogger(__name__)

# Set by `sorter self-test` for the GUI process it starts: the CLI already did the core checks.
WINDOW_ONLY_ENV = "SORTER_SELF_TEST_WINDOW_ONLY"
GUI_EXE = "Sorter"
PROCESS_GRACE_S = 30.0
REPORT_NAME = "sorter-report.csv"
# A 160 x 106 HEIC made from samples/cat-chelsea.jpg: iPhone photos must open in every build.
HEIC_SAMPLE = ("selftest", "sample.heic")
HEIC_SIZE = (160, 106)
UNCERTAIN_DIR = "uncertain"
UNREADABLE_DIR = "unreadable"

Echo = Callable[[str], None]
WindowCheck = Callable[[float], int]


class SelfTestFailure(Exception):
    """One check found something wrong; the message says what."""


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float


def console_echo(text: str) -> None:
    """Write one line to stdout, if there is one (a windowed exe may have none).

    The self-test's output is its product, hence stdout rather than the log; characters the
    console cannot show are replaced instead of crashing the report.
    """
    log.info("self-test: %s", text)
    stream = sys.stdout
    if stream is None:
        return
    encoding = getattr(stream, "encoding", None) or "utf-8"
    stream.write(text.encode(encoding, "replace").decode(encoding) + "\n")
    stream.flush()


def run_self_test(
    window_check: WindowCheck | None,
    *,
    timeout_s: float = 120.0,
    device: str = "auto",
    echo: Echo = console_echo,
) -> int:
    """Run every check, print one line per check, and return 0 if all passed, else 1.

    Args:
        window_check: opens and closes the main window, returns 0 on success; None skips it.
        timeout_s: how long the window check may take.
        device: "auto", "cpu" or "cuda" for the default model.
    """
    where = "frozen" if appdirs.is_frozen() else "from source"
    echo(f"Sorter {__version__} self-test ({where}: {sys.executable})")
    started = time.perf_counter()
    results: list[CheckResult] = []
    if os.environ.get(WINDOW_ONLY_ENV) != "1":
        results += CoreChecks(device).run(echo)
    if window_check is not None:
        results.append(_timed("main window", lambda: _window(window_check, timeout_s), echo))
    failed = [r.name for r in results if not r.ok]
    total = time.perf_counter() - started
    if failed:
        echo(f"Self-test FAILED ({', '.join(failed)}) after {total:.1f} s")
        return 1
    echo(f"Self-test passed: {len(results)} checks in {total:.1f} s")
    return 0


def _window(window_check: WindowCheck, timeout_s: float) -> str:
    code = window_check(timeout_s)
    if code != 0:
        raise SelfTestFailure(f"the window check exited with code {code}")
    return "opened and closed"


def _timed(name: str, check: Callable[[], str], echo: Echo) -> CheckResult:
    """Run one check, catching everything: a self-test reports failures, it does not crash."""
    started = time.perf_counter()
    try:
        detail, ok = check(), True
    except Exception as exc:
        # The traceback goes to the log file only; the console gets one line per check.
        log.info("Self-test check %r failed", name, exc_info=True)
        detail, ok = f"{type(exc).__name__}: {exc}", False
    result = CheckResult(name, ok, detail, time.perf_counter() - started)
    echo(f"[{'ok' if ok else 'FAIL'}] {name} ({result.seconds:.1f} s): {detail}")
    return result


class CoreChecks:
    """The Qt-free checks, in order; later ones use what earlier ones loaded."""

    def __init__(self, device: str = "auto") -> None:
        self.device = device
        self.model: LoadedModel | None = None

    def run(self, echo: Echo) -> list[CheckResult]:
        steps = [
            ("bundled files", self.check_assets),
            ("HEIC photos", check_heic),
            ("libraries", check_libraries),
            ("default model", self.check_model),
            ("sort samples", self.check_sort),
            ("training libraries", check_training_libraries),
        ]
        return [_timed(name, step, echo) for name, step in steps]

    def check_assets(self) -> str:
        root = appdirs.asset_path()
        images = sample_images(appdirs.asset_path("samples"))
        if not images:
            raise SelfTestFailure(f"no sample images under {root / 'samples'}")
        return f"{len(images)} sample images under {root}"

    def check_model(self) -> str:
        from sorter.core.model.modelfile import default_model_path, device_label, load_model

        path = default_model_path()
        self.model = load_model(path, device=self.device)
        categories = self.model.categories
        folded = _check_folded(self.model)
        where = device_label(self.model.device)
        return f"{path.name}: {len(categories)} categories on {where}; {folded}"

    def check_sort(self) -> str:
        if self.model is None:
            raise SelfTestFailure("skipped: the default model did not load")
        return sort_samples(self.model, appdirs.asset_path("samples"))


def _check_folded(model: LoadedModel) -> str:
    """Scoring must run the BatchNorm-folded copy; a build where torch.fx cannot trace loses it."""
    from sorter.core.model.fold_bn import count_batchnorms

    trained, left = count_batchnorms(model.network), count_batchnorms(model.scoring_network)
    if left:
        raise SelfTestFailure(
            f"the scoring network still has {left} of {trained} BatchNorm layers: folding them "
            "failed in this build, so sorting works but runs about a fifth slower"
        )
    return f"{trained} BatchNorm layers folded for scoring"


def check_heic(path: Path | None = None) -> str:
    """The bundled HEIC sample decodes: pillow-heif and its libheif made it into this build."""
    from sorter.core.errors import ImageError
    from sorter.core.model.decode import heif_problem, open_image

    problem = heif_problem()
    if problem:
        raise SelfTestFailure(f"HEIC photos cannot be read: {problem}")
    path = path or appdirs.asset_path(*HEIC_SAMPLE)
    try:
        size = open_image(path).size
    except ImageError as exc:
        raise SelfTestFailure(f"HEIC photos cannot be read: {path.name}: {exc}") from exc
    if size != HEIC_SIZE:
        raise SelfTestFailure(f"{path.name} decoded as {size}, expected {HEIC_SIZE}")
    return f"{path.name} decoded, {size[0]} x {size[1]}"


def check_libraries() -> str:
    """torch, torchvision's compiled ops (a plain frozen build misses them) and the device."""
    import torch
    import torchvision

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0]])
    kept = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
    if kept.tolist() != [0]:
        raise SelfTestFailure(f"torchvision.ops.nms gave {kept.tolist()}, expected [0]")
    cuda = torch.cuda.is_available()
    gpu = f"CUDA {torch.version.cuda}: {torch.cuda.get_device_name(0)}" if cuda else "no GPU"
    return f"torch {torch.__version__}, torchvision {torchvision.__version__} (ops ok), {gpu}"


def check_training_libraries() -> str:
    """fastai with the modules exported learners name in their pickles (training, import)."""
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # fastai's own torch.jit.script notice
        import fastai

        for name in ("fastai.vision.all", "fastai.learner", "fastai.losses", "fastai.metrics"):
            importlib.import_module(name)
    return f"fastai {fastai.__version__} importable"


def sample_images(folder: Path) -> list[Path]:
    """Every image file under folder, sorted (licence and readme files are not images)."""
    if not folder.is_dir():
        return []
    found = folder.rglob("*")
    return sorted(p for p in found if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def sort_samples(model: LoadedModel, samples: Path) -> str:
    """Sort the samples into a temporary folder; each must end copied, uncertain or reported."""
    from sorter.core.sorting.sort import sort_folder

    images = sample_images(samples)
    before = snapshot(samples)
    with tempfile.TemporaryDirectory(prefix="sorter-self-test-") as tmp:
        out = Path(tmp) / "sorted"
        sort_folder(samples, out, model=model)
        outcomes = sample_outcomes(images, out)
    if snapshot(samples) != before:
        raise SelfTestFailure(f"sorting changed the sample folder {samples}")
    lost = [p.name for p, outcome in outcomes.items() if outcome == "missing"]
    if lost:
        raise SelfTestFailure(f"{len(lost)} samples neither copied nor reported: {lost[:5]}")
    return f"{len(images)} samples: " + describe_outcomes(outcomes.values())


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mtime in ns) of every file: enough to see any change."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def sample_outcomes(images: list[Path], out: Path) -> dict[Path, str]:
    """Where each image ended: "copied:<folders>", "uncertain", "reported" or "missing".

    Files are matched by content, so the check does not depend on how collisions were named.
    """
    folders_by_digest: dict[str, set[str]] = {}
    for path in out.rglob("*"):
        if path.is_file() and path.parent != out:
            top = path.relative_to(out).parts[0]
            folders_by_digest.setdefault(file_sha256(path), set()).add(top)
    reported = report_names(out / REPORT_NAME)
    return {
        image: _outcome(folders_by_digest.get(file_sha256(image), set()), image.name in reported)
        for image in images
    }


def _outcome(folders: set[str], in_report: bool) -> str:
    categories = folders - {UNCERTAIN_DIR, UNREADABLE_DIR}
    if categories:
        return "copied:" + ",".join(sorted(categories))
    if UNCERTAIN_DIR in folders:
        return "uncertain"
    return "reported" if in_report or UNREADABLE_DIR in folders else "missing"


def report_names(report: Path) -> set[str]:
    """File names mentioned anywhere in the sort report (empty when there is no report)."""
    if not report.is_file():
        return set()
    with report.open(newline="", encoding="utf-8-sig") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    return {Path(cell.replace("\\", "/")).name for cell in cells if cell}


def describe_outcomes(outcomes: Iterable[str]) -> str:
    """ "4 copied (animals 2, food 2), 1 uncertain": counts a person can read."""
    outcomes = list(outcomes)
    per_folder: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.startswith("copied:"):
            for folder in outcome.removeprefix("copied:").split(","):
                per_folder[folder] = per_folder.get(folder, 0) + 1
    copied = sum(o.startswith("copied:") for o in outcomes)
    folders = ", ".join(f"{name} {n}" for name, n in sorted(per_folder.items()))
    parts = [f"{copied} copied ({folders})" if copied else "0 copied"]
    parts += [f"{outcomes.count(k)} {k}" for k in ("uncertain", "reported") if outcomes.count(k)]
    return ", ".join(parts)


def gui_command() -> list[str]:
    """How to start the window: the sibling `Sorter` executable when frozen, else `-m sorter`."""
    if appdirs.is_frozen():
        name = GUI_EXE + (".exe" if os.name == "nt" else "")
        return [str(Path(sys.executable).with_name(name))]
    return [sys.executable, "-m", "sorter"]


def needs_offscreen(env: dict[str, str]) -> bool:
    """Linux without an X or Wayland display cannot show a window: Qt must draw offscreen."""
    if not sys.platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return False
    return not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def subprocess_window_check(echo: Echo = console_echo) -> WindowCheck:
    """A window check that runs `Sorter --self-test` in its own process (the CLI has no Qt)."""

    def check(timeout_s: float) -> int:
        env = dict(os.environ, PYTHONIOENCODING="utf-8")
        env[WINDOW_ONLY_ENV] = "1"
        if needs_offscreen(env):
            env["QT_QPA_PLATFORM"] = "offscreen"
        # The window gets the time limit; the process a little more to start and to exit.
        command = [*gui_command(), "--self-test", "--timeout", f"{timeout_s:g}"]
        echo(f"  starting {' '.join(command)}")
        try:
            done = subprocess.run(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout_s + PROCESS_GRACE_S,
            )
        except subprocess.TimeoutExpired as exc:
            limit = timeout_s + PROCESS_GRACE_S
            raise SelfTestFailure(f"the window did not close within {limit:.0f} s") from exc
        for line in (done.stdout + done.stderr).decode("utf-8", "replace").splitlines():
            echo(f"  | {line}")
        return done.returncode

    return check
