"""Frozen MobileNetV2 features and the logistic-regression baselines the training bench shows.

The features are computed here, not by Sorter's training code, so the baseline stays the same
whichever training code is measured: ImageNet MobileNetV2 (the weights Sorter finds), the
model's own decode and resize (`open_image`, 224 px centre crop, ImageNet normalisation), then
max- and average-pooled 7x7 maps side by side (2 x 1280 values, as quick mode pools them).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sorter.core.model.decode import open_image
from sorter.core.model.meta import IMAGENET, Preprocessing
from sorter.core.model.predict import preprocess

PRE = Preprocessing(224, "crop", IMAGENET)
CS = (0.001, 0.01, 0.1, 1.0)  # the C values 5-fold cross-validation chooses from


@cache
def _body(arch: str = "mobilenet_v2") -> nn.Module:
    from sorter.core.training.backbone import find_pretrained_weights

    weights = find_pretrained_weights(arch)
    if weights is None:
        raise SystemExit(f"No ImageNet weights for {arch} on this machine (see the README).")
    if arch != "mobilenet_v2":  # the pair: Sorter's own network, with both halves' weights
        from sorter.core.training.backbone import pretrained_body

        return pretrained_body(arch, weights).eval()
    import torchvision

    network = torchvision.models.mobilenet_v2(weights=None)
    network.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return network.features.eval()


def frozen_features(
    paths: Sequence[Path], batch: int = 32, arch: str = "mobilenet_v2"
) -> np.ndarray:
    """(N, 2 x channels) pooled features of the images, in order (every image must be readable).

    `arch` "mobilenet_v2": torchvision's network, independent of Sorter's training code. Any
    other arch is built by Sorter (backbone.pretrained_body), for the baseline on the same
    features a model of that arch learns from."""
    rows = []
    for start in range(0, len(paths), batch):
        x = torch.stack(
            [preprocess(open_image(p, PRE.input_size), PRE) for p in paths[start : start + batch]]
        )
        with torch.inference_mode():
            maps = _body(arch)(x)
        rows.append(torch.cat([maps.amax((2, 3)), maps.mean((2, 3))], 1))
    return torch.cat(rows).numpy()


def _logistic(seed: int):
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cv = LogisticRegressionCV(Cs=list(CS), cv=5, max_iter=3000, random_state=seed)
    return make_pipeline(StandardScaler(), cv)


def single_label_top1(x_train, y_train, x_test, y_test, seed: int) -> dict:
    """Top-1 of a multinomial logistic regression (standardised, C by 5-fold CV)."""
    model = _logistic(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's FutureWarnings and convergence chatter
        model.fit(x_train, y_train)
        predicted = model.predict(x_test)
    return {"top1": float(np.mean(predicted == np.asarray(y_test)))}


def multi_label_scores(x_train, labels_train, x_test, labels_test, seed: int) -> dict:
    """One-vs-rest logistic regressions (one per category, standardised, C by 5-fold CV).

    top1: the highest-scoring category is one of the image's labels; top2_both: its two
    highest-scoring categories are exactly its two labels (told that there are two)."""
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    binarizer = MultiLabelBinarizer()
    y = binarizer.fit_transform(labels_train)
    model = OneVsRestClassifier(_logistic(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x_train, y)
        scores = model.predict_proba(x_test)
    names = list(binarizer.classes_)
    order = np.argsort(-scores, axis=1)
    top1 = [names[row[0]] in truth for row, truth in zip(order, labels_test, strict=True)]
    top2 = [
        {names[row[0]], names[row[1]]} == set(truth)
        for row, truth in zip(order, labels_test, strict=True)
    ]
    return {"top1": float(np.mean(top1)), "top2_both": float(np.mean(top2))}
