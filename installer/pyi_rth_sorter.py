"""PyInstaller runtime hook: settings the frozen app needs before any Sorter code runs."""

import os

# fastai imports matplotlib; once a QApplication exists matplotlib would pick its Qt backend,
# which the bundle leaves out. Sorter never draws plots, so the file-only backend is enough.
os.environ.setdefault("MPLBACKEND", "Agg")
