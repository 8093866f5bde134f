"""What each package adds to a PyInstaller folder: MB per top-level entry of `_internal/`.

Usage: python tools/bundle_sizes.py dist/Sorter [--top 25]
Prints the largest entries, then the folder total and the total beside torch and its CUDA
libraries (`torch/`, `nvidia/`, `triton/`, and top-level libtorch/cuda files), the figure the
lean-bundle target is about. Python code sits inside the executables (their PYZ archive).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

MB = 1024 * 1024
TORCH_PARTS = re.compile(r"^(torch|nvidia|triton|libtorch|libc10|libcu|libnv|libcudnn)", re.I)


def size(path: Path) -> int:
    """Bytes on disk, links not counted (PyInstaller links top-level libraries to their copy)."""
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def entries(folder: Path) -> dict[str, int]:
    """Top-level entry of _internal (or the folder itself: the executables) -> bytes."""
    inner = folder / "_internal"
    found = {p.name: size(p) for p in inner.iterdir()}
    found["(executables)"] = sum(size(p) for p in folder.iterdir() if p.is_file())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    sizes = entries(args.folder)
    for name, n in sorted(sizes.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"{n / MB:9.1f} MB  {name}")
    total = sum(sizes.values())
    beside = sum(n for name, n in sizes.items() if not TORCH_PARTS.match(name))
    print(f"{total / MB:9.1f} MB  total")
    print(f"{beside / MB:9.1f} MB  beside torch and its CUDA libraries")


if __name__ == "__main__":
    main()
