"""Sorter: copy images into category folders with a trained classifier."""

__version__ = "0.1.0"
