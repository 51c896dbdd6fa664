"""The managed-Airflow bundle (MWAA / Cloud Composer) is tested as shipped.

docs/airflow.md ("Managed Airflow") lists what goes into the DAGs folder, as a layout block. This
test reads that block from the page (so the page and the test cannot drift), copies exactly those
files into an empty folder, and in a fresh process of .venv-airflow with only that folder on
``sys.path`` (no repository root, no ``PYTHONPATH``):

* loads every DAG (``BundleDagBag``: no import errors; ``.airflowignore`` keeps the processor
  out of the shipped modules);
* imports what every task imports when it runs (the ``import`` statements in each task's
  callable: the DAG files import their helpers inside the tasks);
* runs ``training_pipeline`` with ``runner=kubeflow`` (the KFP stand-in; data and push
  destination on the GCS emulator) and ``runner=vertex`` (the Vertex AI stand-in; data on the
  S3 emulator): validation, cache parameters, the real clients' venv, the outcome;
* checks that no module of ``tensorflow``, ``tfx`` or ``tensorflow_metadata`` was imported, and
  that every project module came from the bundle.

The stand-ins and emulators run in this (pytest) process; the bundle's process reaches them
over 127.0.0.1, as a worker reaches the real services.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import DAGS_DIR, REPO_ROOT
from kfp_standin import KfpStandIn
from support import golden_spec_path, push_version
from vertex_standin import VertexStandIn

DOC = REPO_ROOT / "docs" / "airflow.md"
FORBIDDEN = ("tensorflow", "tfx", "tensorflow_metadata")


def documented_layout(doc: Path = DOC) -> list[str]:
    """The DAGs folder's entries, from the code block after "Layout of the DAGs folder"."""
    text = doc.read_text()
    section = text[text.index("## Managed Airflow") :]
    block = re.search(r"Layout of the DAGs folder.*?```\n(.*?)```", section, re.S)
    assert block, f"{doc}: no layout block in 'Managed Airflow'"
    entries: list[str] = []
    for line in block.group(1).splitlines():
        for token in line.split("#", 1)[0].split():
            m = re.fullmatch(r"(.*?)\{(.*)\}", token)
            entries += [m.group(1) + part for part in m.group(2).split(",")] if m else [token]
    return entries


def build_bundle(entries: list[str], target: Path) -> None:
    """Copies each entry from dags/ when it is there, else from the repository root."""
    ignore = shutil.ignore_patterns("__pycache__", "test_*.py")
    for entry in entries:
        name = entry.rstrip("/")
        source = DAGS_DIR / name if (DAGS_DIR / name).exists() else REPO_ROOT / name
        assert source.exists(), f"docs/airflow.md lists {entry}, which is neither in dags/ nor in the repository"
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if entry.endswith("/"):
            assert source.is_dir(), f"{entry} is listed as a folder"
            shutil.copytree(source, dest, ignore=ignore)
        else:
            assert source.is_file(), f"{entry} is listed as a file"
            shutil.copy2(source, dest)


# Runs in the bundle's own process: argv[1] = the DAGs folder, argv[2] = the scenario (JSON).
IN_BUNDLE = textwrap.dedent(
    r'''
    import ast, importlib, inspect, json, os, sys, textwrap
    from pathlib import Path

    dags_dir, scenario = Path(sys.argv[1]), json.loads(sys.argv[2])
    assert not any(p and Path(p).resolve() == Path(scenario["repo"]) for p in sys.path), sys.path

    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(dags_dir), bundle_path=dags_dir)  # puts the DAGs folder on sys.path

    def task_imports(task):
        fn = getattr(task, "python_callable", None)
        if fn is None:
            return []
        tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(fn))))
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                found += [(node.module, a.name) for a in node.names]
        return found

    imported = {}
    for dag_id, dag in sorted(bag.dags.items()):
        for task in dag.tasks:
            for module, name in task_imports(task):
                mod = importlib.import_module(module)
                if name and not hasattr(mod, name):
                    importlib.import_module(f"{module}.{name}")
                imported.setdefault(f"{dag_id}.{task.task_id}", []).append(module + (f".{name}" if name else ""))

    from components.common import storage
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    runs = {}
    for run in scenario["runs"]:
        os.environ.update(run["env"])
        storage.reset_clients()
        dag = bag.dags["training_pipeline"]
        conf = {**dict(dag.params.dump()), **run["conf"]}
        dr = dag.test(run_conf=conf)
        with create_session() as session:
            row = session.scalars(XComModel.get_many(
                run_id=dr.run_id, dag_ids=dr.dag_id, task_ids="report_outcome", key="return_value")).first()
        runs[run["conf"]["runner"]] = {
            "states": {ti.task_id: str(ti.state) for ti in dr.get_task_instances()},
            "outcome": None if row is None else XComModel.deserialize_value(row),
        }

    project = ("mlops_airflow", "components", "pipelines")
    print("RESULT " + json.dumps({
        "dags": sorted(bag.dags),
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "parsed_files": sorted(s.file for s in bag.dagbag_stats),
        "task_imports": imported,
        "runs": runs,
        "forbidden": sorted(m for m in sys.modules if m.split(".")[0] in scenario["forbidden"]),
        "outside": sorted(
            f"{name}: {getattr(m, '__file__', None)}" for name, m in list(sys.modules.items())
            if name.split(".")[0] in project and getattr(m, "__file__", None)
            and not Path(m.__file__).resolve().is_relative_to(dags_dir.resolve())
        ),
    }))
    '''
)


@pytest.fixture()
def stand_ins(clients_python, object_stores):
    kfp, vertex = KfpStandIn().start(), VertexStandIn(project="proj-1", location="europe-west4").start()
    yield kfp, vertex
    kfp.stop()
    vertex.stop()


def test_the_documented_bundle_runs_every_dag_task_and_imports_no_tensorflow(tmp_path, stand_ins, object_stores, penguins_csv):
    from components.common import storage
    from tests.object_stores import bucket

    kfp, vertex = stand_ins
    entries = documented_layout()
    assert {"pipelines/config.py", "pipelines/exit_codes.py", "pipelines/push_layout.py", "mlops_airflow/"} <= set(entries)
    bundle = tmp_path / "mwaa" / "dags"
    build_bundle(entries, bundle)

    # What the operator adds beside the code: the compiled spec and a config pointing at it.
    shutil.copy(golden_spec_path(), bundle / "penguins_pipeline.yaml")
    cfg = yaml.safe_load((bundle / "pipelines" / "configs" / "penguins.yaml").read_text())
    cfg["validation"]["expectation_suite"] = str(bundle / cfg["validation"]["expectation_suite"])
    cfg["kubeflow"].update(package_path=str(bundle / "penguins_pipeline.yaml"), pipeline_root="gs://bundle-root/kfp")
    cfg["push"]["destination"] = bucket("gs://bundle-models/push")
    config = bundle / "pipelines" / "configs" / "penguins-managed.yaml"
    config.write_text(yaml.safe_dump(cfg))
    push_version(cfg["push"]["destination"], "penguins", 1)
    gs_data, s3_data = bucket("gs://bundle-data/penguins.csv"), bucket("s3://bundle-data/penguins.csv")
    for uri in (gs_data, s3_data):
        storage.write_bytes(uri, penguins_csv.read_bytes())

    home = tmp_path / "airflow-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_")) and k != "PYTHONPATH"}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(bundle),
        "MLOPS_PIPELINE_CONFIG": str(config),
        "MLOPS_PIPELINE_CLIENTS_PYTHON": str(REPO_ROOT / ".venv-pipeline-clients" / "bin" / "python"),
        "AIRFLOW_CONN_KFP_DEFAULT": json.dumps({"conn_type": "http", "host": kfp.url, "extra": {
            "poll_seconds": 0.05, "retry_initial_seconds": 0.05, "retry_max_seconds": 0.2}}),
        "AIRFLOW_VAR_MLOPS_VERTEX_PROJECT": "proj-1", "AIRFLOW_VAR_MLOPS_VERTEX_LOCATION": "europe-west4",
        "AIRFLOW_VAR_MLOPS_VERTEX_PIPELINE_ROOT": "gs://bundle-root/vertex", "AIRFLOW_VAR_MLOPS_VERTEX_API_ENDPOINT": vertex.url,
        "AIRFLOW_VAR_MLOPS_VERTEX_ANONYMOUS_CREDENTIALS": "true", "AIRFLOW_VAR_MLOPS_VERTEX_POLL_SECONDS": "0.05",
        # Nothing may leave the machine (aiplatform's defaults): a dead proxy for HTTPS.
        "https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": "127.0.0.1,localhost",
        "NO_PROXY": "127.0.0.1,localhost",
    })  # fmt: skip
    migrate = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]

    scenario = {
        "repo": str(REPO_ROOT.resolve()),
        "forbidden": list(FORBIDDEN),
        "runs": [
            # The task process reads gs:// data from the GCS emulator.
            {"conf": {"config": str(config), "data_uri": gs_data, "runner": "kubeflow"},
             "env": {"STORAGE_EMULATOR_HOST": object_stores["STORAGE_EMULATOR_HOST"]}},
            # aiplatform checks the pipeline root's bucket at STORAGE_EMULATOR_HOST: the Vertex stand-in.
            {"conf": {"config": str(config), "data_uri": s3_data, "runner": "vertex"},
             "env": {"STORAGE_EMULATOR_HOST": vertex.url}},
        ],
    }  # fmt: skip
    res = subprocess.run(
        [sys.executable, "-c", IN_BUNDLE, str(bundle), json.dumps(scenario)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    assert res.returncode == 0 and lines, res.stdout[-4000:] + res.stderr[-4000:]
    result = json.loads(lines[-1][len("RESULT ") :])

    assert result["import_errors"] == {}, result["import_errors"]
    assert set(result["dags"]) == {"training_pipeline", "model_monitoring", "feature_engineering", "model_quality_events"}
    assert not any(f.startswith(("mlops_airflow", "components", "pipelines", "spark_jobs")) for f in result["parsed_files"])
    assert any("pipelines.exit_codes" in m or "mlops_airflow.runners" in m for ms in result["task_imports"].values() for m in ms)
    for runner, run in result["runs"].items():
        assert set(run["states"].values()) == {"success"}, (runner, run["states"], res.stderr[-4000:])
        assert run["outcome"]["status"] == "succeeded", (runner, run["outcome"])
    assert result["forbidden"] == [], result["forbidden"]
    assert result["outside"] == [], result["outside"]

    # The runs reached the stand-ins with what the cluster needs (issue 22).
    (kfp_run,) = kfp.runs.values()
    assert kfp_run["_pipeline_root"] == "gs://bundle-root/kfp"
    assert kfp_run["runtime_config"]["parameters"]["serving_version"] == 1
    assert kfp_run["runtime_config"]["parameters"]["data_fingerprint"].startswith("gs-generation:")
    (job,) = vertex.jobs.values()
    assert job["runtimeConfig"]["parameterValues"]["data_fingerprint"].startswith("s3-etag:")
