"""Expected errors: things a user can cause, each with a message a person can read."""

from __future__ import annotations


class SorterError(Exception):
    """Base for every error Sorter expects; str(error) is one readable sentence."""


class BadPathError(SorterError):
    """A folder or file given by the user does not exist, or cannot be used."""


class ModelFileError(SorterError):
    """A model file is missing, corrupt, unsafe, or not a Sorter model."""


class ImageError(SorterError):
    """One image cannot be read; the run goes on without it."""


class OutOfSpaceError(SorterError):
    """The output disk is full; what was copied so far is complete and kept."""


class LockedError(SorterError):
    """Another Sorter run is already writing into the same output folder."""
