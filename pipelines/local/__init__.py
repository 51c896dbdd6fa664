"""Local runs: LocalDagRunner with a SQLite MLMD store, one module per concept.

Beside ``pipelines.kubeflow`` (the compiled spec), as ``kfp.local`` sits beside ``kfp.compiler``:

* ``run``: ``run_local`` runs the pipeline and writes ``<output-dir>/run.json``;
* ``progress``: one line per component as MLMD records its execution;
* ``mlmd``: what the SQLite MLMD store says about one run (executions, output artifacts);
* ``reports``: copies the reports held by the run's artifacts into ``<output-dir>/reports``;
* ``summary``: ``RunSummary`` (the ``run.json`` contract) and the verdict read from the reports.
"""
