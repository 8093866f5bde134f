"""PyInstaller runtime hook: stand-ins for packages that fastai imports but Sorter never calls.

Importing fastai imports pandas, scipy and scikit-learn (`fastai.imports`, `fastai.metrics`), yet
none of Sorter's paths (sorting, quick and full training, importing a fastai export) calls into
them: the test suite passes with stand-ins in their place (tests/test_absent_packages.py runs
training and sorting that way in CI). build.spec leaves the three out of the bundle, about 110 MB,
and this hook answers their imports instead, only where the real package cannot be found.

A name read from a stand-in module is a placeholder class, so annotations, `isinstance` checks and
fastai's type dispatch keep working (nothing is ever an instance of one). Calling a placeholder
raises ModuleNotFoundError that names the package, so a path that really needs it fails loudly
instead of going on with a fake. The one call allowed is `pandas.set_option`, which fastai makes
while it is imported to set how pandas prints tables.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

ABSENT = ("pandas", "scipy", "sklearn")
HARMLESS_CALLS = frozenset({"pandas.set_option"})


class Placeholder(type):
    """The metaclass of every placeholder: each attribute is another placeholder."""

    def __getattr__(cls, name: str) -> Placeholder:
        return child_placeholder(cls, cls.__qualname__, name)

    def __call__(cls, *args: object, **kwargs: object) -> None:
        if cls.__qualname__ in HARMLESS_CALLS:
            return None
        raise missing(cls.__qualname__)


def placeholder(qualname: str) -> Placeholder:
    made = Placeholder(qualname.rsplit(".", 1)[-1], (), {"__module__": qualname.split(".")[0]})
    made.__qualname__ = qualname
    return made


def child_placeholder(owner: object, owner_name: str, name: str) -> Placeholder:
    """The placeholder for `owner_name.name`, kept on `owner` so the next read finds the same
    one; dunder names stay missing, as Python's own machinery expects."""
    if name.startswith("__"):
        raise AttributeError(name)
    child = placeholder(f"{owner_name}.{name}")
    setattr(owner, name, child)
    return child


def missing(what: str) -> ModuleNotFoundError:
    package = what.split(".")[0]
    return ModuleNotFoundError(
        f"{what} was called, but {package} is not part of this build of Sorter",
        name=package,
    )


class StandInModule(types.ModuleType):
    """A module of an absent package: its attributes are placeholders (and submodules)."""

    def __getattr__(self, name: str) -> Placeholder:
        return child_placeholder(self, self.__name__, name)


class StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds a stand-in for any module of the ABSENT packages."""

    def __init__(self, packages: tuple[str, ...] = ABSENT) -> None:
        self.packages = frozenset(packages)

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.packages:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = StandInModule(spec.name)
        module.__path__ = []  # a package, so its submodules can be imported too
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def install(first: bool = False) -> StandInFinder:
    """Add the finder to sys.meta_path: last, so a real package always wins; `first` puts it
    before every other finder, as if the packages were not installed (for tests)."""
    finder = StandInFinder()
    if first:
        sys.meta_path.insert(0, finder)
    else:
        sys.meta_path.append(finder)
    return finder


if getattr(sys, "frozen", False):
    install()
