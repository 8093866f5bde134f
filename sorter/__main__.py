"""`python -m sorter` and the frozen executables: the GUI without arguments, else the CLI."""

from __future__ import annotations

import multiprocessing
import sys


def main() -> int:
    multiprocessing.freeze_support()
    args = sys.argv[1:]
    if not args or args[0] in {"--screenshots", "--self-test"} or _is_path(args[0]):
        # Before anything imports Qt (pytorch issues 166628, 169429): see sorter.winruntime.
        from sorter.winruntime import preload_torch_runtime

        preload_torch_runtime()
        from sorter.gui.app import main as gui_main

        return gui_main(args)
    from sorter.cli import main as cli_main

    return cli_main(args)


def _is_path(arg: str) -> bool:
    """A folder passed by Explorer ("Sort with Sorter") opens the window on it."""
    from pathlib import Path

    from sorter.core.files import clean_path_arg

    return not arg.startswith("-") and Path(clean_path_arg(arg)).exists()


if __name__ == "__main__":
    sys.exit(main())
