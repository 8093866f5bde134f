"""Turn a trusted fastai `learn.export()` file into a Sorter model: weights, categories, sizes."""

from __future__ import annotations

import logging
import pathlib
import pickle
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from sorter import __version__
from sorter.core.errors import BadPathError, ModelFileError
from sorter.core.model.arch_names import SINGLE_ARCHS
from sorter.core.model.meta import ModelMeta, Preprocessing, Stats
from sorter.core.model.modelfile import save_model
from sorter.core.model.networks import fastai_network, torchvision_network

if TYPE_CHECKING:
    from fastai.data.core import DataLoaders
    from fastai.learner import Learner

log = logging.getLogger(__name__)

# Paths pickled on one system must load on the other: "cannot instantiate 'PosixPath' on
# your system" is what Windows says about a Learner exported on Linux.
_PATH_CLASSES = {
    "PosixPath": pathlib.Path,
    "WindowsPath": pathlib.Path,
    "PurePosixPath": pathlib.PurePath,
    "PureWindowsPath": pathlib.PurePath,
}


class _Missing:
    """Stands in for a function or class the export names but this Python cannot import.

    Exports often name the notebook's own get_x/get_y/label functions; importing needs none of
    them, only the network and the transforms' settings.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ModelFileError(f"{type(self).__name__} was not available when importing.")


class PathMappingUnpickler(pickle.Unpickler):
    """Maps PosixPath/WindowsPath to the local Path class; stubs names that cannot be found."""

    missing: list[str]

    def find_class(self, module: str, name: str) -> Any:
        if module in ("pathlib", "pathlib._local") and name in _PATH_CLASSES:
            return _PATH_CLASSES[name]
        try:
            return super().find_class(module, name)
        except (AttributeError, ImportError) as exc:
            log.warning("Export names %s.%s, not importable here (%s)", module, name, exc)
            _missing_names.append(f"{module}.{name}")
            return type(name, (_Missing,), {"__module__": "sorter.missing"})


_missing_names: list[str] = []
# torch.load wants a module-like object with an Unpickler (and load) to unpickle with.
path_mapping_pickle = types.SimpleNamespace(
    Unpickler=PathMappingUnpickler,
    load=lambda f, **kw: PathMappingUnpickler(f, **kw).load(),
    __name__="sorter_path_mapping_pickle",
)


def load_learner_trusted(path: Path) -> Learner:
    """Unpickle a fastai Learner on CPU. Runs code from the file: only for trusted files.

    Raises:
        BadPathError: no such file.
        ModelFileError: not a loadable fastai export.
    """
    path = Path(path)
    if not path.is_file():
        raise BadPathError(f"The export file {path} does not exist.")
    import fastai.vision.all  # noqa: F401  (the classes a Learner pickle names)

    _missing_names.clear()
    try:
        learner = torch.load(
            path, map_location="cpu", weights_only=False, pickle_module=path_mapping_pickle
        )
    except Exception as exc:
        raise ModelFileError(f"{path} is not a fastai export Sorter can read: {exc}") from exc
    if not hasattr(learner, "model") or not hasattr(learner, "dls"):
        raise ModelFileError(f"{path} holds a {type(learner).__name__}, not a fastai Learner.")
    return learner


def detect_arch(state_dict: dict[str, torch.Tensor], n_out: int) -> tuple[str, str]:
    """(builder, arch) whose network has exactly these weight names and shapes.

    Raises:
        ModelFileError: no network Sorter can build matches.
    """
    want = {k: tuple(v.shape) for k, v in state_dict.items()}
    for builder, make in (("fastai", fastai_network), ("torchvision", torchvision_network)):
        for arch in SINGLE_ARCHS:
            with torch.device("meta"):  # shapes only: no memory, no slow weight init
                network = make(arch, n_out)
            have = {k: tuple(v.shape) for k, v in network.state_dict().items()}
            if have == want:
                return builder, arch
    raise ModelFileError(
        "The Learner's network is not one Sorter can rebuild (it knows fastai's "
        f"vision_learner head or plain torchvision models on {', '.join(SINGLE_ARCHS)})."
    )


def _square(size: Any, what: str) -> int:
    sizes = tuple(size) if isinstance(size, tuple | list) else (size, size)
    if sizes[0] != sizes[1]:
        raise ModelFileError(f"The Learner's {what} is {sizes[0]}x{sizes[1]}; Sorter needs square.")
    return int(sizes[0])


def preprocessing_of(dls: DataLoaders) -> Preprocessing:
    """input_size, resize_method and normalize as the Learner's validation transforms do them.

    With presizing (item Resize(460) then a batch crop to 224) the batch size wins.
    """
    from fastai.vision.all import Normalize, Resize

    resize = [t for t in dls.after_item.fs if isinstance(t, Resize)]
    batch_sized = [t for t in dls.after_batch.fs if getattr(t, "size", None) is not None]
    if not resize and not batch_sized:
        raise ModelFileError("The Learner resizes no images; Sorter cannot tell the input size.")
    method = str(getattr(resize[0], "method", "crop")) if resize else "crop"
    if batch_sized:
        size = _square(batch_sized[-1].size, "batch size")
    else:
        size = _square(resize[0].size, "image size")
    norm = None
    for tfm in dls.after_batch.fs:
        if isinstance(tfm, Normalize):
            mean, std = tfm.mean.flatten().tolist(), tfm.std.flatten().tolist()
            if len(mean) != 3 or len(std) != 3:
                raise ModelFileError("The Learner normalises other than 3 colour channels.")
            norm = Stats((mean[0], mean[1], mean[2]), (std[0], std[1], std[2]))
    return Preprocessing(size, method, norm)


def _activation(learner: Learner, categories: list[str]) -> tuple[str, dict[str, list[int]] | None]:
    """(activation, groups): single-label softmax makes each category a group of one class."""
    loss = type(getattr(learner, "loss_func", None)).__name__
    if "CrossEntropy" in loss:
        return "softmax-groups", {name: [i] for i, name in enumerate(categories)}
    return "sigmoid", None


def learner_meta(learner: Learner, source: Path) -> tuple[ModelMeta, dict[str, torch.Tensor]]:
    """(meta, state_dict) of a loaded Learner."""
    categories = [str(c) for c in learner.dls.vocab]
    if len(set(categories)) != len(categories) or not categories:
        raise ModelFileError("The Learner's categories (its vocab) are empty or repeat.")
    state = {
        k: v.detach().float() if v.is_floating_point() else v.detach()
        for k, v in learner.model.cpu().state_dict().items()
    }
    builder, arch = detect_arch(state, len(categories))
    activation, groups = _activation(learner, categories)
    meta = ModelMeta(
        arch=arch,
        builder=builder,
        categories=categories,
        activation=activation,
        n_outputs=len(categories),
        preprocessing=preprocessing_of(learner.dls),
        groups=groups,
        training={
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "imported_from": str(Path(source).resolve()),
            "loss": type(getattr(learner, "loss_func", None)).__name__,
            "missing_names": list(_missing_names),
        },
        created_by=f"sorter {__version__}",
    )
    return meta, state


def import_learner(export: Path, out: Path) -> ModelMeta:
    """Read a trusted fastai export and write the Sorter model `out` (never overwritten).

    Returns the model's meta.
    """
    out = Path(out)
    if out.exists():
        raise BadPathError(f"{out} already exists; choose another --out name or move it away.")
    learner = load_learner_trusted(export)
    meta, state = learner_meta(learner, export)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model(out, meta, state)
    return meta
