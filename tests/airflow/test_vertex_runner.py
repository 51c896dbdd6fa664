"""The vertex runner with a fake transport (no Google Cloud here).

The fake stands in for google-auth's AuthorizedSession: it checks the request shapes of the
Vertex AI v1 ``projects.locations.pipelineJobs`` API and plays job states.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

SPEC = {
    "pipelineInfo": {"name": "penguins"},
    "root": {"inputDefinitions": {"parameters": {"data_uri": {"parameterType": "STRING"}}}, "dag": {"tasks": {}}},
    "schemaVersion": "2.1.0",
}


class FakeResponse:
    def __init__(self, status: int, body: dict[str, Any]):
        self.status_code = status
        self._body = body
        self.text = json.dumps(body)
        self.content = self.text.encode()

    def json(self) -> dict[str, Any]:
        return self._body


class FakeVertexSession:
    def __init__(self, final_state: str = "PIPELINE_STATE_SUCCEEDED", error: str | None = None):
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.final_state = final_state
        self.error = error
        self.gets = 0

    def request(self, method: str, url: str, timeout: float = 0, **kw: Any) -> FakeResponse:
        self.requests.append((method, url, kw))
        base = "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj-1/locations/europe-west4/pipelineJobs"
        if method == "POST":
            assert url == base
            job_id = kw["params"]["pipelineJobId"]
            body = kw["json"]
            assert body["pipelineSpec"]["root"] and body["runtimeConfig"]["gcsOutputDirectory"].startswith("gs://")
            return FakeResponse(200, {"name": f"projects/123/locations/europe-west4/pipelineJobs/{job_id}", "state": "PIPELINE_STATE_QUEUED"})
        assert method == "GET" and "/pipelineJobs/" in url
        self.gets += 1
        if self.gets < 3:
            return FakeResponse(200, {"state": "PIPELINE_STATE_RUNNING"})
        body: dict[str, Any] = {"state": self.final_state}
        if self.error:
            body["error"] = {"code": 9, "message": self.error}
        return FakeResponse(200, body)


@pytest.fixture()
def package(tmp_path: Path) -> Path:
    p = tmp_path / "penguins_pipeline.yaml"
    p.write_text(yaml.safe_dump(SPEC) + "---\nplatforms: {}\n")  # KFP may append a platform spec
    return p


def test_vertex_job_is_created_from_the_compiled_spec_and_polled(package):
    from lib.runners import VertexRestClient, run_vertex, vertex_job_id

    session = FakeVertexSession()
    client = VertexRestClient("proj-1", "europe-west4", session=session)
    job_id = vertex_job_id("penguins", "manual__2026-01-01T00:00:00+00:00")
    assert job_id == "penguins-manual-2026-01-01t00-00-00-00-00"
    outcome = run_vertex(
        client,
        package=package,
        pipeline_name="penguins",
        job_id=job_id,
        parameters={"data_uri": "gs://bucket/penguins.csv", "config": "not-declared"},
        pipeline_root="gs://bucket/root",
        service_account="trainer@proj-1.iam.gserviceaccount.com",
        poll_s=0,
    )
    assert outcome.status == "succeeded"
    method, url, kw = session.requests[0]
    body = kw["json"]
    assert body["pipelineSpec"] == SPEC  # first YAML document only
    assert body["runtimeConfig"]["parameterValues"] == {"data_uri": "gs://bucket/penguins.csv"}
    assert body["serviceAccount"] == "trainer@proj-1.iam.gserviceaccount.com"
    assert body["labels"] == {"mlops-pipeline": "penguins"}
    assert outcome.links["Vertex AI run"].endswith(f"/runs/{job_id}?project=proj-1")


def test_failed_vertex_job_reports_its_error(package):
    from lib.runners import VertexRestClient, raise_for_outcome, run_vertex
    from lib.alerts import AlertingFailure

    session = FakeVertexSession("PIPELINE_STATE_FAILED", "The replica workerpool0-0 exited with a non-zero status of 137.")
    client = VertexRestClient("proj-1", "europe-west4", session=session)
    outcome = run_vertex(client, package=package, pipeline_name="penguins", job_id="j1", parameters={}, pipeline_root="gs://b/r", poll_s=0)
    assert outcome.status == "failed" and "status of 137" in outcome.reason
    with pytest.raises(AlertingFailure) as err:
        raise_for_outcome(outcome, "penguins", "gs://b/penguins.csv")
    assert err.value.alert["kind"] == "pipeline_failed" and "Vertex AI run" in err.value.alert["links"]


def test_vertex_needs_a_gcs_pipeline_root(package):
    from lib.runners import RunnerError, VertexRestClient, run_vertex

    client = VertexRestClient("proj-1", "europe-west4", session=FakeVertexSession())
    with pytest.raises(RunnerError, match="gs://"):
        run_vertex(client, package=package, pipeline_name="p", job_id="j", parameters={}, pipeline_root="runs/root")


def test_vertex_settings_come_from_variables(airflow_db, package, monkeypatch):
    """Project/location/root from AIRFLOW_VAR_*; the dispatch builds the client from them."""
    from lib import submit
    from lib.settings import settings_from_mapping

    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_VERTEX_PROJECT", "proj-1")
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_VERTEX_LOCATION", "europe-west4")
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_VERTEX_PIPELINE_ROOT", "gs://bucket/root")
    settings = settings_from_mapping(
        {"name": "penguins", "data": {"uri": "gs://b/p.csv"}, "kubeflow": {"package_path": str(package)}, "vertex": {"poll_seconds": 0}},
        "x.yaml",
    )
    session = FakeVertexSession()
    plan = {"config": "x.yaml", "run_id": "scheduled__2026", "data_uri": "gs://b/p.csv", "dataset": "penguins"}
    outcome = submit._vertex(plan, settings, session=session)
    assert outcome.status == "succeeded"
    assert session.requests[0][2]["json"]["runtimeConfig"]["gcsOutputDirectory"] == "gs://bucket/root"

    monkeypatch.delenv("AIRFLOW_VAR_MLOPS_VERTEX_PROJECT")
    with pytest.raises(submit.RunnerError, match="mlops_vertex_project"):
        submit._vertex(plan, settings, session=session)
