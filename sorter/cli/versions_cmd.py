"""`sorter models`: the user's model versions: list them, pick the current one, name, add
and delete them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sorter.cli.console import confirm


def register(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser(
        "models",
        help="your model versions (trained, retrained or added): list, use, name, add, delete",
    )
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    show = msub.add_parser("list", help="show every version and which one is current")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=run_models_list)
    use = msub.add_parser(
        "use", help="make a version or a model file the current model (roll back or forward)"
    )
    use.add_argument(
        "version", help="v3, 3, 'default' for the embedded model, or a model file (.pth, .json)"
    )
    use.set_defaults(func=run_models_use)
    name = msub.add_parser(
        "name",
        help="give a version a name of your own, shown beside its number (retrains keep it)",
    )
    name.add_argument("version", help="v3 or 3")
    name.add_argument("title", metavar="NAME", help="e.g. 'Shop furniture'; '' removes the name")
    name.set_defaults(func=run_models_name)
    add = msub.add_parser(
        "add", help="store a copy of a model file (e.g. from another computer) as a version"
    )
    add.add_argument("file", type=Path, metavar="MODEL.pth")
    add.add_argument("--name", metavar="NAME", help="a name for it (default: the file's name)")
    add.set_defaults(func=run_models_add)
    delete = msub.add_parser(
        "delete", help="delete a version that is not in use (photos it sorted are not touched)"
    )
    delete.add_argument("version", help="v3 or 3")
    delete.add_argument("--yes", action="store_true", help="delete without asking")
    delete.set_defaults(func=run_models_delete)


# What `models list` calls the image set a retrained version's figures come from.
_MEASURED_ON = {
    "original validation": "training images",
    "kept images": "kept images",
    "held-out corrections": "corrections",
    "example photos": "example photos, out of fold",  # manage.EXAMPLES_JUDGED
    "held-out example photos": "held-out example photos",  # manage.EXAMPLES_HELD_OUT
}


def _metric_text(metrics: dict[str, Any]) -> str:
    """The share of images in exactly their own folder, and on which images: per-category
    accuracy (accuracy_multi) says 0.95 for a model that puts 0.78 of them right, so it is only
    the fallback for versions that recorded nothing else."""
    exact, images = metrics.get("exact_match"), metrics.get("images")
    if isinstance(exact, int | float):
        where = _MEASURED_ON.get(str(metrics.get("evaluated_on")), "images")
        return f"exact {exact:.3f}" + (f" ({images} {where})" if images else "")
    for key in ("accuracy_multi", "f1_macro"):
        if isinstance(metrics.get(key), int | float):
            return f"{key} {metrics[key]:.3f}"
    return "-"


def run_models_list(args: argparse.Namespace) -> int:
    from sorter.core.learning.versions import list_versions

    versions = list_versions()
    if args.json:
        print(json.dumps([v.to_dict() for v in versions], indent=2))
        return 0
    width = max([34, *(len(_metric_text(v.metrics)) for v in versions)])  # columns stay aligned
    print(f"  {'VERSION':<9} {'CREATED':<20} {'METRICS':<{width}} CATEGORIES")
    for v in versions:
        mark = "*" if v.current else " "
        cats = (
            ", ".join(v.categories) if len(v.categories) <= 6 else f"{len(v.categories)} categories"
        )
        note = v.note if v.name != "default" else ""
        note = "; ".join(p for p in (f'named "{v.title}"' if v.title else "", note) if p)
        note = f"  ({note})" if note else ""
        metric = _metric_text(v.metrics)
        print(f"{mark} {v.name:<9} {v.created[:19]:<20} {metric:<{width}} {cats}{note}")
    print("* = current model (used by `sorter sort` without --model)")
    return 0


def run_models_use(args: argparse.Namespace) -> int:
    from sorter.core.learning.versions import use_model_file, use_version

    if _names_a_file(args.version):
        path = use_model_file(args.version)
        print(f"The current model is now {path.name}.")
        print(path)
        return 0
    version = use_version(args.version)
    print(f"The current model is now {version.name}.")
    print(version.path)
    return 0


def run_models_name(args: argparse.Namespace) -> int:
    from sorter.core.learning.manage import name_version

    version = name_version(args.version, args.title)
    if version.title:
        print(f'Model {version.name} is now called "{version.title}".')
    else:
        print(f"Model {version.name} has no name of its own now.")
    return 0


def run_models_add(args: argparse.Namespace) -> int:
    from sorter.core.learning.manage import add_model_file

    version, added = add_model_file(args.file, args.name)
    if added:
        print(f"Added {args.file.name} as model {quoted_name(version)}.")
    else:
        print(f"{args.file.name} is model {quoted_name(version)} already: nothing was added.")
    if not version.current:
        print(f"Make it the current model with: sorter models use {version.name}")
    return 0


def run_models_delete(args: argparse.Namespace) -> int:
    from sorter.core.learning.manage import check_deletable, delete_version, size_text
    from sorter.core.learning.versions import get_version

    version = get_version(args.version)
    check_deletable(version)  # before asking
    what = f"model {quoted_name(version)} ({size_text(version.size_bytes)})"
    if not args.yes and not confirm(f"Delete {what}? Photos it sorted are not touched."):
        print(f"Kept {what}; --yes deletes it without asking.")
        return 1
    delete_version(version.name)
    print(f"Deleted {what}.")
    return 0


def quoted_name(version: Any) -> str:
    """'v2 "Shop stock"', or "v2" for a version with no name of its own."""
    return f'{version.name} "{version.title}"' if version.title else version.name


def _names_a_file(text: str) -> bool:
    """`models use` was given a model file rather than a version name."""
    path = Path(text)
    return path.suffix.lower() in (".pth", ".json") or path.exists() or len(path.parts) > 1
