"""A linear probe: regularised logistic regression on pooled features, in fastai's head layout.

With ten examples per category a linear model on standardised features generalises better than
fastai's two-layer head, and it solves in well under a second, so cross-validation can choose
its regularisation. The fitted probe is written into the weights of a standard fastai head
(probe_head), so a quick model is still the network every Sorter version loads, and full mode
can fine-tune from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from sorter.core.jobs import CancelToken
from sorter.core.model.networks import fastai_head
from sorter.core.training.quick import head_loss, one_cpu_thread

# A feature that hardly varies over the training images is not scaled up past this: its
# noise at sort time would otherwise swamp the others.
MIN_STD = 0.01
HIDDEN = 512  # fastai's head: Linear(features, 512) then Linear(512, outputs)
MAX_ITERATIONS = 300


@dataclass(frozen=True)
class Probe:
    """logits = ((x - mean) / std) @ weight.T + bias, then softmax (exclusive) or sigmoid."""

    mean: torch.Tensor  # (F,)
    std: torch.Tensor  # (F,)
    weight: torch.Tensor  # (C, F)
    bias: torch.Tensor  # (C,)
    exclusive: bool

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return ((x.float() - self.mean) / self.std) @ self.weight.T + self.bias

    def scores(self, x: torch.Tensor) -> np.ndarray:
        """What sorting computes for these features: softmax or one sigmoid per category."""
        with torch.no_grad():
            logits = self.logits(x)
        out = torch.softmax(logits, dim=1) if self.exclusive else torch.sigmoid(logits)
        return out.numpy()


def fit_probe(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    exclusive: bool,
    l2: float,
    cancel: CancelToken | None = None,
    anchor: Probe | None = None,
) -> Probe:
    """Fit the probe to features x (N, F) and 0/1 labels y (N, C) by L-BFGS, to convergence.

    The loss is quick.head_loss (softmax cross-entropy or one binary cross-entropy per
    category) plus `l2` times the sum of squared weights; features are standardised first.
    With an `anchor` (an earlier probe; its first categories are the first columns of y) the
    fit starts from it, keeps its standardisation, and `l2` pulls the weights back towards it
    instead of towards zero, so categories the new examples do not show keep their behaviour.
    """
    x, y = x.float(), y.float()
    if anchor is not None:
        mean, std = anchor.mean, anchor.std
        start_w, start_b = _padded(anchor, y.shape[1])
    else:
        mean = x.mean(dim=0)
        std = x.std(dim=0, unbiased=False).clamp_min(MIN_STD)
        start_w, start_b = torch.zeros(y.shape[1], x.shape[1]), torch.zeros(y.shape[1])
    z = (x - mean) / std
    weight = start_w.clone().requires_grad_(True)
    bias = start_b.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [weight, bias], lr=1.0, max_iter=MAX_ITERATIONS, history_size=20,
        line_search_fn="strong_wolfe", tolerance_grad=1e-6,
    )  # fmt: skip

    def closure() -> torch.Tensor:
        if cancel is not None:
            cancel.raise_if_cancelled()
        optimizer.zero_grad()
        if anchor is not None:  # the bias too: a category no new example shows keeps its prior
            pull = (weight - start_w).pow(2).sum() + (bias - start_b).pow(2).sum()
        else:
            pull = weight.pow(2).sum()
        loss = head_loss(z @ weight.T + bias, y, exclusive) + l2 * pull
        loss.backward()
        return loss

    with one_cpu_thread():
        optimizer.step(closure)
    return Probe(mean, std, weight.detach(), bias.detach(), exclusive)


def _padded(anchor: Probe, n_out: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The anchor's weights and bias with zero rows for categories it did not have."""
    extra = n_out - anchor.weight.shape[0]
    weight = torch.cat([anchor.weight, anchor.weight.new_zeros(extra, anchor.weight.shape[1])])
    bias = torch.cat([anchor.bias, anchor.bias.new_zeros(extra)])
    # a new category starts unlikely rather than even with the others
    if extra:
        bias[-extra:] = anchor.bias.min() - 2.0
    return weight, bias


def fits_fastai_head(n_outputs: int) -> bool:
    """Whether probe_head can hold a probe of this many outputs (two hidden units each)."""
    return 2 * n_outputs <= HIDDEN


def probe_head(probe: Probe, n_features: int) -> nn.Sequential:
    """fastai's head (networks.fastai_head) whose eval-mode output equals the probe's logits.

    Layer by layer: the first BatchNorm standardises (running mean and variance = the probe's
    mean and std); the first Linear computes each category's weighted sum z twice, as z and -z;
    the ReLU keeps relu(z) and relu(-z); the second BatchNorm adds the bias to the first copy;
    the last Linear takes relu(z) + bias - relu(-z) = z + bias. Dropout does nothing in eval.
    """
    n_out = probe.weight.shape[0]
    if not fits_fastai_head(n_out):
        raise ValueError(f"a probe of {n_out} outputs does not fit fastai's head")
    head = fastai_head(n_features, n_out)
    first_norm, first, second_norm, last = head[2], head[4], head[6], head[8]
    with torch.no_grad():
        _set_norm(first_norm, probe.mean, probe.std.pow(2) - first_norm.eps, bias=None)
        first.weight.zero_()
        first.weight[:n_out] = probe.weight
        first.weight[n_out : 2 * n_out] = -probe.weight
        bias = torch.zeros(HIDDEN)
        bias[:n_out] = probe.bias
        unit = torch.full((HIDDEN,), 1 - second_norm.eps)
        _set_norm(second_norm, torch.zeros(HIDDEN), unit, bias)
        last.weight.zero_()
        eye = torch.eye(n_out)
        last.weight[:, :n_out] = eye
        last.weight[:, n_out : 2 * n_out] = -eye
    return head.eval()


def _set_norm(
    norm: nn.BatchNorm1d, mean: torch.Tensor, var: torch.Tensor, bias: torch.Tensor | None
) -> None:
    norm.running_mean.copy_(mean)
    norm.running_var.copy_(var)
    norm.weight.fill_(1.0)
    norm.bias.copy_(bias if bias is not None else torch.zeros_like(norm.bias))


def probe_of_head(head: nn.Sequential, exclusive: bool) -> Probe | None:
    """The probe a head written by probe_head holds, read back; None for any other head (one
    fastai trained, or one fine-tuned since), so callers can fall back to training it as is."""
    first_norm, first, second_norm, last = head[2], head[4], head[6], head[8]
    n_out = last.weight.shape[0]
    if not fits_fastai_head(n_out):
        return None
    with torch.no_grad():
        weight = first.weight[:n_out].clone()
        eye = torch.eye(n_out)
        layout = (
            torch.equal(first.weight[n_out : 2 * n_out], -weight)
            and not first.weight[2 * n_out :].any()
            and torch.equal(last.weight[:, :n_out], eye)
            and torch.equal(last.weight[:, n_out : 2 * n_out], -eye)
            and not last.weight[:, 2 * n_out :].any()
            and bool((second_norm.weight == 1).all())
            and not second_norm.running_mean.any()
            and bool((first_norm.weight == 1).all())
            and not first_norm.bias.any()
        )
        if not layout:
            return None
        std = (first_norm.running_var + first_norm.eps).sqrt()
        mean = first_norm.running_mean.clone()
        bias = second_norm.bias[:n_out].clone()
    return Probe(mean, std, weight, bias, exclusive)
