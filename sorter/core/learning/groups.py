"""Retraining a softmax-groups model (the embedded default): fine-tune its final Linear only.

A category's score is the summed softmax probability of its group of outputs (ImageNet classes
for the default model), so the new model is the same network with the same groups and a
gently moved last layer. Each image's loss is -log(sum of its group's probabilities); an L2
pull toward the old weights (L2-SP) keeps categories no image shows as they were. A correction
naming a new category adds an output and a group of its own. The file stays a valid
softmax-groups model, readable by Sorters that predate this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from sorter.core.jobs import CancelToken
from sorter.core.model.meta import ModelMeta
from sorter.core.model.networks import BODY_FEATURES

log = logging.getLogger(__name__)

STEPS = 100  # L-BFGS iterations at most: a few hundred images make one batch
# L2-SP strength (times the squared change of each weight) and the kept images' weight (their
# mean loss against the corrections' mean loss). On bench/retrain_loop.py's default case
# (composites of 6 everyday categories, about 45 kept images, 81 test images, draws 0-2), with
# 30 corrections the test error fell by 25%, 17% and 28% at L2SP 0.03 against 23%, 11% and 26%
# at 0.1; at 0.01 the candidates broke 10 of 47 kept images out of fold with 3 corrections. On
# cached features, 1.0 no longer learned 30% of 30 corrections itself.
L2SP = 3e-2
KEPT_WEIGHT = 3.0
NEW_ROW_DECAY = 1e-3  # plain weight decay on outputs added for new categories


def is_group_model(meta: ModelMeta) -> bool:
    """A softmax-groups model whose last Linear is the whole head (the embedded default)."""
    return meta.activation == "softmax-groups" and meta.builder == "torchvision"


def final_linear_name(network: nn.Module) -> str:
    """The state_dict prefix of the network's last Linear ("classifier.1", "fc")."""
    names = [name for name, m in network.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        raise ValueError("the network has no Linear layer to retrain")
    return names[-1]


def pooled(features: torch.Tensor, arch: str) -> torch.Tensor:
    """The average-pooled half of (max, avg) concat-pooled body features: the input of a
    torchvision classifier."""
    channels = BODY_FEATURES[arch]
    if features.shape[1] != 2 * channels:
        raise ValueError(f"expected {2 * channels} concat-pooled features, not {features.shape}")
    return features[:, channels:]


@dataclass
class GroupLayer:
    """The last layer's weights and the groups that turn its outputs into category scores."""

    weight: torch.Tensor  # (outputs, features)
    bias: torch.Tensor  # (outputs,)
    groups: dict[str, list[int]]
    categories: list[str]

    @property
    def matrix(self) -> torch.Tensor:
        """(outputs, categories) 0/1: which outputs sum into which category."""
        out = torch.zeros(self.weight.shape[0], len(self.categories))
        for col, name in enumerate(self.categories):
            out[self.groups[name], col] = 1.0
        return out

    def scores(self, x: torch.Tensor) -> np.ndarray:
        """Category scores of avg-pooled features, as LoadedModel.scores computes them."""
        with torch.no_grad():
            probs = torch.softmax(x @ self.weight.T + self.bias, dim=1)
            return (probs @ self.matrix).clamp(0.0, 1.0).numpy()


def extended_layer(
    weight: torch.Tensor, bias: torch.Tensor, meta: ModelMeta, categories: list[str]
) -> GroupLayer:
    """The base model's last layer with one fresh output (and group) per new category.

    A new output starts with zero weights and the lowest old bias: it takes almost no
    probability until images of its category teach it.
    """
    groups = {name: list(ids) for name, ids in (meta.groups or {}).items()}
    new = [c for c in categories if c not in groups]
    n_old = weight.shape[0]
    for offset, name in enumerate(new):
        groups[name] = [n_old + offset]
    extra_w = torch.zeros(len(new), weight.shape[1])
    extra_b = torch.full((len(new),), float(bias.min()) if len(bias) else 0.0)
    return GroupLayer(
        torch.cat([weight, extra_w]).float(), torch.cat([bias, extra_b]).float(),
        groups, list(categories),
    )  # fmt: skip


def output_masks(layer: GroupLayer, targets: np.ndarray) -> torch.Tensor:
    """(N, outputs) 0/1: the outputs of each image's true categories. An image of none of them
    ("none of these") gets the outputs in no group: the default model's uncertain mass."""
    matrix = layer.matrix
    masks = (torch.from_numpy(targets).float() @ matrix.T).clamp(max=1.0)
    unmapped = (matrix.sum(dim=1) == 0).float()
    empty = torch.from_numpy(targets.sum(axis=1) == 0)
    masks[empty] = unmapped
    return masks


def group_loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per image: -log(sum of the softmax probabilities of its outputs)."""
    log_probs = torch.log_softmax(logits, dim=1)
    chosen = log_probs.masked_fill(masks <= 0, float("-inf"))
    return -torch.logsumexp(chosen, dim=1)


def fit_layer(
    base: GroupLayer,
    sets: list[tuple[torch.Tensor, torch.Tensor, float]],
    *,
    n_old: int,
    seed: int,
    cancel: CancelToken | None = None,
) -> GroupLayer:
    """Fine-tune `base` on (features, output masks, weight) sets: each set's mean loss times its
    weight, plus the L2-SP pull of the first `n_old` outputs toward `base` (new ones: toward 0).

    Solved in the span of the training features: with an L2 penalty the best change of the
    weights is a combination of the images' feature vectors (the representer theorem), so
    the unknowns are (outputs x images), not (outputs x 1280), and L-BFGS solves this convex
    problem in a second or two on a CPU.
    """
    del seed  # the problem is convex and solved deterministically; kept for the fit protocol
    sets = [(x, m, w) for x, m, w in sets if len(x)]
    if not sets or not any(bool((m.sum(dim=1) > 0).any()) for _, m, _ in sets):
        return base
    x = torch.cat([x for x, _, _ in sets]).double()
    masks = torch.cat([m for _, m, _ in sets])
    per_image = torch.cat([torch.full((len(s[0]),), s[2] / len(s[0])) for s in sets]).double()
    usable = masks.sum(dim=1) > 0  # "none" images of a model with no output outside the groups
    x, masks, per_image = x[usable], masks[usable], per_image[usable]
    kernel = x @ x.T
    start = x @ base.weight.double().T + base.bias.double()
    coef = torch.zeros(base.weight.shape[0], len(x), dtype=torch.float64, requires_grad=True)
    shift = torch.zeros(base.weight.shape[0], dtype=torch.float64, requires_grad=True)
    penalty = torch.full((base.weight.shape[0], 1), L2SP, dtype=torch.float64)
    penalty[n_old:] = NEW_ROW_DECAY
    optimizer = torch.optim.LBFGS([coef, shift], lr=1, max_iter=STEPS,
                                  line_search_fn="strong_wolfe")  # fmt: skip

    def closure() -> torch.Tensor:
        if cancel is not None:
            cancel.raise_if_cancelled()
        optimizer.zero_grad()
        logits = start + (coef @ kernel).T + shift
        data = (per_image * group_loss(logits, masks)).sum()
        pull = (penalty * (coef @ kernel) * coef).sum() + (penalty[:, 0] * shift.pow(2)).sum()
        loss = data + pull
        loss.backward()
        return loss

    optimizer.step(closure)
    weight = base.weight + (coef.detach() @ x).float()
    return GroupLayer(weight, base.bias + shift.detach().float(), base.groups, base.categories)
