"""Model serving: the newest pushed version over a TF-Serving-compatible REST API (``mlops serve``).

Modules: ``server`` (CLI, ``BackgroundServer``), ``app`` (FastAPI app factory), ``model`` (loading,
version polling and atomic swaps), ``validation`` (request checks from the signature),
``prediction_log`` (batched JSONL logging), ``monitor`` (online drift), ``metrics`` (Prometheus).
See docs/serving.md.
"""
