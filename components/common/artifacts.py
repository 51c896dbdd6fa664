"""Artifact types of our components (registered in MLMD by name).

Names are `<namespace>.<Title>`: the KFP v2 compiler uses them as schema titles and rejects others.
"""

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
