"""Every order of copy, move, link, re-sort and undo, two and three deep, into one OUT, with twins:
after every step each photo's bytes still exist and no source changed; undoing all restores all.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fakes import FakeModel, fake_score, make_image, photo_hashes, tree_hashes

from sorter.core.errors import BadPathError
from sorter.core.sorting.journal import UNDONE, Journal
from sorter.core.sorting.resort import apply_resort, plan_resort
from sorter.core.sorting.safecopy import TEMP_PREFIX
from sorter.core.sorting.sort import sort_folder
from sorter.core.sorting.undo import undo_run

pytestmark = pytest.mark.slow

# "move-album2" moves one folder onto copies another run made of its twins; "undo-first" undoes
# the oldest run still standing (the order that lost every photo), "undo" the latest.
OPS = ("copy", "move", "link", "move-album2", "resort", "undo", "undo-first")
SEQUENCES = [seq for depth in (2, 3) for seq in itertools.product(OPS, repeat=depth)]
# Re-sorts alternate between these, so that each one changes folders.
RESORT_THRESHOLDS = (0.3, 0.9)


def make_sources(root: Path) -> Path:
    """Twins by name and bytes, by bytes under another name, a name with other bytes."""
    red = make_image(root / "album1" / "IMG_0001.jpg", (220, 20, 20))
    (root / "album2").mkdir()
    (root / "album2" / "IMG_0001.jpg").write_bytes(red.read_bytes())  # same name, same bytes
    (root / "album2" / "red-again.jpg").write_bytes(red.read_bytes())  # same bytes, other name
    make_image(root / "album1" / "IMG_0002.jpg", (120, 120, 120))  # grey: uncertain at 0.5
    make_image(root / "album2" / "IMG_0002.jpg", (20, 20, 220))  # same name, other bytes
    make_image(root / "purple.png", (200, 10, 200))  # cats and dogs
    return root


@dataclass
class Tally:
    sequences: int = 0
    steps: int = 0
    hashed: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class World:
    src: Path
    out: Path
    model: FakeModel
    original: dict[str, str]
    resorts: int = 0


def oldest_standing_run(out: Path) -> int:
    with Journal(out) as journal:
        standing = [r.id for r in journal.runs() if r.state != UNDONE]
    if not standing:
        raise BadPathError("no run left")
    return min(standing)


def do(world: World, op: str) -> None:
    """One step; a step that has nothing to act on (undo of nothing) is a no-op."""
    src, out, model = world.src, world.out, world.model
    try:
        if op in ("copy", "move", "link"):
            sort_folder(src, out, model=model, score=fake_score, mode=op)
        elif op == "move-album2":
            sort_folder(src / "album2", out, model=model, score=fake_score, mode="move")
        elif op == "resort":
            threshold = RESORT_THRESHOLDS[world.resorts % 2]
            world.resorts += 1
            apply_resort(plan_resort(out, model, default_threshold=threshold, score=fake_score))
        elif op == "undo":
            undo_run(out)
        else:
            undo_run(out, oldest_standing_run(out))
    except BadPathError:
        pass  # OUT not sorted yet, or nothing left to undo


def check(world: World, label: str, tally: Tally) -> None:
    """Every photo's bytes exist in SRC or OUT; SRC holds only unchanged originals."""
    sources, outputs = tree_hashes(world.src), tree_hashes(world.out)
    tally.hashed += len(sources) + len(outputs)
    present = set(sources.values()) | set(outputs.values())
    lost = [path for path, sha in world.original.items() if sha not in present]
    tally.lost += len(lost)
    if lost:
        tally.problems.append(f"{label}: lost {lost}")
    changed = [p for p, sha in sources.items() if world.original.get(p) != sha]
    if changed:
        tally.problems.append(f"{label}: sources changed or added {changed}")
    temps = [p for p in [*sources, *outputs] if TEMP_PREFIX in p]
    if temps:
        tally.problems.append(f"{label}: temporary files left {temps}")


def undo_everything(world: World) -> None:
    for _ in range(10):
        try:
            undo_run(world.out)
        except BadPathError:
            return


def run_sequence(root: Path, seq: tuple[str, ...], tally: Tally) -> None:
    src = make_sources(root / "S")
    model = FakeModel(root / "model.pth")
    world = World(src, root / "O", model, tree_hashes(src))
    for step, op in enumerate(seq, start=1):
        do(world, op)
        tally.steps += 1
        check(world, f"{'+'.join(seq)} step {step} ({op})", tally)
    undo_everything(world)
    label = f"{'+'.join(seq)} then undo all"
    check(world, label, tally)
    # Every photo is back at its own path (a twin's bytes elsewhere do not count) ...
    missing = sorted(set(world.original) - set(tree_hashes(world.src)))
    tally.lost += len(missing)
    if missing:
        tally.problems.append(f"{label}: not back {missing}")
    # ... and OUT holds no photo: every run's copies went with its undo.
    if world.out.exists() and photo_hashes(world.out):
        tally.problems.append(f"{label}: left in OUT {sorted(photo_hashes(world.out))}")


def test_no_sequence_of_runs_loses_a_photo(tmp_path, capsys):
    tally = Tally()
    started = time.perf_counter()
    for number, seq in enumerate(SEQUENCES):
        run_sequence(tmp_path / f"s{number}", seq, tally)
        tally.sequences += 1
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\ncross-run matrix: {tally.sequences} sequences, {tally.steps} steps, "
            f"{tally.hashed} files hashed, {tally.lost} files lost, {seconds:.1f} s"
        )
    assert tally.problems == []
    assert tally.lost == 0
    assert tally.sequences == len(OPS) ** 2 + len(OPS) ** 3
