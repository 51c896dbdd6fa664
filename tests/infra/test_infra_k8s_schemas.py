"""The Kubernetes manifests in infra/k8s/ validate against the Kubernetes schemas, offline.

Judged by kubernetes-validate (pinned in infra/scripts/test-infra.sh), which bundles the
JSON schemas of the Kubernetes API for each minor version; its strict schemas refuse unknown
fields. The version is the one the Terraform modules deploy (the AWS module's default
``cluster_version``). Nothing is downloaded.

- Core kinds (ServiceAccount, and any other built-in kind added later) are validated whole by
  ``kubernetes_validate.validate(..., strict=True)``.
- The custom resources have no schema in that package, and no PyPI package ships their CRD
  schemas (checked: kubernetes-validate, the KServe SDK's generated models, cloudcoil's
  prometheus-operator models are Python classes, not schemas), so none are vendored. Instead:
  ``metadata`` of every document is validated against the core ObjectMeta schema; the
  InferenceService predictor is split the way KServe's Go type embeds it (PredictorSpec =
  the model-framework fields + ComponentExtensionSpec + an inline core PodSpec): its PodSpec
  part (containers, volumes, probes, securityContext, ...) is validated against the core PodSpec
  schema, the extension fields against their Go types (kserve pkg/apis/serving/v1beta1).
  PodMonitor and PrometheusRule specs are validated against schemas transcribed below from
  the prometheus-operator v0.80 CRDs (field names, types, duration patterns; nested objects
  we do not use are only checked to be objects), with the PodMonitor's selector against the
  core LabelSelector schema. The PromQL inside the PrometheusRule is test_infra_promql.py's.
- The Kustomization is not an API object (kustomize reads it); its fields are checked
  against the kustomize.config.k8s.io/v1beta1 fields this repo uses.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import importlib_resources
import jsonschema
import kubernetes_validate  # installed by infra/scripts/test-infra.sh
import pytest
import yaml
from referencing import Registry, Resource

from tfparse import REPO_ROOT, named

K8S = REPO_ROOT / "infra" / "k8s"
K8S_VERSION = "1.34"

_SCHEMAS = importlib_resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{K8S_VERSION}.0-local-strict"
_DEFS = json.loads((_SCHEMAS / "_definitions.json").read_text())
# KServe's PodSpec is a copy of the core one with `containers` optional (a framework
# predictor has none); the same definitions under another id, PodSpec without `required`.
_KSERVE_DEFS = copy.deepcopy(_DEFS)
_KSERVE_DEFS["$id"] = "https://kubernetes.io/api/_definitions-kserve.json"
_KSERVE_DEFS["$defs"]["io.k8s.api.core.v1.PodSpec"].pop("required", None)
_REGISTRY = Registry().with_resources(
    [(d["$id"], Resource.from_contents(d)) for d in (_DEFS, _KSERVE_DEFS)]
)


def core(name: str, kserve: bool = False) -> dict[str, Any]:
    """A reference to one definition of the bundled core schemas (``io.k8s....``)."""
    return {"$ref": f"{(_KSERVE_DEFS if kserve else _DEFS)['$id']}#/$defs/{name}"}


def schema_errors(schema: dict[str, Any], instance: Any, where: str = "") -> list[str]:
    validator = jsonschema.Draft202012Validator(schema, registry=_REGISTRY)
    out = []
    for e in validator.iter_errors(instance):
        path = ".".join(str(p) for p in e.absolute_path)
        out.append(f"{(where + path) if path else (where.rstrip('.') or '(root)')}: {e.message}")
    return sorted(out)


STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
STRING = {"type": "string"}
OBJECT = {"type": "object"}
# monitoring.coreos.com Duration / NonEmptyDuration
DURATION = {"type": "string", "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
SCRAPE_PROTOCOLS = ["PrometheusProto", "OpenMetricsText0.0.1", "OpenMetricsText1.0.0", "PrometheusText0.0.4", "PrometheusText1.0.0"]


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


# prometheus-operator v0.80, PodMonitorSpec / PodMetricsEndpoint
POD_METRICS_ENDPOINT = _object(
    {
        "authorization": OBJECT,
        "basicAuth": OBJECT,
        "bearerTokenSecret": OBJECT,
        "enableHttp2": BOOLEAN,
        "filterRunning": BOOLEAN,
        "followRedirects": BOOLEAN,
        "honorLabels": BOOLEAN,
        "honorTimestamps": BOOLEAN,
        "interval": DURATION,
        "metricRelabelings": {"type": "array", "items": OBJECT},
        "oauth2": OBJECT,
        "params": {"type": "object", "additionalProperties": {"type": "array", "items": STRING}},
        "path": STRING,
        "port": STRING,
        "portNumber": {"type": "integer", "minimum": 1, "maximum": 65535},
        "proxyUrl": STRING,
        "relabelings": {"type": "array", "items": OBJECT},
        "scheme": {"enum": ["http", "https"]},
        "scrapeTimeout": DURATION,
        "targetPort": {"type": ["integer", "string"]},
        "tlsConfig": OBJECT,
        "trackTimestampsStaleness": BOOLEAN,
    }
)
POD_MONITOR_SPEC = _object(
    {
        "attachMetadata": OBJECT,
        "bodySizeLimit": {"type": "string", "pattern": r"(^0|([0-9]*[.])?[0-9]+((K|M|G|T|E|P)i?)?B)$"},
        "fallbackScrapeProtocol": {"enum": SCRAPE_PROTOCOLS},
        "jobLabel": STRING,
        "keepDroppedTargets": INTEGER,
        "labelLimit": INTEGER,
        "labelNameLengthLimit": INTEGER,
        "labelValueLengthLimit": INTEGER,
        "namespaceSelector": _object({"any": BOOLEAN, "matchNames": {"type": "array", "items": STRING}}),
        "nativeHistogramBucketLimit": INTEGER,
        "nativeHistogramMinBucketFactor": {"type": ["integer", "string"]},
        "podMetricsEndpoints": {"type": "array", "items": POD_METRICS_ENDPOINT},
        "podTargetLabels": {"type": "array", "items": STRING},
        "sampleLimit": INTEGER,
        "scrapeClass": {"type": "string", "minLength": 1},
        "scrapeClassicHistograms": BOOLEAN,
        "scrapeProtocols": {"type": "array", "items": {"enum": SCRAPE_PROTOCOLS}},
        "selector": core("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"),
        "selectorMechanism": {"enum": ["RelabelConfig", "RoleSelector"]},
        "targetLimit": INTEGER,
    },
    required=("selector",),
)
# prometheus-operator v0.80, PrometheusRuleSpec / RuleGroup / Rule
RULE = _object(
    {
        "alert": STRING,
        "annotations": STRING_MAP,
        "expr": {"type": ["integer", "string"]},
        "for": DURATION,
        "keep_firing_for": dict(DURATION, minLength=1),
        "labels": STRING_MAP,
        "record": STRING,
    },
    required=("expr",),
)
PROMETHEUS_RULE_SPEC = _object(
    {
        "groups": {
            "type": "array",
            "items": _object(
                {
                    "interval": DURATION,
                    "labels": STRING_MAP,
                    "limit": INTEGER,
                    "name": {"type": "string", "minLength": 1},
                    "partial_response_strategy": {"type": "string", "pattern": r"^((?i:abort|warn))?$"},
                    "query_offset": DURATION,
                    "rules": {"type": "array", "items": RULE},
                },
                required=("name",),
            ),
        }
    }
)
# kserve serving.kserve.io/v1beta1: PredictorSpec = frameworks + ComponentExtensionSpec + PodSpec
PREDICTOR_FRAMEWORKS = (
    "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface", "pmml", "lightgbm", "paddle", "model", "workerSpec",
)
COMPONENT_EXTENSION = _object(
    {
        "minReplicas": {"type": "integer", "minimum": 0},
        "maxReplicas": {"type": "integer", "minimum": 0},
        "scaleTarget": INTEGER,
        "scaleMetric": {"enum": ["cpu", "memory", "concurrency", "rps"]},
        "containerConcurrency": {"type": "integer", "minimum": 0},
        "timeout": INTEGER,
        "canaryTrafficPercent": INTEGER,
        "logger": _object({"url": STRING, "mode": {"enum": ["all", "request", "response"]}}),
        "batcher": _object({"maxBatchSize": INTEGER, "maxLatency": INTEGER, "timeout": INTEGER}),
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
        "deploymentStrategy": core("io.k8s.api.apps.v1.DeploymentStrategy"),
    }
)
INFERENCE_SERVICE_SPEC = _object({"predictor": OBJECT, "explainer": OBJECT, "transformer": OBJECT}, required=("predictor",))
# kustomize.config.k8s.io/v1beta1 Kustomization: the fields this repo uses, and common ones
KUSTOMIZATION = _object(
    {
        "apiVersion": {"const": "kustomize.config.k8s.io/v1beta1"},
        "kind": {"const": "Kustomization"},
        "namespace": STRING,
        "namePrefix": STRING,
        "nameSuffix": STRING,
        "resources": {"type": "array", "items": STRING},
        "components": {"type": "array", "items": STRING},
        "labels": {"type": "array", "items": OBJECT},
        "commonAnnotations": STRING_MAP,
        "images": {
            "type": "array",
            "items": _object({"name": STRING, "newName": STRING, "newTag": STRING, "digest": STRING}, required=("name",)),
        },
        "patches": {"type": "array", "items": OBJECT},
        "configMapGenerator": {"type": "array", "items": OBJECT},
        "secretGenerator": {"type": "array", "items": OBJECT},
    },
    required=("apiVersion", "kind"),
)
CUSTOM = {
    ("serving.kserve.io/v1beta1", "InferenceService"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
OBJECT_META = core("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")


def _custom_resource_errors(doc: dict[str, Any]) -> list[str]:
    errors = [f"{k}: unknown top-level field" for k in sorted(set(doc) - {"apiVersion", "kind", "metadata", "spec"})]
    errors += schema_errors(OBJECT_META, doc.get("metadata"), "metadata.")
    spec = doc.get("spec")
    kind = doc["kind"]
    if kind == "PodMonitor":
        return errors + schema_errors(POD_MONITOR_SPEC, spec, "spec.")
    if kind == "PrometheusRule":
        return errors + schema_errors(PROMETHEUS_RULE_SPEC, spec, "spec.")
    errors += schema_errors(INFERENCE_SERVICE_SPEC, spec, "spec.")
    predictor = (spec or {}).get("predictor")
    if not isinstance(predictor, dict):
        return errors
    extension = {k: v for k, v in predictor.items() if k in COMPONENT_EXTENSION["properties"]}
    pod = {k: v for k, v in predictor.items() if k not in COMPONENT_EXTENSION["properties"] and k not in PREDICTOR_FRAMEWORKS}
    frameworks = [k for k in predictor if k in PREDICTOR_FRAMEWORKS]
    errors += schema_errors(COMPONENT_EXTENSION, extension, "spec.predictor.")
    errors += schema_errors(core("io.k8s.api.core.v1.PodSpec", kserve=True), pod, "spec.predictor.")
    errors += [f"spec.predictor.{k}: must be an object" for k in frameworks if not isinstance(predictor[k], dict)]
    names = [c.get("name") for c in pod.get("containers", []) if isinstance(c, dict)]
    if not frameworks and not names:
        errors.append("spec.predictor: needs a model framework or containers (KServe: exactly one implementation)")
    if len(frameworks) > 1:
        errors.append(f"spec.predictor: exactly one model framework, got {frameworks}")
    if frameworks and "kserve-container" in names:
        errors.append("spec.predictor: kserve-container is only for a custom predictor (no model framework)")
    return errors


def manifest_errors(doc: Any) -> list[str]:
    """Every problem the schemas find in one manifest ([] when it is valid)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("apiVersion"), str) or not isinstance(doc.get("kind"), str):
        return [f"not a Kubernetes object (apiVersion and kind): {str(doc)[:80]}"]
    if doc["kind"] == "Kustomization":
        return schema_errors(KUSTOMIZATION, doc)
    if (doc["apiVersion"], doc["kind"]) in CUSTOM:
        return _custom_resource_errors(doc)
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(str(p) for p in exc.absolute_path) or '(root)'}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"no schema: {exc.message} (add its CRD structure to {Path(__file__).name})"]
    return []


def _docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


FILES = sorted(K8S.glob("*.yaml"))


def _doc(kind: str) -> dict[str, Any]:
    return copy.deepcopy(next(d for f in FILES for d in _docs(f) if d.get("kind") == kind))


# --------------------------------------------------------------------------------------
# The real files
# --------------------------------------------------------------------------------------


def test_schema_version_is_the_clusters():
    """The manifests are checked against the Kubernetes minor version the modules create."""
    aws = REPO_ROOT / "terraform" / "modules" / "aws_gpu_training"
    assert named(aws, "variable")["cluster_version"]["default"] == K8S_VERSION
    assert _SCHEMAS.is_dir() and (_SCHEMAS / "serviceaccount-v1.json").is_file()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_manifest_validates_against_the_kubernetes_schemas(path):
    docs = _docs(path)
    assert docs, f"{path.name} holds no document"
    for doc in docs:
        errors = manifest_errors(doc)
        assert not errors, f"{path.name} {doc.get('kind')}:\n" + "\n".join(errors)


def test_every_kind_is_judged_by_a_schema():
    kinds = {(d["apiVersion"], d["kind"]) for f in FILES for d in _docs(f)}
    assert CUSTOM <= kinds and ("v1", "ServiceAccount") in kinds
    for api_version, kind in kinds - CUSTOM - {("kustomize.config.k8s.io/v1beta1", "Kustomization")}:
        kubernetes_validate.validate(_doc(kind), K8S_VERSION, strict=True)  # a bundled schema exists


# --------------------------------------------------------------------------------------
# Broken input the old check (apiVersion, kind and a DNS name present) accepted
# --------------------------------------------------------------------------------------


def _container(doc):
    return doc["spec"]["predictor"]["containers"][0]


BREAKS = {
    "containerPort as a string": ("InferenceService", lambda d: _container(d)["ports"][0].update(containerPort="8080"), "containers.0.ports.0.containerPort"),
    "an arg as a number": ("InferenceService", lambda d: _container(d)["args"].append(8080), "is not of type 'string'"),
    "a misspelt probe field": ("InferenceService", lambda d: _container(d)["readinessProbe"]["httpGet"].update(paht="/readyz"), "'paht' was unexpected"),
    "memory limit as a list": ("InferenceService", lambda d: _container(d)["resources"]["limits"].update(memory=["4Gi"]), "resources.limits.memory"),
    "runAsNonRoot as a string": ("InferenceService", lambda d: _container(d)["securityContext"].update(runAsNonRoot="true"), "runAsNonRoot"),
    "a volume field at the wrong level": ("InferenceService", lambda d: d["spec"]["predictor"]["volumes"][0].update(sizeLimit="2Gi"), "'sizeLimit' was unexpected"),
    "minReplicas as a string": ("InferenceService", lambda d: d["spec"]["predictor"].update(minReplicas="2"), "spec.predictor.minReplicas"),
    "a label value as a number": ("InferenceService", lambda d: d["metadata"]["labels"].update(version=2), "metadata.labels.version"),
    "predictor missing": ("InferenceService", lambda d: d["spec"].update(predicter=d["spec"].pop("predictor")), "'predictor' is a required property"),
    "automount as a string": ("ServiceAccount", lambda d: d.update(automountServiceAccountToken="false"), "automountServiceAccountToken"),
    "an unknown ServiceAccount field": ("ServiceAccount", lambda d: d.update(secret=[{"name": "x"}]), "'secret' was unexpected"),
    "scrape interval in words": ("PodMonitor", lambda d: d["spec"]["podMetricsEndpoints"][0].update(interval="15 seconds"), "does not match"),
    "selector labels as a list": ("PodMonitor", lambda d: d["spec"]["selector"].update(matchLabels=["a=b"]), "spec.selector.matchLabels"),
    "endpoints as a map": ("PodMonitor", lambda d: d["spec"].update(podMetricsEndpoints={"port": "http1"}), "is not of type 'array'"),
    "a rule for in words": ("PrometheusRule", lambda d: d["spec"]["groups"][0]["rules"][0].update({"for": "10 minutes"}), "does not match"),
    "a misspelt rule field": ("PrometheusRule", lambda d: d["spec"]["groups"][0]["rules"][0].update(annotation={}), "'annotation' was unexpected"),
    "an unknown image field": ("Kustomization", lambda d: d["images"][0].update(tag="v1"), "'tag' was unexpected"),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_schemas_reject_broken_manifests(case):
    kind, change, message = BREAKS[case]
    doc = _doc(kind)
    assert not manifest_errors(doc)
    change(doc)
    errors = manifest_errors(doc)
    assert any(message in e for e in errors), errors


def test_an_unknown_kind_is_not_passed_silently():
    errors = manifest_errors({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    assert errors and "no schema" in errors[0]
