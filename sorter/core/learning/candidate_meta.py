"""The metadata of a quick retrain's candidate: categories, kind, thresholds, training summary."""

from __future__ import annotations

from pathlib import Path

from sorter import __version__
from sorter.core.learning import groups
from sorter.core.learning.data import RetrainData, training_summary
from sorter.core.learning.evaluate import CandidateScores
from sorter.core.model.meta import ModelMeta, trained_meta
from sorter.core.training import metrics as th


def group_meta(
    base: ModelMeta, data: RetrainData, layer: groups.GroupLayer, base_path: Path
) -> ModelMeta:
    """The base's metadata with the new outputs and groups: its thresholds, kind and
    preprocessing kept (the layer moved gently; new categories take the default threshold)."""
    from sorter.core.learning.versions import version_name_of

    summary = training_summary(base, data, "quick", version_name_of(base_path))
    return base.replace(
        categories=list(data.categories),
        n_outputs=int(layer.weight.shape[0]),
        groups={name: list(ids) for name, ids in layer.groups.items()},
        training={**summary, "origin": base.training.get("origin"), "method": "last layer, L2-SP"},
        created_by=f"sorter {__version__}",
    )


def quick_meta(
    base: ModelMeta,
    data: RetrainData,
    scores: CandidateScores,
    base_path: Path,
    correction_weight: int,
) -> ModelMeta:
    """The new model's metadata: the base's preprocessing and kind, a head for every category;
    `correction_weight` (how many times each correction counted) is recorded with the training."""
    from sorter.core.learning.versions import version_name_of

    categories = list(data.categories)
    cap = label_cap(base, data)
    if not len(scores.valid_scores):
        chosen = dict.fromkeys(categories, 0.5)
    elif base.exclusive:
        chosen = th.exclusive_thresholds(scores.valid_scores, scores.valid_targets, categories)
    else:
        chosen = th.exact_set_thresholds(
            scores.valid_scores, scores.valid_targets, categories, max_labels=cap
        )
    return trained_meta(
        base.arch,
        categories,
        base.preprocessing,  # pad_mode too: the features were computed with it
        exclusive=base.exclusive,
        thresholds=chosen,
        training={
            **training_summary(base, data, "quick", version_name_of(base_path)),
            "correction_weight": correction_weight,
        },
        created_by=f"sorter {__version__}",
        backbone_sha256=base.backbone_sha256 or None,
        max_labels=cap,
    )


def label_cap(base: ModelMeta, data: RetrainData) -> int | None:
    """The base's most folders per image, raised when a correction carries more labels."""
    if base.max_labels is None:
        return None
    labels = [len(c.labels) for c in data.corrections]
    return max([base.max_labels, *labels])
