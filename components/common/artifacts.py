"""Artifact types of our components (registered in MLMD by name)."""

from tfx.types.artifact import Artifact


class GreatExpectationsResult(Artifact):
    """A Great Expectations validation: ``result.json``, ``expectation_suite.json`` and Data Docs."""

    TYPE_NAME = "GreatExpectationsResult"


class DataGateResult(Artifact):
    """The data gate's verdict (``gate.json``); only produced when the data passed."""

    TYPE_NAME = "DataGateResult"


class HtmlReport(Artifact):
    """A report a person opens in a browser: ``index.html`` plus its assets."""

    TYPE_NAME = "HtmlReport"
