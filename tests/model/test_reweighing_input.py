"""The Trainer's reweighing input (pipelines/modules/tabular.py): the weights each batch carries
are Kamiran & Calders' for the example's (groups, label) cell."""

from __future__ import annotations

import numpy as np
import pytest


def test_batches_carry_the_cell_weights():
    import tensorflow as tf

    from components.fairness.reweighing import cell_weights
    from pipelines.modules import tabular

    rng = np.random.default_rng(0)
    n = 400
    island = rng.integers(0, 3, n)
    sex = rng.integers(0, 2, n)
    label = (rng.random(n) < np.where(island == 0, 0.8, 0.3)).astype(np.int64)
    ds = tf.data.Dataset.from_tensor_slices(
        ({"island_xf": island, "sex_xf": sex, "bill_xf": rng.normal(size=n).astype(np.float32)}, label)).batch(32)
    table = tabular.reweighing_table(ds, ["island", "sex"], "species")
    expected = cell_weights(list(zip(island.tolist(), sex.tolist())), label.tolist())
    got = []
    for features, y, w in tabular.with_weights(ds, table, ["island", "sex"]):
        for i, s, yy, ww in zip(features["island_xf"].numpy(), features["sex_xf"].numpy(), y.numpy(), w.numpy()):
            got.append(ww)
            assert ww == pytest.approx(expected[((int(i), int(s)), int(yy))], rel=1e-6)
    assert sum(got) == pytest.approx(n, rel=1e-5)
