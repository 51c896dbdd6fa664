"""Submitting the training pipeline: one runner per config ``runner`` value, behind one interface.

Every runner is a :class:`~mlops_airflow.runners.interface.Runner`: ``run(RunRequest) ->
RunOutcome``. :data:`RUNNERS` maps the config's ``runner`` names (``pipelines.config.RUNNERS``)
to them; :func:`submit` is what ``training_pipeline.submit_pipeline`` calls.

* ``local``: ``mlops run`` in the project image (:mod:`.local`);
* ``kubeflow``: Kubeflow Pipelines through ``kfp.Client`` (:mod:`.kubeflow`);
* ``vertex``: Vertex AI Pipelines through ``aiplatform.PipelineJob`` (:mod:`.vertex`);
* ``dry-run``: nothing is submitted (validation only; used by the browser test).

Shared pieces, one module each: the outcome and its alert (:mod:`.outcome`), the compiled spec
(:mod:`.spec`), the cache parameters of a remote run (:mod:`.cache`), the retry policy (:mod:`.retry`), SIGTERM while waiting (:mod:`.interrupt`), and
the KFP / Vertex AI client process (:mod:`.remote`, the task's side; :mod:`.remote_client`, the
process itself). Kubeflow and Vertex both submit the compiled spec at ``kubeflow.package_path``
(default ``build/<config stem>_pipeline.yaml``, what ``make compile`` writes; compiled with
``mlops compile`` in the project image when missing) with the DAG's validated data URI as its
``data_uri`` runtime parameter. Nothing here imports Airflow or the cloud clients at import time
(the clients' venv imports these modules too).
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from mlops_airflow.runners.interface import Runner, RunRequest
from mlops_airflow.runners.kubeflow import KubeflowRunner
from mlops_airflow.runners.local import LocalRunner
from mlops_airflow.runners.outcome import RunnerError, RunOutcome, raise_for_outcome
from mlops_airflow.runners.vertex import VertexRunner

log = logging.getLogger(__name__)

__all__ = ["RUNNERS", "RunOutcome", "RunRequest", "Runner", "RunnerError", "get_runner", "submit"]


class DryRunRunner:
    """Submits nothing: the DAG validated the data, and that is all that was asked."""

    name = "dry-run"

    def run(self, request: RunRequest) -> RunOutcome:
        return RunOutcome(runner=self.name, status="skipped", reason="dry-run: data validated, nothing submitted")


#: The config's ``runner`` name -> its runner (the keys are ``pipelines.config.RUNNERS``).
RUNNERS: Mapping[str, Runner] = {r.name: r for r in (LocalRunner(), KubeflowRunner(), VertexRunner(), DryRunRunner())}


def get_runner(name: str) -> Runner:
    """The runner of a config's ``runner`` value.

    Raises:
        RunnerError: no runner has that name.
    """
    try:
        return RUNNERS[name]
    except KeyError:
        raise RunnerError(f"unknown runner {name!r}; use one of {', '.join(RUNNERS)}") from None


def submit(plan: Mapping[str, Any]) -> RunOutcome:
    """Runs a ``resolve_run`` plan on its runner; raises ``AlertingFailure`` unless the run succeeded."""
    runner = get_runner(plan["runner"])
    outcome = runner.run(RunRequest.from_plan(plan))
    log.info("outcome: %s", outcome.to_dict())
    raise_for_outcome(outcome, plan["dataset"], plan["data_uri"])
    return outcome
