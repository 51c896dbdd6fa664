"""The one interface every runner implements: ``run(RunRequest) -> RunOutcome``.

A runner is named after the config's ``runner`` key (``pipelines.config.RUNNERS``); the
registry in :mod:`mlops_airflow.runners` maps each name to its runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Protocol

if TYPE_CHECKING:  # the clients' venv imports the runners too, and has no Airflow
    from mlops_airflow.pipeline_config import PipelineConfig
    from mlops_airflow.runners.outcome import RunOutcome


@dataclass(frozen=True)
class RunRequest:
    """One pipeline run to submit: the ``training_pipeline`` plan and its loaded config.

    Attributes:
        config: The config path as the plan names it (repo-relative when in the repository).
        pipeline: That config, loaded and validated by ``pipelines.config``.
        dataset: The pipeline's name (alerts, Variables).
        data_uri: The data the DAG validated; the run must train on exactly this.
        run_id: The Airflow run id (remote runs are named after it, so a retry re-attaches).
        output_dir: Repo-relative run folder (local runner).
    """

    config: str
    pipeline: "PipelineConfig"
    dataset: str
    data_uri: str
    run_id: str
    output_dir: str | None = None

    @classmethod
    def from_plan(cls, plan: Mapping[str, Any]) -> "RunRequest":
        """The request for a ``resolve_run`` plan; loads its config (``InvalidPipelineConfig`` if bad)."""
        from mlops_airflow.pipeline_config import load_pipeline_config

        return cls(
            config=plan["config"],
            pipeline=load_pipeline_config(plan["config"]),
            dataset=plan["dataset"],
            data_uri=plan["data_uri"],
            run_id=plan["run_id"],
            output_dir=plan.get("output_dir"),
        )


class Runner(Protocol):
    """Submits a pipeline run somewhere and waits for its end."""

    #: The config's ``runner`` value this runner answers to.
    name: str

    def run(self, request: RunRequest) -> "RunOutcome":
        """Runs the pipeline and returns its outcome (whatever it was).

        Raises:
            RunnerError: the run could not be started or followed (settings, API errors).
            TaskKilled: the task received SIGTERM while waiting (the run was stopped).
        """
        ...
