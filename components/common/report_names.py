"""The names of a run's reports: the layout of ``<output-dir>/reports/``, defined once.

Components copy their reports to ``report_dir/<folder>`` (``mlops run``), ``mlops run`` copies
them again from the run's own artifacts (``pipelines.local.reports``), and the run summary,
the MLflow metrics (``pipelines.tracking.logic``) and the Kubeflow pusher read them back by
these names. Plain constants: no import beyond the standard library, so anything may use them.
"""

# Sub-folders of the report folder, one per reporting component.
EVALUATION = "evaluation"  # EvaluationReport: INDEX_HTML, METRICS_JSON
EXPLAIN = "explain"  # ModelExplanation: INDEX_HTML (and its attributions)
FAIRNESS = "fairness"  # FairnessGate: INDEX_HTML, RESULT_JSON
COMPRESS = "compress"  # ModelCompression: INDEX_HTML, REPORT_JSON
DRIFT = "drift"  # DriftCheck: DRIFT_HTML, DRIFT_JSON
DATA_DOCS = "data_docs"  # GreatExpectationsValidation: DATA_DOCS/<split>/INDEX_HTML

# Files inside them.
INDEX_HTML = "index.html"
METRICS_JSON = "metrics.json"
RESULT_JSON = "result.json"
REPORT_JSON = "report.json"
DRIFT_HTML = "drift.html"
DRIFT_JSON = "drift.json"

# Files at the top of the report folder.
GATE_JSON = "gate.json"  # the data gate's verdict (DataIngest or DataGate)
PUSHED_JSON = "pushed.json"  # what VersionedPusher pushed, if anything

#: The page a person opens for each report folder that has one page.
PAGES = {
    EVALUATION: INDEX_HTML,
    EXPLAIN: INDEX_HTML,
    FAIRNESS: INDEX_HTML,
    COMPRESS: INDEX_HTML,
    DRIFT: DRIFT_HTML,
}
