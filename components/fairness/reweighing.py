"""Reweighing (Kamiran & Calders, 2012): per-example training weights that make the sensitive
groups and the label independent in the weighted training data.

Each training example of group ``g`` (the combination of its sensitive columns' values) and
label ``y`` gets

    w(g, y) = P(g) * P(y) / P(g, y) = n_g * n_y / (N * n_{g,y})

so every (group, label) cell weighs what it would if group and label were independent, and the
total weight stays N. A model trained with these weights cannot learn the label's base rate per
group from the group itself (or its proxies) the way it would from the raw data; what it learns
from the other features stays.

Why our own few lines: fairlearn (in the image) has no reweighing (its mitigations are
reductions and post-processing); AIF360 0.6.1 would install, but its ``Reweighing`` takes one
binary privileged/unprivileged split of an AIF360 ``BinaryLabelDataset`` and a binary favourable
label, while these pipelines have multi-class labels and sensitive columns with several groups.
The formula is the same; this version takes any number of groups and classes.

Pure Python + numpy: the Trainer (``pipelines/modules/tabular.py``) counts the cells on the
transformed train split and looks the weights up per batch.
"""

from __future__ import annotations

from collections import Counter
from typing import Hashable, Iterable, Sequence

import numpy as np

METHOD = "reweighing"
REFERENCE = "Kamiran & Calders (2012), Data preprocessing techniques for classification without discrimination"


def cell_weights(groups: Iterable[Hashable], labels: Iterable[Hashable]) -> dict[tuple[Hashable, Hashable], float]:
    """``{(group, label): weight}`` over the cells that occur.

    Args:
        groups: Each example's group (a value, or a tuple of values for several columns).
        labels: Each example's label.

    Raises:
        ValueError: Different lengths, or no examples.
    """
    groups, labels = list(groups), list(labels)
    if len(groups) != len(labels):
        raise ValueError(f"{len(groups)} groups for {len(labels)} labels")
    if not groups:
        raise ValueError("reweighing needs at least one example")
    n = len(groups)
    by_group, by_label, by_cell = Counter(groups), Counter(labels), Counter(zip(groups, labels))
    return {(g, y): by_group[g] * by_label[y] / (n * count) for (g, y), count in by_cell.items()}


def example_weights(groups: Sequence[Hashable], labels: Sequence[Hashable]) -> np.ndarray:
    """Each example's weight (float64 [N]); they sum to N."""
    cells = cell_weights(groups, labels)
    return np.array([cells[(g, y)] for g, y in zip(groups, labels)], dtype=np.float64)
