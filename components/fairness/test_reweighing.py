"""Reweighing: the weighted data has group and label independent, total weight unchanged."""

import numpy as np
import pytest

from components.fairness import reweighing


def test_weights_make_group_and_label_independent():
    rng = np.random.default_rng(0)
    groups = rng.choice(["a", "b", "c"], size=3000, p=[0.5, 0.3, 0.2])
    # Base rates differ by group: a 70 % positive, b 30 %, c 50 %.
    labels = np.array([rng.random() < {"a": 0.7, "b": 0.3, "c": 0.5}[g] for g in groups]).astype(int)
    w = reweighing.example_weights(list(groups), list(labels))
    assert w.sum() == pytest.approx(len(groups))
    overall = np.average(labels, weights=w)
    for g in ("a", "b", "c"):
        mask = groups == g
        assert np.average(labels[mask], weights=w[mask]) == pytest.approx(overall, abs=1e-9)
        assert w[mask].sum() == pytest.approx(mask.sum())  # each group keeps its weight


def test_independent_data_keeps_unit_weights_and_tuples_name_joint_groups():
    groups = [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")] * 2
    labels = [0, 0, 0, 0, 1, 1, 1, 1]
    assert reweighing.example_weights(groups, labels).tolist() == [1.0] * 8
    cells = reweighing.cell_weights(["a", "a", "a", "b"], [1, 1, 0, 0])
    # n_a=3, n_b=1, n_1=2, n_0=2, N=4: w(a,1)=3*2/(4*2)=0.75, w(a,0)=3*2/(4*1)=1.5, w(b,0)=1*2/(4*1)=0.5
    assert cells == {("a", 1): 0.75, ("a", 0): 1.5, ("b", 0): 0.5}


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="2 groups for 1 labels"):
        reweighing.cell_weights(["a", "b"], [1])
    with pytest.raises(ValueError, match="at least one"):
        reweighing.cell_weights([], [])
