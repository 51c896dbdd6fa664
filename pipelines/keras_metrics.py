"""Keras metrics TFMA computes for us (``MetricConfig.module = "pipelines.keras_metrics"``).

The Evaluator imports this module by name in its Beam workers, so it stays dependency-light:
TensorFlow and tf_keras only.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras


class R2Score(tf_keras.metrics.R2Score):
    """tf_keras' coefficient of determination with its state built at construction.

    tf_keras creates ``R2Score``'s sums on the first ``update_state`` (their shape follows the
    labels'). TFMA creates a metric, reads its weights, then sets merged weights back on a fresh
    one, which then has 1 weight instead of 5 ("set_weights ... expecting 1 weights"). One
    regression output (``predicted_value``, ``[batch, 1]``) fixes the shapes, so we build it now.
    The five weights are sums (of squares, of labels, of squared errors, counts), so TFMA's
    merge by addition is exact.
    """

    def __init__(self, name: str = "r2_score", **kwargs):
        super().__init__(name=name, **kwargs)
        self.build(tf.TensorShape([None, 1]), tf.TensorShape([None, 1]))
