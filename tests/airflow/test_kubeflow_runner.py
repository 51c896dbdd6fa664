"""The kubeflow runner: the real ``kfp.Client`` (kfp 2.17.3, .venv-pipeline-clients) against a
local STAND-IN of the KFP 2.17 API server (kfp_standin.py), uploading the real compiled spec
(tests/golden/penguins_pipeline.yaml).

The stand-in is not Kubeflow: it serves the v2beta1 endpoints kfp.Client calls and checks what
the OSS backend checks (schema 2.1.0 at upload; unknown request fields at any depth, declared and
typed run parameters at run create; no resolver executors when it compiles the run; the
driver's refusal of ``constantValue`` and untyped component inputs as a failed run; the pipeline
root as the root DAG driver resolves it, so a run without one fails its first task on the
``minio://`` default), then plays the run's states. Nothing runs on a cluster here
(docs/airflow.md, "kubeflow"). Data and push destinations on ``gs://`` live in the GCS emulator
(tests/object_stores.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests

from kfp_standin import KfpStandIn
from support import attempt_lost_while_running, config_with, golden_spec_path, load_spec, mutated_spec, remote_request
from support import push_version, run_dag, run_killed_once_running, sha256_file, xcom

RUN_GET = r"^/apis/v2beta1/runs/[^/:]+$"
KFP_ROOT = "gs://mlops-root/kfp"


@pytest.fixture()
def kfp(monkeypatch, clients_python, no_external_network):
    server = KfpStandIn(token="s3cret").start()
    conn = {
        "conn_type": "http",
        "host": server.url,
        "password": "s3cret",
        "extra": {
            "poll_seconds": 0.05,
            "experiment": "mlops-airflow",
            "retry_initial_seconds": 0.05,
            "retry_max_seconds": 0.2,
            "retry_budget_seconds": 20,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_KFP_DEFAULT", json.dumps(conn))
    monkeypatch.delenv("MLOPS_PIPELINE_CLIENTS_PYTHON", raising=False)
    yield server
    server.stop()


@pytest.fixture()
def kfp_config(tmp_path: Path, pipeline_config: str) -> str:
    return config_with(
        tmp_path, pipeline_config, str(golden_spec_path()),
        kubeflow={"pipeline_root": KFP_ROOT}, push={"destination": str(tmp_path / "models")},
    )  # fmt: skip


def _uploads(kfp: KfpStandIn) -> list:
    return [c for c in kfp.calls if c[1].endswith(("/upload", "/upload_version"))]


def test_dag_uploads_the_compiled_spec_runs_it_on_the_validated_data_and_survives_a_503(
    dagbag, kfp, kfp_config, good_csv, webhook
):
    kfp.fail_next.append(("GET", RUN_GET, 503))  # one transient error while polling
    conf = {"config": kfp_config, "data_uri": str(good_csv), "runner": "kubeflow"}
    dr, states = run_dag(dagbag.dags["training_pipeline"], conf)
    assert set(states.values()) == {"success"}, states

    # The uploaded package is the real compiled spec, byte for byte as parsed.
    (version,) = [v for v in kfp.versions.values() if v["display_name"].startswith("penguins-")]
    assert version["_spec"] == load_spec(golden_spec_path())
    (run,) = kfp.runs.values()
    assert run["runtime_config"] == {
        "pipeline_root": KFP_ROOT,
        # the validated URI, and the cache parameters of a local file and an empty destination
        "parameters": {"data_uri": str(good_csv), "data_fingerprint": f"sha256:{sha256_file(good_csv)}", "serving_version": 0},
    }
    assert run["display_name"] == f"penguins {dr.run_id}"
    assert run["experiment_id"] in kfp.experiments
    assert [(m, status) for m, _, status in kfp.faults_served] == [("GET", 503)]
    assert run["state"] == "SUCCEEDED"
    report = xcom(dr, "report_outcome")
    assert report["status"] == "succeeded"
    assert report["links"]["KFP run"] == f"{kfp.url}/#/runs/details/{run['run_id']}"

    # A second DAG run with the same compiled spec reuses pipeline and version.
    uploads = _uploads(kfp)
    run_dag(dagbag.dags["training_pipeline"], conf)
    assert _uploads(kfp) == uploads and len(uploads) == 2
    assert len(kfp.runs) == 2 and len(kfp.experiments) == 1
    assert webhook == []


def test_failed_run_fails_the_task_with_the_runs_message_and_link(dagbag, kfp, kfp_config, good_csv, webhook):
    kfp.final_state = "FAILED"
    kfp.final_error = "Trainer: container penguins-trainer was OOMKilled"
    dr, states = run_dag(
        dagbag.dags["training_pipeline"], {"config": kfp_config, "data_uri": str(good_csv), "runner": "kubeflow"}
    )
    assert states["submit_pipeline"] == "failed" and states["report_outcome"] == "upstream_failed"
    (run_id,) = kfp.runs
    (alert,) = webhook
    text = alert["json"]["text"]
    assert "Pipeline run for penguins failed" in text
    assert "OOMKilled" in text
    assert f"{kfp.url}/#/runs/details/{run_id}" in text


def _resolver_executor(spec):  # a TFX Resolver node, as TFX compiles it without the 2.1 rework
    spec["deploymentSpec"]["executors"]["DataGate_executor"] = {
        "resolver": {"outputArtifactQueries": {"model": {"filter": 'schema_title="tfx.Model" AND state=LIVE'}}}
    }


def _constant_value(spec):  # the deprecated runtimeValue.constantValue (schema 2.0 style)
    for task in spec["root"]["dag"]["tasks"].values():
        for p in (task.get("inputs") or {}).get("parameters", {}).values():
            rv = p.get("runtimeValue")
            if rv and "constant" in rv and isinstance(rv["constant"], str):
                rv["constantValue"] = {"stringValue": rv.pop("constant")}
                return
    raise AssertionError("no string constant in the compiled spec")


def _untyped_component_input(spec):
    for comp in spec["components"].values():
        params = (comp.get("inputDefinitions") or {}).get("parameters") or {}
        for p in params.values():
            p["type"] = p.pop("parameterType")
            return
    raise AssertionError("no component input parameter")


@pytest.mark.parametrize(
    "change, expected, runs",
    [
        (lambda s: s.update(schemaVersion="2.0.0"), "KFP only supports schema version 2.1.0", 0),
        (_resolver_executor, "non-container and non-importer executor not implemented", 0),
        (_constant_value, "param runtime value spec of type *pipelinespec.ValueOrRuntimeParameter_ConstantValue", 1),
        (_untyped_component_input, "type mismatch: expect PARAMETER_TYPE_ENUM_UNSPECIFIED", 1),
    ],
    ids=["schema-2.0.0-refused-at-upload", "resolver-refused-at-run-create", "constantValue-fails-the-run", "untyped-input-fails-the-run"],
)
def test_specs_the_oss_backend_refuses_fail_the_task_with_its_message(
    dagbag, kfp, tmp_path, pipeline_config, good_csv, webhook, change, expected, runs
):
    config = config_with(tmp_path, pipeline_config, mutated_spec(tmp_path, change), kubeflow={"pipeline_root": KFP_ROOT})
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config, "data_uri": str(good_csv), "runner": "kubeflow"})
    assert states["submit_pipeline"] == "failed"
    assert len(kfp.runs) == runs
    assert expected in webhook[0]["json"]["text"]
    # A refused create (HTTP 400/500) is not retried.
    assert len([c for c in kfp.calls if c == ("POST", "/apis/v2beta1/runs")]) <= 1


AUTH = {"Authorization": "Bearer s3cret"}


def _upload_golden(kfp: KfpStandIn) -> dict:
    """Uploads the golden spec through the raw API; its version reference."""
    with open(golden_spec_path(), "rb") as fh:
        p = requests.post(f"{kfp.url}/apis/v2beta1/pipelines/upload", params={"name": "penguins"}, files={"uploadfile": fh}, headers=AUTH).json()
    (vid,) = [v["pipeline_version_id"] for v in kfp.versions.values()]
    return {"pipeline_id": p["pipeline_id"], "pipeline_version_id": vid}


def test_standin_refuses_undeclared_and_untyped_run_parameters_like_the_backend(kfp):
    """The stand-in itself (the runner never sends these: it picks declared parameters only)."""
    auth = AUTH
    ref = _upload_golden(kfp)
    vid = ref["pipeline_version_id"]

    def create(params):
        return requests.post(
            f"{kfp.url}/apis/v2beta1/runs",
            json={"display_name": "x", "pipeline_version_reference": ref, "runtime_config": {"parameters": params}},
            headers=auth,
        )

    r = create({"data_uri": "gs://b/p.csv", "config": "x.yaml"})
    assert r.status_code == 400 and "not required by pipeline: config" in r.json()["message"]
    r = create({"data_uri": 3})
    assert r.status_code == 400 and "requires type STRING" in r.json()["message"]
    kfp.versions[vid]["_spec"]["root"]["inputDefinitions"]["parameters"]["data_uri"].pop("parameterType")
    r = create({"data_uri": "gs://b/p.csv"})
    assert r.status_code == 400 and "has unspecified type" in r.json()["message"]
    assert create({"data_uri": "gs://b/p.csv"}).status_code == 400 and not kfp.runs


def test_a_task_retry_reattaches_to_its_run_instead_of_starting_another(airflow_db, kfp, kfp_config, good_csv):
    """Attempt 1's client dies (worker lost) while the run runs; attempt 2 re-attaches to it."""
    from mlops_airflow.runners import RunnerError, get_runner

    runner, request = get_runner("kubeflow"), remote_request(kfp_config, str(good_csv))
    error = attempt_lost_while_running(runner, request, kfp)
    assert isinstance(error, RunnerError) and "without an outcome" in str(error)
    (run_id,) = kfp.runs

    kfp.hold_running = False
    outcome = runner.run(request)
    assert outcome.status == "succeeded" and outcome.run_id == run_id
    assert list(kfp.runs) == [run_id] and kfp.terminated == []

    # A run that ended FAILED is not re-attached: the next attempt starts a new run.
    kfp.runs[run_id]["state"] = "FAILED"
    outcome = runner.run(request)
    assert outcome.status == "succeeded" and outcome.run_id != run_id and len(kfp.runs) == 2


def test_killing_the_task_cancels_the_remote_run(airflow_db, kfp, kfp_config, good_csv):
    """SIGTERM to the task process (what Airflow sends to kill a task) terminates the KFP run."""
    from mlops_airflow.runners import get_runner

    run_killed_once_running(get_runner("kubeflow"), remote_request(kfp_config, str(good_csv)), kfp)
    (run_id,) = kfp.runs
    assert kfp.terminated == [run_id]


def test_wrong_token_is_reported_with_the_http_status(dagbag, kfp, kfp_config, good_csv, webhook, monkeypatch):
    conn = json.loads(os.environ["AIRFLOW_CONN_KFP_DEFAULT"])
    conn["password"] = "wrong"
    conn["extra"]["namespace"] = "kubeflow-user"  # (without one kfp.Client first asks /healthz 5 times)
    monkeypatch.setenv("AIRFLOW_CONN_KFP_DEFAULT", json.dumps(conn))
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": kfp_config, "data_uri": str(good_csv), "runner": "kubeflow"})
    assert states["submit_pipeline"] == "failed"
    assert "HTTP 401: Unauthenticated: missing or wrong bearer token" in webhook[0]["json"]["text"]


def test_spec_without_a_data_uri_parameter_is_refused_before_any_call(dagbag, kfp, tmp_path, pipeline_config, good_csv, webhook):
    config = config_with(
        tmp_path, pipeline_config, mutated_spec(tmp_path, lambda s: s["root"].pop("inputDefinitions")),
        kubeflow={"pipeline_root": KFP_ROOT},
    )  # fmt: skip
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config, "data_uri": str(good_csv), "runner": "kubeflow"})
    assert states["submit_pipeline"] == "failed"
    assert "declares no runtime parameter 'data_uri'" in webhook[0]["json"]["text"]
    assert kfp.calls == []


def test_missing_connection_is_a_clear_error(dagbag, kfp_config, good_csv, webhook, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_KFP_DEFAULT", raising=False)
    dr, states = run_dag(
        dagbag.dags["training_pipeline"], {"config": kfp_config, "data_uri": str(good_csv), "runner": "kubeflow"}
    )
    assert states["submit_pipeline"] == "failed"
    assert "connection 'kfp_default'" in webhook[0]["json"]["text"]


@pytest.mark.parametrize("root", ["minio://mlpipeline/v2/artifacts", "s3://bucket/root"])
def test_object_store_root_tf_cannot_open_is_refused_before_any_call(
    dagbag, kfp, tmp_path, pipeline_config, good_csv, webhook, root
):
    """OSS KFP's default MinIO root (or S3) would fail in the first TFX task: refused at submit."""
    config = config_with(tmp_path, pipeline_config, str(golden_spec_path()), kubeflow={"pipeline_root": root})
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config, "data_uri": str(good_csv), "runner": "kubeflow"})
    assert states["submit_pipeline"] == "failed"
    text = webhook[0]["json"]["text"]
    assert root in text and "gs://" in text
    assert kfp.calls == []


# ------------------------------------------------------------------------------ what a run is sent (issue 22)


def _root_tasks(spec):
    return spec["root"]["dag"]["tasks"]


def test_every_run_is_sent_the_gs_root_the_caching_choice_and_cache_parameters_computed_at_submit(
    dagbag, kfp, tmp_path, pipeline_config, penguins_csv, object_stores, webhook, monkeypatch
):
    """Data and push destination on gs:// (GCS emulator). The run gets the configured gs:// root
    (resolved by the stand-in as root_dag.go does), the blob's generation + MD5 as
    ``data_fingerprint`` and the serving version by the image side's rule (newest complete,
    blessed version the fairness gate did not fail) as ``serving_version``. New data at the same
    URI and a new push change both; caching off reaches every task of the run's spec."""
    from components.common import storage
    from tests.object_stores import bucket

    data = "gs://mlops-data/penguins/penguins.csv"
    models = "gs://mlops-models/push"
    bucket(data), bucket(models)
    storage.write_bytes(data, penguins_csv.read_bytes())
    push_version(models, "penguins", 1)
    push_version(models, "penguins", 2)
    push_version(models, "penguins", 3, fairness={"passed": False})  # not serving
    push_version(models, "penguins", 4, blessed=False)  # not serving
    push_version(models, "penguins", 5, complete=False)  # a crashed push: invisible
    config = config_with(
        tmp_path, pipeline_config, str(golden_spec_path()), kubeflow={"pipeline_root": KFP_ROOT}, push={"destination": models}
    )
    conf = {"config": config, "data_uri": data, "runner": "kubeflow"}

    dr, states = run_dag(dagbag.dags["training_pipeline"], conf)
    assert set(states.values()) == {"success"}, states
    (run,) = kfp.runs.values()
    blob = storage._gcs().bucket("mlops-data").get_blob("penguins/penguins.csv")  # noqa: SLF001
    first = f"gs-generation:{blob.generation} md5:{blob.md5_hash}"
    assert blob.md5_hash and run["runtime_config"] == {
        "pipeline_root": KFP_ROOT,
        "parameters": {"data_uri": data, "data_fingerprint": first, "serving_version": 2},
    }
    assert run["_pipeline_root"] == KFP_ROOT  # what the backend's root DAG driver uses
    assert all(t["cachingOptions"]["enableCache"] is True for t in _root_tasks(kfp.run_spec(run["run_id"])).values())

    # New data at the same URI (one row fewer), a new serving version, and caching turned off.
    lines = penguins_csv.read_bytes().splitlines(keepends=True)
    storage.write_bytes(data, b"".join(lines[:-1]))
    push_version(models, "penguins", 6)
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_KUBEFLOW_ENABLE_CACHING", "false")
    dr, states = run_dag(dagbag.dags["training_pipeline"], conf)
    assert set(states.values()) == {"success"}, states
    (second,) = [r for r in kfp.runs.values() if r["run_id"] != run["run_id"]]
    params = second["runtime_config"]["parameters"]
    assert params["serving_version"] == 6
    assert params["data_fingerprint"].startswith("gs-generation:") and params["data_fingerprint"] != first
    # The run's version carries the choice (the v2beta1 run has no caching field).
    version = kfp.versions[second["pipeline_version_reference"]["pipeline_version_id"]]
    assert version["display_name"].endswith("-cache-off")
    assert all(t["cachingOptions"]["enableCache"] is False for t in _root_tasks(kfp.run_spec(second["run_id"])).values())
    assert webhook == []


def test_without_a_gs_pipeline_root_the_run_is_refused_before_anything_is_sent(
    dagbag, kfp, tmp_path, pipeline_config, good_csv, webhook
):
    """The shipped config's kubeflow.pipeline_root is the local runs/kfp-root (for compiling)."""
    config = config_with(tmp_path, pipeline_config, str(golden_spec_path()))
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config, "data_uri": str(good_csv), "runner": "kubeflow"})
    assert states["submit_pipeline"] == "failed"
    text = webhook[0]["json"]["text"]
    for words in (
        "nothing was submitted",
        "kubeflow.pipeline_root is 'runs/kfp-root', not a gs:// URI",
        "never reads the compiled spec's defaultPipelineRoot",
        "minio://mlpipeline/v2/artifacts",
        f"Set kubeflow.pipeline_root in {config}",
        "mlops_kubeflow_pipeline_root",
    ):
        assert words in text, (words, text)
    assert kfp.calls == [] and kfp.runs == {}


def test_a_spec_without_the_cache_parameters_is_refused_while_caching_is_on(
    dagbag, kfp, tmp_path, pipeline_config, good_csv, webhook
):
    def drop_cache_parameters(spec):
        for name in ("data_fingerprint", "serving_version"):
            spec["root"]["inputDefinitions"]["parameters"].pop(name)

    spec = mutated_spec(tmp_path, drop_cache_parameters)
    config = config_with(tmp_path, pipeline_config, spec, kubeflow={"pipeline_root": KFP_ROOT})
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config, "data_uri": str(good_csv), "runner": "kubeflow"})
    assert states["submit_pipeline"] == "failed"
    text = webhook[0]["json"]["text"]
    assert "declares no runtime parameter 'data_fingerprint' or 'serving_version'" in text
    assert "kubeflow.enable_caching: false" in text and kfp.calls == []


def test_standin_resolves_the_pipeline_root_as_the_root_dag_driver_and_refuses_unknown_fields(kfp):
    """The stand-in itself, through the raw v2beta1 API (kfp.Client always sends a root here)."""
    auth = AUTH
    ref = _upload_golden(kfp)
    vid = ref["pipeline_version_id"]

    def run(**runtime_config):
        body = {"display_name": "x", "pipeline_version_reference": ref, "runtime_config": runtime_config}
        r = requests.post(f"{kfp.url}/apis/v2beta1/runs", json=body, headers=auth)
        assert r.status_code == 200, r.text
        rid = r.json()["run_id"]
        for _ in range(20):  # each GET advances the run's state
            if requests.get(f"{kfp.url}/apis/v2beta1/runs/{rid}", headers=auth).json()["state"] in ("SUCCEEDED", "FAILED"):
                return kfp.runs[rid]
        raise AssertionError(f"run {rid} did not end: {kfp.runs[rid]['state']}")

    # No root in the run: the kfp-launcher default, whatever the spec's defaultPipelineRoot says.
    assert load_spec(golden_spec_path())["defaultPipelineRoot"] != "minio://mlpipeline/v2/artifacts"
    failed = run(parameters={"data_uri": "gs://b/p.csv"})
    assert failed["_pipeline_root"] == "minio://mlpipeline/v2/artifacts" and failed["state"] == "FAILED"
    message = failed["error"]["message"]
    assert message.startswith("DataIngest: tensorflow.python.framework.errors_impl.UnimplementedError: File system scheme 'minio' not implemented")
    assert f"minio://mlpipeline/v2/artifacts/penguins/{failed['run_id']}/DataIngest/" in message
    assert "not implemented" in run(pipeline_root="s3://b/root")["error"]["message"]
    assert "unrecognized pipeline root format" in run(pipeline_root="runs/kfp-root")["error"]["message"]
    assert run(pipeline_root="gs://b/root")["state"] == "SUCCEEDED"
    kfp.launcher_default_root = "gs://cluster-bucket/v2/artifacts"  # a cluster whose ConfigMap sets a gs:// root
    ok = run()
    assert ok["state"] == "SUCCEEDED" and ok["_pipeline_root"] == "gs://cluster-bucket/v2/artifacts"

    # protojson (DiscardUnknown: false): unknown fields are refused at any depth, JSON names accepted.
    runs_before = len(kfp.runs)
    for body, field in (
        ({"display_name": "x", "pipeline_version_reference": ref, "enable_caching": False}, "enable_caching"),
        ({"display_name": "x", "pipeline_version_reference": ref, "runtime_config": {"enable_caching": False}}, "enable_caching"),
        ({"display_name": "x", "pipeline_version_reference": {**ref, "version": "1"}}, "version"),
    ):
        r = requests.post(f"{kfp.url}/apis/v2beta1/runs", json=body, headers=auth)
        assert r.status_code == 400 and r.json()["code"] == 3, r.text
        assert r.json()["message"].startswith("proto: (line 1:") and r.json()["message"].endswith(f'unknown field "{field}"')
    assert len(kfp.runs) == runs_before
    camel = {"displayName": "x", "pipelineVersionReference": {"pipelineId": ref["pipeline_id"], "pipelineVersionId": vid},
             "runtimeConfig": {"pipelineRoot": "gs://b/root"}}  # fmt: skip
    assert requests.post(f"{kfp.url}/apis/v2beta1/runs", json=camel, headers=auth).status_code == 200


# ------------------------------------------------------------------------------ Azure: the pipeline volume (issue 28)

AZURE_ROOT = "minio://mlpipeline/pipeline-root"
AZURE_MOUNT = "/minio/mlpipeline"


def _volume_package(tmp_path, mount: str = AZURE_MOUNT) -> str:
    """The local golden spec with what ``mlops compile --target kfp`` adds for ``kubeflow.pipeline_volume``
    (pipelines/kubeflow/targets.py): ``MLOPS_PIPELINE_VOLUME`` in every container's env and a Kubernetes
    platform spec mounting the PVC in every container executor (kfp-kubernetes' ``pvcMount``). The airflow
    venv cannot compile (no TFX); tests/e2e/test_pipeline_volume.py checks the compiler writes exactly these."""
    import yaml

    spec = load_spec(golden_spec_path())
    executors = spec["deploymentSpec"]["executors"]
    for executor in executors.values():
        if "container" in executor:
            executor["container"]["env"] = [{"name": "MLOPS_PIPELINE_VOLUME", "value": mount}]
    platform = {"platforms": {"kubernetes": {"deploymentSpec": {"executors": {
        name: {"pvcMount": [{"constant": "mlops-artifacts", "mountPath": mount,
                             "pvcNameParameter": {"runtimeValue": {"constant": "mlops-artifacts"}}}]}
        for name, ex in executors.items() if "container" in ex}}}}}
    out = tmp_path / "penguins_kfp_volume.yaml"
    out.write_text(yaml.safe_dump_all([spec, platform], sort_keys=False))
    return str(out)


def test_a_root_on_the_pipeline_volume_is_sent_and_the_run_works_on_the_mount(
    dagbag, kfp, tmp_path, pipeline_config, good_csv, webhook, monkeypatch
):
    """Azure (docs/kubeflow.md): the root is the minio:// URI whose launcher path is the Blob CSI
    mount; with kubeflow.pipeline_volume the runner sends it, and the stand-in's first task reads and
    writes on the volume instead of failing on minio://. Caching off: the worker has no mount to
    fingerprint the data on (the runner says so when caching is on)."""
    monkeypatch.setenv("AIRFLOW_VAR_MLOPS_KUBEFLOW_ENABLE_CACHING", "false")
    volume = {"claim_name": "mlops-artifacts", "mount_path": AZURE_MOUNT}
    config = config_with(tmp_path, pipeline_config, _volume_package(tmp_path),
                         kubeflow={"pipeline_root": AZURE_ROOT, "pipeline_volume": volume})
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config, "data_uri": str(good_csv), "runner": "kubeflow"})
    assert set(states.values()) == {"success"}, (states, webhook)
    (run,) = kfp.runs.values()
    assert run["runtime_config"]["pipeline_root"] == AZURE_ROOT and run["_pipeline_root"] == AZURE_ROOT

    # The same root without the volume in the spec fails its first task, as TFX on minio:// would.
    plain = config_with(tmp_path, pipeline_config, str(golden_spec_path()),
                        kubeflow={"pipeline_root": AZURE_ROOT, "pipeline_volume": volume})
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": plain, "data_uri": str(good_csv), "runner": "kubeflow"})
    assert states["submit_pipeline"] == "failed"
    assert "File system scheme 'minio' not implemented" in webhook[-1]["json"]["text"]


def test_a_root_off_the_pipeline_volume_is_refused_before_anything_is_sent(
    dagbag, kfp, tmp_path, pipeline_config, good_csv, webhook
):
    volume = {"claim_name": "mlops-artifacts", "mount_path": AZURE_MOUNT}
    config = config_with(tmp_path, pipeline_config, _volume_package(tmp_path),
                         kubeflow={"pipeline_root": "minio://other-bucket/root", "pipeline_volume": volume})
    dr, states = run_dag(dagbag.dags["training_pipeline"], {"config": config, "data_uri": str(good_csv), "runner": "kubeflow"})
    assert states["submit_pipeline"] == "failed"
    text = " ".join(webhook[0]["json"]["text"].split())
    for words in ("nothing was submitted", "'minio://other-bucket/root'", f"not on the pipeline volume mounted at {AZURE_MOUNT}",
                  "minio://mlpipeline/pipeline-root"):
        assert words in text, (words, text)
    assert kfp.calls == []
