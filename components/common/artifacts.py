"""Artifact types of our components (registered in MLMD by name).

Names are `mlops.<Title>`: the KFP v2 compiler uses them as schema titles (it accepts only
`<namespace>.<Title>`), and TFX's container entrypoint on Kubeflow/Vertex imports each title as
`<module>.<Class>`, so the top-level package `mlops` re-exports every class defined here.
"""

import os

from tfx.types.artifact import Artifact


class GreatExpectationsResult(Artifact):
    """A Great Expectations validation: ``result.json``, ``expectation_suite.json`` and Data Docs."""

    TYPE_NAME = "mlops.GreatExpectationsResult"


class DataGateResult(Artifact):
    """The data gate's verdict (``gate.json``); only produced when the data passed."""

    TYPE_NAME = "mlops.DataGateResult"


class HtmlReport(Artifact):
    """A report a person opens in a browser: ``index.html`` plus its assets."""

    TYPE_NAME = "mlops.HtmlReport"


class FairnessResult(Artifact):
    """The fairness gate's verdict: ``result.json``, ``index.html``; custom property ``passed``."""

    TYPE_NAME = "mlops.FairnessResult"


class CompressedModel(Artifact):
    """TFLite variants: ``variants/*.tflite``, ``report.json``, ``index.html`` and, when one is
    within the budget, ``best/{model.tflite, preprocessing.json, labels.txt, variant.json}``.
    Custom properties: ``best_variant`` ('' when none), ``best_dir`` ('' when none)."""

    TYPE_NAME = "mlops.CompressedModel"


class DriftResult(Artifact):
    """A drift report: ``drift.json`` and ``drift.html``."""

    TYPE_NAME = "mlops.DriftResult"


def compressed_best_dir(artifact: Artifact) -> str | None:
    """The directory to ship from a ``CompressedModel`` (``<uri>/best``), or None when no
    variant qualified. Derived from the artifact's uri rather than the ``best_dir`` property
    recorded at write time, so it is right wherever the artifact is read from."""
    if not artifact.has_custom_property("best_variant") or not artifact.get_string_custom_property("best_variant"):
        return None
    return os.path.join(artifact.uri, "best")
