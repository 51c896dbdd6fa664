"""Structure of the Kubernetes manifests and Prometheus rules, cross-checked against the code.

No cluster and no promtool here, so the checks are: every YAML parses; the InferenceService's
container args are accepted by our own ``mlops serve`` parser and agree with its port and
probes; every metric an alert uses is one the server exports (with the labels the alert groups
by); the PrometheusRule wraps exactly the rule file's groups.
"""

import re
from pathlib import Path

import pytest
import yaml

from serving.metrics import ServingMetrics

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "infra" / "k8s"
MONITORING = REPO / "infra" / "monitoring"
DURATION = re.compile(r"^\d+[smhd]$")


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _by_kind() -> dict[str, dict]:
    out = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in _docs(path):
            out[doc["kind"]] = doc
    return out


def test_every_manifest_parses_and_has_the_basics():
    files = sorted(K8S.glob("*.yaml")) + sorted(MONITORING.glob("*.yaml"))
    assert len(files) >= 5
    for path in files:
        for doc in _docs(path):
            assert isinstance(doc, dict), path
            if path.parent == K8S:
                assert doc.get("apiVersion") and doc.get("kind"), path
                if doc["kind"] != "Kustomization":
                    assert re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", doc["metadata"]["name"]), path


def test_kustomization_lists_existing_files():
    kust = _docs(K8S / "kustomization.yaml")[0]
    for res in kust["resources"]:
        assert (K8S / res).is_file(), res
    assert {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"} == set(kust["resources"])


def test_inference_service_runs_our_server_with_matching_port_and_probes():
    from pipelines.cli import build_parser

    isvc = _by_kind()["InferenceService"]
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    pred = isvc["spec"]["predictor"]
    (container,) = pred["containers"]
    args = container["args"]
    assert args[:2] == ["mlops", "serve"]
    parsed = build_parser().parse_args(args[1:])  # our own CLI accepts exactly these options
    assert parsed.models.startswith(("s3://", "gs://")) and parsed.model == isvc["metadata"]["name"]
    assert parsed.log_dir and parsed.host == "0.0.0.0"
    ports = [p["containerPort"] for p in container["ports"]]
    assert ports == [parsed.port]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": parsed.port}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": parsed.port}
    assert pred["terminationGracePeriodSeconds"] > 30  # uvicorn's graceful shutdown + log flush
    ann = isvc["metadata"]["annotations"]
    assert ann["prometheus.kserve.io/port"] == str(parsed.port) and ann["prometheus.kserve.io/path"] == "/metrics"
    assert pred["serviceAccountName"] == _by_kind()["ServiceAccount"]["metadata"]["name"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/tmp" in mounts and {"name": "HOME", "value": "/tmp"} in container["env"]


def test_pod_monitor_selects_the_predictor():
    kinds = _by_kind()
    pm = kinds["PodMonitor"]
    assert pm["spec"]["selector"]["matchLabels"]["serving.kserve.io/inferenceservice"] == kinds["InferenceService"]["metadata"]["name"]
    port_names = [p["name"] for p in kinds["InferenceService"]["spec"]["predictor"]["containers"][0]["ports"]]
    assert pm["spec"]["podMetricsEndpoints"][0]["port"] in port_names
    assert pm["spec"]["podMetricsEndpoints"][0]["path"] == "/metrics"


def _exported() -> dict[str, set[str]]:
    """Sample names the server exports -> their label names."""
    m = ServingMetrics("penguins")
    m.latency.labels("penguins", "predict").observe(0.01)
    m.requests.labels("penguins", "predict", "200").inc()
    m.errors.labels("penguins", "wrong_type").inc()
    m.drift_score.labels("penguins", "x", "psi").set(0.1)
    m.drift_threshold.labels("penguins").set(0.2)
    m.predictions.labels("penguins", "Adelie").inc()
    m.kafka_records.labels("penguins", "spilled").inc()  # series the app creates with --kafka
    m.kafka_queue.labels("penguins").set(0)
    out: dict[str, set[str]] = {}
    for family in m.registry.collect():
        for s in family.samples:
            out.setdefault(s.name, set()).update(s.labels)
    return out


def _rules() -> list[dict]:
    groups = _docs(MONITORING / "alerts.yaml")[0]["groups"]
    return [r for g in groups for r in g["rules"]]


def test_alert_rules_structure():
    rules = _rules()
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names))
    for r in rules:
        assert set(r) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, r["alert"]
        assert r["labels"]["severity"] in ("warning", "critical")
        assert r["annotations"]["summary"] and r["annotations"]["description"]
        if "for" in r:
            assert DURATION.match(r["for"]), r["alert"]
        expr = r["expr"]
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}") and expr.count("[") == expr.count("]")
    covered = " ".join(r["expr"] for r in rules)
    for needed in ("histogram_quantile(0.99", "code=~\"5..\"", "mlops_serving_drift_score"):
        assert needed in covered  # p99 latency, error rate and drift score are all alerted on


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r["alert"])
def test_alert_metrics_and_labels_exist(rule):
    exported = _exported()
    expr = rule["expr"]
    metrics = set(re.findall(r"\b(mlops_[a-z_]+)\b", expr))
    assert metrics, rule["alert"]
    labels_available = set()
    for name in metrics:
        assert name in exported, f"{rule['alert']}: {name} is not exported by serving/metrics.py"
        labels_available |= exported[name]
    for selector in re.findall(r"\{([^}]*)\}", re.sub(r"\{\{.*?\}\}", "", expr)):
        for label in re.findall(r"([a-z_]+)\s*(?:=~|!=|!~|=)", selector):
            assert label in labels_available, f"{rule['alert']}: no label {label!r}"
    for clause in re.findall(r"\b(?:by|on)\s*\(([^)]*)\)", expr):
        for label in (x.strip() for x in clause.split(",")):
            assert label in labels_available | {"le"}, f"{rule['alert']}: grouping by unknown label {label!r}"
    for label in re.findall(r"\$labels\.([a-z_]+)", str(rule["annotations"])):
        assert label in labels_available, f"{rule['alert']}: annotation uses unknown label {label!r}"


def test_prometheus_rule_wraps_the_rule_file():
    import importlib.util

    pr = _by_kind()["PrometheusRule"]
    assert pr["spec"]["groups"] == _docs(MONITORING / "alerts.yaml")[0]["groups"]
    spec = importlib.util.spec_from_file_location("render", MONITORING / "render_prometheusrule.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.render() == (K8S / "prometheusrule.yaml").read_text(), "regenerate: python infra/monitoring/render_prometheusrule.py"
