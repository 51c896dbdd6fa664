"""The Trainer's input: plain tf.data over Transform's output gives TFXIO's batches, seed for seed.

The module reads the transformed examples itself (``pipelines/modules/tabular.py: _dataset``)
because TFXIO's ``TensorFlowDataset`` spent 4-8x as long per epoch on the same records. The
claim that makes that acceptable is that nothing about training changes: the same records in the
same batches in the same order, every epoch. Checked here against TFXIO itself on the shared
penguins run's real Transform output.
"""

from __future__ import annotations

import numpy as np
import pytest


def _batches(ds) -> list[tuple[dict, np.ndarray]]:
    return [({k: v.numpy() for k, v in x.items()}, y.numpy()) for x, y in ds]


def _same(a, b) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(ya, yb) and xa.keys() == xb.keys() and all(np.array_equal(xa[k], xb[k]) for k in xa)
        for (xa, ya), (xb, yb) in zip(a, b)
    )


@pytest.mark.parametrize("split,shuffle", [("train", True), ("eval", False)])
def test_batches_equal_tfxio_for_the_same_seed(penguins_run, split, shuffle):
    import tensorflow as tf
    import tensorflow_transform as tft
    from tfx.components.util import tfxio_utils
    from tfx.types import standard_artifacts
    from tfx_bsl.public import tfxio

    from pipelines.modules import tabular

    label = penguins_run["config"].label
    output = tft.TFTransformOutput(str(penguins_run["transform_graph_uri"]))
    examples = standard_artifacts.Examples()
    examples.uri = str(penguins_run["transformed_examples_uri"])
    examples.split_names = '["train", "eval"]'
    pattern = [str(penguins_run["transformed_examples_uri"] / f"Split-{split}" / "*")]
    factory = tfxio_utils.get_tf_dataset_factory_from_artifact([examples], [])

    tf.keras.utils.set_random_seed(7)
    ours = tabular._dataset(pattern, output, label, 16, shuffle)
    epochs_ours = [_batches(ours), _batches(ours)]  # Keras re-iterates the dataset each epoch
    tf.keras.utils.set_random_seed(7)
    theirs = factory(
        pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=16, label_key=tabular.xf(label), shuffle=shuffle, num_epochs=1),
        output.transformed_metadata.schema,
    )
    epochs_tfxio = [_batches(theirs), _batches(theirs)]

    assert sum(len(y) for _, y in epochs_ours[0]) > 0
    # Penguins' split is smaller than the buffer, so the buffer size is checked on its own.
    assert tabular.SHUFFLE_BUFFER == tfxio.TensorFlowDatasetOptions(batch_size=1).shuffle_buffer_size
    assert _same(epochs_ours[0], epochs_tfxio[0])
    assert _same(epochs_ours[1], epochs_tfxio[1])
    # The shuffle must actually reshuffle per epoch (as TFXIO's does), and not touch eval.
    assert _same(epochs_ours[0], epochs_ours[1]) is (not shuffle)


def test_no_files_is_a_clear_error(penguins_run, tmp_path):
    import tensorflow_transform as tft

    from pipelines.modules import tabular

    output = tft.TFTransformOutput(str(penguins_run["transform_graph_uri"]))
    with pytest.raises(ValueError, match="no transformed examples match"):
        tabular._dataset([str(tmp_path / "Split-train" / "*")], output, "species", 16, True)
