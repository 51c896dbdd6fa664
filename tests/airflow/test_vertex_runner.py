"""The vertex runner: the real ``aiplatform.PipelineJob`` (google-cloud-aiplatform 1.165.1, REST
transport, anonymous credentials, .venv-pipeline-clients) against a local STAND-IN of the
Vertex AI v1 REST API (vertex_standin.py), submitting the real compiled spec.

There is no Vertex emulator and nothing here reaches Google Cloud: the stand-in answers
``pipelineJobs`` create/get/cancel and the pipeline root's Cloud Storage bucket calls, and it
checks the job the way Vertex does where that is cheap (job id, schema version, executors,
gs:// output directory, declared and typed parameter values, labels, service account). It does
not run the pipeline, check images, IAM or quotas.
"""

from __future__ import annotations

import pytest

from support import attempt_lost_while_running, config_with, golden_spec_path, load_spec, mutated_spec, remote_request
from support import push_version, run_dag, run_killed_once_running, sha256_file, xcom
from vertex_standin import ACCELERATOR_TYPES, VertexStandIn

JOB_GET = r"/pipelineJobs/[^/:]+$"
SA = "trainer@proj-1.iam.gserviceaccount.com"


@pytest.fixture()
def vertex(monkeypatch, clients_python, no_external_network):
    server = VertexStandIn(project="proj-1", location="europe-west4").start()
    for key, value in {
        "PROJECT": "proj-1",
        "LOCATION": "europe-west4",
        "PIPELINE_ROOT": "gs://mlops-root/pipelines",
        "SERVICE_ACCOUNT": SA,
        "API_ENDPOINT": server.url,
        "ANONYMOUS_CREDENTIALS": "true",
        "POLL_SECONDS": "0.05",
    }.items():
        monkeypatch.setenv(f"AIRFLOW_VAR_MLOPS_VERTEX_{key}", value)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)
    monkeypatch.delenv("MLOPS_PIPELINE_CLIENTS_PYTHON", raising=False)
    yield server
    server.stop()


RETRY = {"retry_initial_seconds": 0.05, "retry_max_seconds": 0.2, "retry_budget_seconds": 20}


GPU_SPEC_VERTEX = golden_spec_path().with_name("penguins_gpu_vertex.yaml")  # compiled for Vertex AI
GPU_SPEC_KFP = golden_spec_path().with_name("penguins_gpu_kfp.yaml")  # compiled for OSS KFP


@pytest.fixture()
def vertex_config(tmp_path, pipeline_config) -> str:
    return config_with(
        tmp_path, pipeline_config, str(golden_spec_path()), vertex=RETRY, push={"destination": str(tmp_path / "models")}
    )


def test_dag_submits_the_compiled_spec_as_a_pipeline_job_on_the_validated_data_and_survives_a_503(
    dagbag, vertex, vertex_config, good_csv, webhook
):
    vertex.fail_next.append(("GET", JOB_GET, 503))
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": vertex_config, "data_uri": str(good_csv), "runner": "vertex"})
    assert set(states.values()) == {"success"}, states

    (job_id,) = vertex.jobs
    job = vertex.jobs[job_id]
    assert job_id.startswith("penguins-manual-")
    assert job["pipelineSpec"] == load_spec(golden_spec_path())  # the real compiled spec (its caching: on)
    assert job["runtimeConfig"] == {
        "gcsOutputDirectory": "gs://mlops-root/pipelines",
        # the validated URI, and the cache parameters of a local file and an empty destination
        "parameterValues": {"data_uri": str(good_csv), "data_fingerprint": f"sha256:{sha256_file(good_csv)}", "serving_version": 0},
    }
    assert job["serviceAccount"] == SA and job["labels"] == {"mlops-pipeline": "penguins"}
    assert job["displayName"] == f"penguins {dr.run_id}"
    assert [(m, status) for m, _, status in vertex.faults_served] == [("GET", 503)]
    assert job["state"] == "PIPELINE_STATE_SUCCEEDED"
    report = xcom(dr, "report_outcome")
    assert report["links"]["Vertex AI run"] == (
        f"https://console.cloud.google.com/vertex-ai/locations/europe-west4/pipelines/runs/{job_id}?project=proj-1"
    )
    assert webhook == []


def test_failed_job_fails_the_task_with_the_jobs_error_and_console_link(dagbag, vertex, vertex_config, good_csv, webhook):
    vertex.final_state = "PIPELINE_STATE_FAILED"
    vertex.final_error = "The replica workerpool0-0 exited with a non-zero status of 137."
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": vertex_config, "data_uri": str(good_csv), "runner": "vertex"})
    assert states["submit_pipeline"] == "failed" and states["report_outcome"] == "upstream_failed"
    (job_id,) = vertex.jobs
    text = webhook[0]["json"]["text"]
    assert "non-zero status of 137" in text and "PIPELINE_STATE_FAILED" in text
    assert f"/pipelines/runs/{job_id}?project=proj-1" in text


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda s: s.update(schemaVersion="2.2.0"), "Unsupported PipelineSpec schemaVersion '2.2.0'"),
        (lambda s: s["deploymentSpec"]["executors"].pop("Trainer_executor"), "executor 'Trainer_executor' not found"),
    ],
    ids=["unknown-schema-version", "missing-executor"],
)
def test_specs_vertex_refuses_fail_the_task_without_retrying(
    dagbag, vertex, tmp_path, pipeline_config, good_csv, webhook, change, expected
):
    config = config_with(tmp_path, pipeline_config, mutated_spec(tmp_path, change), vertex=RETRY)
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config, "data_uri": str(good_csv), "runner": "vertex"})
    assert states["submit_pipeline"] == "failed"
    assert expected in webhook[0]["json"]["text"] and "HTTP 400" in webhook[0]["json"]["text"]
    assert vertex.jobs == {} and len(vertex.rejections) == 1 and expected in vertex.rejections[0]
    assert len([c for c in vertex.calls if c[0] == "POST" and c[1].endswith("/pipelineJobs")]) == 1


def test_standin_refuses_what_vertex_refuses():
    """The stand-in's own checks, on the real spec (the runner never sends these)."""
    from vertex_standin import VertexError, check_job

    spec = load_spec(golden_spec_path())
    ok = {"pipelineSpec": spec, "runtimeConfig": {"gcsOutputDirectory": "gs://b/r", "parameterValues": {"data_uri": "gs://b/p.csv"}}}
    check_job("penguins-1", ok)
    bad = [
        ("Penguins_1", ok, "Invalid pipeline job id"),
        ("p", {**ok, "runtimeConfig": {"gcsOutputDirectory": "s3://b/r"}}, "must be a gs:// URI"),
        ("p", {**ok, "runtimeConfig": {"gcsOutputDirectory": "gs://b", "parameterValues": {"config": "x"}}}, "not found in the pipeline job input"),
        ("p", {**ok, "runtimeConfig": {"gcsOutputDirectory": "gs://b", "parameterValues": {"data_uri": 3}}}, "is not of type STRING"),
        ("p", {**ok, "labels": {"Team": "ml"}}, "invalid label"),
        ("p", {**ok, "serviceAccount": "trainer"}, "is not a service account e-mail"),
    ]
    for job_id, job, message in bad:
        with pytest.raises(VertexError, match=message):
            check_job(job_id, job)


def test_a_task_retry_reattaches_to_its_job_and_a_failed_job_gets_a_new_id(airflow_db, vertex, vertex_config, good_csv):
    from mlops_airflow.runners import RunnerError, get_runner

    runner, request = get_runner("vertex"), remote_request(vertex_config, str(good_csv))
    assert isinstance(attempt_lost_while_running(runner, request, vertex), RunnerError)
    (job_id,) = vertex.jobs

    # (For an existing bucket aiplatform asks the Resource Manager API for the project number,
    # which no stand-in serves: let each attempt find the pipeline root's bucket missing.)
    vertex.buckets.clear()
    vertex.hold_running = False
    outcome = runner.run(request)
    assert outcome.status == "succeeded" and outcome.run_id.endswith(f"/pipelineJobs/{job_id}")
    assert list(vertex.jobs) == [job_id] and vertex.cancelled == []

    vertex.jobs[job_id]["state"] = "PIPELINE_STATE_FAILED"
    vertex.buckets.clear()
    outcome = runner.run(request)
    assert outcome.status == "succeeded" and list(vertex.jobs) == [job_id, f"{job_id}-r2"]


def test_killing_the_task_cancels_the_pipeline_job(airflow_db, vertex, vertex_config, good_csv):
    from mlops_airflow.runners import get_runner

    run_killed_once_running(get_runner("vertex"), remote_request(vertex_config, str(good_csv)), vertex)
    (job_id,) = vertex.jobs
    assert vertex.cancelled == [job_id]


def test_vertex_settings_are_checked_before_anything_is_sent(airflow_db, vertex, vertex_config, good_csv, monkeypatch):
    from mlops_airflow.runners import RunnerError, get_runner

    runner, request = get_runner("vertex"), remote_request(vertex_config, str(good_csv))
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_VERTEX_PIPELINE_ROOT", "runs/root")
    with pytest.raises(RunnerError, match="must be a gs:// URI"):
        runner.run(request)
    monkeypatch.delenv("AIRFLOW_VAR_MLOPS_VERTEX_PROJECT")
    with pytest.raises(RunnerError, match="mlops_vertex_project"):
        runner.run(request)
    assert vertex.calls == []


def test_job_ids_are_valid_and_deterministic():
    from mlops_airflow.runners.vertex import JOB_ID, vertex_job_id

    job_id = vertex_job_id("penguins", "manual__2026-01-01T00:00:00+00:00")
    assert job_id == "penguins-manual-2026-01-01t00-00-00-00-00"
    assert vertex_job_id("penguins", "manual__2026-01-01T00:00:00+00:00") == job_id
    assert JOB_ID.match(vertex_job_id("9lives", "x" * 300))


# ------------------------------------------------------------------------------ issue 22: GPU spec, caching


def _accelerators(spec) -> set[str]:
    return {
        ((e.get("container") or {}).get("resources") or {}).get("accelerator", {}).get("type")
        for e in spec["deploymentSpec"]["executors"].values()
    } - {None}


def test_the_gpu_spec_compiled_for_vertex_is_submitted_with_caching_off_and_the_cache_parameters(
    dagbag, object_stores, vertex, tmp_path, pipeline_config, good_csv, webhook, monkeypatch
):
    """One YAML document whose Trainer asks for a Vertex accelerator type (the stand-in refuses
    any other); caching off (Variable) reaches every task, the cache parameters are still sent.
    ``serving_version`` is read where the spec's tasks read it: the golden's push destination
    (gs://example-bucket/models), moved here to the S3 emulator (gs:// is the Vertex stand-in's)."""
    from tests.object_stores import bucket

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", vertex.url)  # aiplatform's bucket check
    models = bucket("s3://vertex-models/push")
    spec = tmp_path / GPU_SPEC_VERTEX.name
    text = GPU_SPEC_VERTEX.read_text()
    assert "gs://example-bucket/models" in text
    spec.write_text(text.replace("gs://example-bucket/models", models))
    push_version(models, "penguins", 1)
    push_version(models, "penguins", 2, blessed=False)
    config = config_with(tmp_path, pipeline_config, str(spec), vertex=RETRY)  # the config's own push: runs/models
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_VERTEX_ENABLE_CACHING", "false")
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config, "data_uri": str(good_csv), "runner": "vertex"})
    assert set(states.values()) == {"success"}, states
    (job,) = vertex.jobs.values()
    spec = job["pipelineSpec"]
    assert _accelerators(spec) and _accelerators(spec) <= ACCELERATOR_TYPES
    assert all(t["cachingOptions"] == {"enableCache": False} for t in spec["root"]["dag"]["tasks"].values())
    params = job["runtimeConfig"]["parameterValues"]
    assert params["serving_version"] == 1 and params["data_fingerprint"] == f"sha256:{sha256_file(good_csv)}"
    assert webhook == []


def test_the_gpu_spec_compiled_for_kfp_is_refused_before_anything_is_sent(dagbag, vertex, tmp_path, pipeline_config, good_csv, webhook):
    """Two YAML documents (the Kubernetes platform spec): aiplatform's yaml.safe_load would fail."""
    config = config_with(tmp_path, pipeline_config, str(GPU_SPEC_KFP), vertex=RETRY)
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config, "data_uri": str(good_csv), "runner": "vertex"})
    assert states["submit_pipeline"] == "failed"
    text = webhook[0]["json"]["text"]
    assert "holds 2 YAML documents" in text and "Compile it for Vertex" in text
    assert vertex.calls == []


def test_standin_refuses_an_accelerator_type_vertex_does_not_know():
    from vertex_standin import VertexError, check_job

    spec = load_spec(golden_spec_path())
    spec["deploymentSpec"]["executors"]["Trainer_executor"]["container"]["resources"] = {
        "accelerator": {"type": "nvidia.com/gpu", "count": "1"}
    }
    job = {"pipelineSpec": spec, "runtimeConfig": {"gcsOutputDirectory": "gs://b/r"}}
    with pytest.raises(VertexError, match="'nvidia.com/gpu' is not a Vertex AI AcceleratorType"):
        check_job("p", job)
