"""On a KFP cluster a rerun re-executes what depends on changed data or a new push, and nothing else.

The backend's cache key is the rule of ``backend/src/v2/cacheutils/cache.go`` (input parameter
values, input artifact names, output specs, command + args, image; ``tests.kfp_backend`` says
which Go file each part comes from). ``kfp_backend.Cluster`` submits the compiled spec as the
2.17 driver runs it: tasks in DAG order, a hit hands the cached execution's artifacts
downstream, a miss executes and records new ones. The runners send ``data_fingerprint`` and
``serving_version`` with every run (dags/mlops_airflow/runners/cache.py); this is what each
value buys, on every golden spec.
"""

from __future__ import annotations

import copy

import pytest

from pipelines.kubeflow.conformance import load_spec
from tests import golden
from tests import kfp_backend as kfp

pytestmark = pytest.mark.e2e

DATA = "gs://example-bucket/data/penguins.csv"
RUN_1 = {"data_uri": DATA, "data_fingerprint": "gs-generation:1 md5:aaa", "serving_version": 0}
# What follows each value: the baseline and the drift check read the push destination; the
# Evaluator takes the baseline, the report and the fairness gate the Evaluator's outputs, the
# pusher the (fairness-gated) blessing and the report.
AFTER_A_PUSH = {"ServingModelBaseline", "DriftCheck", "Evaluator", "EvaluationReport", "FairnessGate", "VersionedPusher"}


def _spec(name: str) -> dict:
    return load_spec((golden.GOLDEN_DIR / name).read_text())


def _misses(hits: dict[str, bool]) -> set[str]:
    return {task for task, hit in hits.items() if not hit}


@pytest.mark.parametrize("name", sorted(golden.CASES))
def test_rerun_hits_exactly_what_did_not_change(name):
    spec = _spec(name)
    cluster = kfp.Cluster(spec)
    tasks = set(kfp.container_tasks(spec))
    assert _misses(cluster.submit(RUN_1)) == tasks  # an empty cache: everything executes

    # Same data, nothing pushed since: a full hit.
    assert _misses(cluster.submit(RUN_1)) == set()

    # The file at the same URI changed: ingest and everything that reads its output re-run;
    # the curated schema (ImportSchemaGen) does not depend on the data and stays cached.
    new_data = {**RUN_1, "data_fingerprint": "gs-generation:2 md5:bbb"}
    missed = _misses(cluster.submit(new_data))
    assert missed == kfp.downstream(spec, "DataIngest")
    assert {"DataIngest", "StatisticsGen", "Transform", "Trainer", "Evaluator", "VersionedPusher"} <= missed
    assert "ImportSchemaGen" not in missed

    # That run pushed version 1: the next run on the same data re-resolves the baseline and
    # re-checks drift, and what follows them; Transform and the Trainer stay cached.
    new_push = {**new_data, "serving_version": 1}
    missed = _misses(cluster.submit(new_push))
    assert missed == kfp.downstream(spec, "ServingModelBaseline") | kfp.downstream(spec, "DriftCheck")
    assert missed == AFTER_A_PUSH & tasks
    assert not missed & {"DataIngest", "StatisticsGen", "Transform", "Trainer", "ModelExplanation", "ModelCompression"}

    # And again with nothing new: a full hit.
    assert _misses(cluster.submit(new_push)) == set()


def test_a_new_data_uri_reruns_ingest_and_what_follows():
    spec = _spec("penguins_gpu_vertex.yaml")
    cluster = kfp.Cluster(spec)
    cluster.submit(RUN_1)
    missed = _misses(cluster.submit({**RUN_1, "data_uri": "gs://example-bucket/data/penguins-2.csv"}))
    assert missed == kfp.downstream(spec, "DataIngest")


def test_without_the_parameters_a_changed_file_or_a_new_push_is_served_from_the_cache():
    """The spec as compiled before (both values compile-time constants): the stale full hit of issue 22."""
    spec = copy.deepcopy(_spec("penguins_pipeline.yaml"))
    tasks = spec["root"]["dag"]["tasks"]
    tasks["DataIngest"]["inputs"]["parameters"]["data_fingerprint"] = {"runtimeValue": {"constant": ""}}
    for task in ("ServingModelBaseline", "DriftCheck"):
        tasks[task]["inputs"]["parameters"]["serving_version"] = {"runtimeValue": {"constant": 0.0}}
    cluster = kfp.Cluster(spec)
    cluster.submit(RUN_1)
    changed = {**RUN_1, "data_fingerprint": "gs-generation:2 md5:bbb", "serving_version": 1}
    assert _misses(cluster.submit(changed)) == set()


def test_a_run_without_the_parameters_gets_the_defaults_and_hits_a_run_that_sent_the_defaults():
    """A hand submission that sends neither gets the declared defaults ('' and 0): it shares the
    cache with every other such run, whatever the data; hence docs/kubeflow.md's rule (send both,
    or submit with caching off)."""
    spec = _spec("penguins_gpu_kfp.yaml")
    defaults = spec["root"]["inputDefinitions"]["parameters"]
    assert defaults["data_fingerprint"]["defaultValue"] == "" and defaults["serving_version"]["defaultValue"] == 0
    assert defaults["serving_version"]["parameterType"] == "NUMBER_INTEGER"
    cluster = kfp.Cluster(spec)
    cluster.submit({"data_uri": DATA, "data_fingerprint": "", "serving_version": 0})
    assert _misses(cluster.submit({"data_uri": DATA})) == set()
