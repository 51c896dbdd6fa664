"""The project's custom TFX artifact types, importable by their KFP schema titles.

On Kubeflow Pipelines and Vertex AI, TFX's container entrypoint rebuilds every input and output
artifact from its schema title, importing ``<module>.<Class>``; the KFP v2 compiler only accepts
titles of the form ``<namespace>.<Title>`` (one dot). Our types are titled ``mlops.<Title>``, so
this package must export each of them under that name, in the project image (``PYTHONPATH=/src``).
``tests/e2e/test_kubeflow_conformance.py`` imports every title of the compiled spec.

The classes live with the components (``components/common/artifacts.py``); this module only names
them.
"""

from components.common.artifacts import (  # noqa: F401 - re-exported by title
    CompressedModel,
    DataGateResult,
    DriftResult,
    FairnessResult,
    GreatExpectationsResult,
    HtmlReport,
)

__all__ = [
    "CompressedModel", "DataGateResult", "DriftResult", "FairnessResult", "GreatExpectationsResult", "HtmlReport",
]
