"""Size and load time of a stored model: compact (the shipped networks named, not stored) against
whole, for a model shaped as quick mode leaves it (the default networks, a probe head).

    PYTHONPATH=. .venv/bin/python bench/model_storage.py [--categories 6] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from sorter.core.model.arch_names import PAIR
from sorter.core.model.meta import IMAGENET, ModelMeta
from sorter.core.model.modelfile import load_model, read_model_file, save_model
from sorter.core.model.networks import fastai_network
from sorter.core.training.backbone import shared_body


def quick_like(n_out: int) -> dict[str, torch.Tensor]:
    """The shipped body and a random probe-shaped head (2 * n_out rows of the first Linear)."""
    body = shared_body(PAIR)
    if body is None:
        sys.exit("The shipped weights are missing (assets/weights).")
    state = fastai_network(PAIR, n_out).state_dict()
    state.update(body.state)
    state["1.4.weight"][2 * n_out :] = 0
    return state


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    names = [f"c{i}" for i in range(args.categories)]
    meta = ModelMeta.from_dict(
        {"arch": PAIR, "builder": "fastai", "categories": names, "activation": "softmax-groups",
         "groups": {n: [i] for i, n in enumerate(names)}, "n_outputs": len(names),
         "default_threshold": 0.5, "thresholds": {}, "input_size": 224,
         "resize_method": "crop",
         "normalize": {"mean": list(IMAGENET.mean), "std": list(IMAGENET.std)}}
    )  # fmt: skip
    state = quick_like(len(names))
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"whole": Path(tmp, "whole.pth"), "compact": Path(tmp, "compact.pth")}
        save_s = {
            "whole": timed(lambda: save_model(paths["whole"], meta, state), args.repeats),
            "compact": timed(
                lambda: save_model(paths["compact"], meta, state, shared_body(PAIR)), args.repeats
            ),
        }
        print(f"{len(names)} categories, {PAIR}, median of {args.repeats}, torch threads "
              f"{torch.get_num_threads()}")  # fmt: skip
        print(f"{'file':8} {'bytes':>11} {'save s':>7} {'read s':>7} {'load s':>7}")
        for kind, path in paths.items():
            read_s = timed(lambda p=path: read_model_file(p), args.repeats)
            load_s = timed(lambda p=path: load_model(p, "cpu"), args.repeats)
            size = path.stat().st_size
            print(f"{kind:8} {size:>11,} {save_s[kind]:>7.2f} {read_s:>7.2f} {load_s:>7.2f}")
        a = read_model_file(paths["whole"])[1]
        b = read_model_file(paths["compact"])[1]
        same = set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
        print(f"same weights read back: {same}")


if __name__ == "__main__":
    main()
