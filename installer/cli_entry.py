"""Entry script of the frozen console executable: always the CLI (help when given no command)."""

import multiprocessing
import sys

from sorter.cli import main

if __name__ == "__main__":
    # A frozen exe re-runs itself for child processes; freeze_support() turns those into workers.
    multiprocessing.freeze_support()
    sys.exit(main())
