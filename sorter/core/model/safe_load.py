"""Load torch files without running code from them: a pickle that may name only tensor globals."""

from __future__ import annotations

import _compat_pickle
import logging
import pickle
import zipfile
from pathlib import Path
from typing import Any

from sorter.core.errors import ModelFileError

log = logging.getLogger(__name__)

# (module, name) pairs a weights file legitimately needs. Everything a pickle can call comes
# through find_class, so refusing every other global means loading cannot run foreign code.
_ALLOWED_GLOBALS = frozenset(
    {
        ("collections", "OrderedDict"),
        ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_parameter"),
        ("torch._utils", "_rebuild_parameter_with_state"),
        ("torch", "Size"),
        # Plain data as protocol 2 writes it (older torch files): constructors without side effects.
        ("_codecs", "encode"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "complex"),
        ("builtins", "bytearray"),
    }
)

_FASTAI_HINT = (
    " Files from learn.export() or learn.save(..., with_opt=True) carry fastai objects;"
    " save the weights with learn.save(name, with_opt=False) instead."
)


def _allowed_torch_attr(module: str, name: str) -> Any | None:
    """Storage classes and dtypes of torch (plain data), or None when not one of them."""
    if module not in ("torch", "torch.storage"):
        return None
    import torch

    value = getattr(torch, name, None)
    if isinstance(value, torch.dtype):
        return value
    if name.endswith("Storage") and isinstance(value, type):
        return value
    return None


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler whose find_class admits only tensors, storages, dtypes and OrderedDict."""

    def find_class(self, module: str, name: str) -> Any:
        # Protocol 2 names Python 2 modules (__builtin__.set); check what they stand for today.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        value = _allowed_torch_attr(module, name)
        if value is not None:
            return value
        hint = _FASTAI_HINT if module.split(".")[0] in ("fastai", "fastcore") else ""
        raise pickle.UnpicklingError(
            f"it asks to run '{module}.{name}', which a weights file never needs; "
            f"it was refused for safety.{hint}"
        )


class _RestrictedPickleModule:
    """The subset of the `pickle` module API that torch.load uses, with the safe Unpickler."""

    Unpickler = RestrictedUnpickler
    UnpicklingError = pickle.UnpicklingError
    __name__ = "sorter_restricted_pickle"

    @staticmethod
    def load(file: Any, **kwargs: Any) -> Any:
        return RestrictedUnpickler(file, **kwargs).load()


def _refuse_torchscript(path: Path) -> None:
    # torch.load hands TorchScript archives to torch.jit.load, which runs their code.
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(f"{path} is damaged: {exc}.") from exc
    if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
        raise ModelFileError(
            f"{path} is a TorchScript program, not a weights file; Sorter does not run programs "
            "from model files."
        )


def safe_torch_load(path: str | Path) -> Any:
    """Read a file written by torch.save (zip or legacy format) through the restricted unpickler.

    Raises:
        ModelFileError: the file is missing, unreadable, damaged, not a torch file, or names a
            global that plain weights never need (the message names it).
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"Model file not found: {path}")
    _refuse_torchscript(path)
    try:
        return torch.load(
            path, map_location="cpu", pickle_module=_RestrictedPickleModule, weights_only=False
        )
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if text.startswith("it asks to run"):
            raise ModelFileError(f"{path} was refused: {text}") from exc
        log.info("Unpickling %s failed: %s", path, text)  # for the log; the cause stays chained
        raise ModelFileError(
            f"{path} is not a Sorter model: it is not a PyTorch weights file."
        ) from exc
    except (
        EOFError, RuntimeError, ValueError, OSError, KeyError, TypeError,
        # random bytes can make the unpickler ask for absurd sizes or indexes
        OverflowError, IndexError, AttributeError, MemoryError,
    ) as exc:  # fmt: skip
        log.info("torch.load failed on %s: %s: %s", path, type(exc).__name__, exc)
        raise ModelFileError(f"{path} is damaged or not a PyTorch weights file.") from exc
