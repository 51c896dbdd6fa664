"""MLflow experiment tracking and model registry, fed by the pipeline (docs/tracking.md).

MLflow is fed, not replaced: MLMD stays the pipeline's lineage and cache store, the push
destination stays the source of truth for "the model in production", and the registry mirrors
it. ``logic`` holds the pure functions (what is logged, under which names); ``client`` is the
adapter that talks to MLflow (``mlops run`` and the Kubeflow/Vertex pusher call it);
``index`` writes ``<output-dir>/reports/index.html`` for people without MLflow.
"""
