"""The alert rules are PromQL a Prometheus would load: parsed by a real parser, checked like its rule loader.

Every ``expr`` of infra/monitoring/alerts.yaml and of the rendered PrometheusRule in
infra/k8s/prometheusrule.yaml is parsed by promql-parser (the Rust PromQL parser of
GreptimeDB, compatible with Prometheus 2.45; pinned in infra/scripts/test-infra.sh). It knows
the function names and their argument types, label-matcher syntax, durations and vector
matching, so it rejects what bracket counting let through. The rule files themselves get the
checks of Prometheus's rule loader (model/rulefmt): only known fields, non-empty unique group
names, exactly one of ``alert``/``record``, a parsable ``expr``, valid durations, label and
annotation names. Not checked here: the Go templates in labels and annotations (no Go
template parser in Python), and that the metrics exist (tests/serving/test_manifests.py
cross-checks them with serving/metrics.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import promql_parser  # installed by infra/scripts/test-infra.sh
import pytest
import yaml

from tfparse import REPO_ROOT

RULE_FILE = REPO_ROOT / "infra" / "monitoring" / "alerts.yaml"
PROMETHEUS_RULE = REPO_ROOT / "infra" / "k8s" / "prometheusrule.yaml"

# prometheus/common model.Duration (the `for`/`interval` syntax of rule files); the same
# pattern is in the PrometheusRule CRD.
DURATION = re.compile(r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")  # the legacy (strictest) name scheme
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
GROUP_FIELDS = {"name", "interval", "query_offset", "limit", "rules", "labels"}
RULE_FIELDS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}


def _groups(path: Path) -> list[dict[str, Any]]:
    doc = yaml.safe_load(path.read_text())
    return doc["spec"]["groups"] if doc.get("kind") == "PrometheusRule" else doc["groups"]


SOURCES = {"alerts.yaml": RULE_FILE, "prometheusrule.yaml": PROMETHEUS_RULE}
RULES = [(src, r) for src, path in SOURCES.items() for g in _groups(path) for r in g["rules"]]


def value_type(node) -> str:
    """The PromQL type of a parsed expression: vector, scalar, matrix or string."""
    kind = type(node).__name__
    if kind in ("ParenExpr", "UnaryExpr"):
        return value_type(node.expr)
    if kind == "BinaryExpr":
        return "scalar" if value_type(node.lhs) == value_type(node.rhs) == "scalar" else "vector"
    if kind == "Call":
        return str(node.func.return_type).rsplit(".", 1)[-1].lower()
    return {
        "NumberLiteral": "scalar",
        "StringLiteral": "string",
        "VectorSelector": "vector",
        "AggregateExpr": "vector",
        "MatrixSelector": "matrix",
        "SubqueryExpr": "matrix",
    }[kind]


def expr_errors(expr: Any) -> list[str]:
    """What Prometheus would refuse in a rule's expression ([] when it is fine)."""
    if not isinstance(expr, str) or not expr.strip():
        return [f"expr must be a non-empty string, got {expr!r}"]
    try:
        tree = promql_parser.parse(expr)
    except ValueError as exc:
        return [f"could not parse expression: {exc}"]
    kind = value_type(tree)
    if kind not in ("vector", "scalar"):  # the rule manager: "rule result is not a vector or scalar"
        return [f"expression evaluates to a {kind}, not a vector or scalar"]
    return []


def _duration_errors(where: str, value: Any) -> list[str]:
    if not isinstance(value, str) or not value or not DURATION.match(value):
        return [f"{where}: not a valid duration: {value!r}"]
    promql_parser.parse_duration(value)  # and the parser agrees
    return []


def _label_errors(where: str, labels: Any, annotations: bool = False) -> list[str]:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [f"{where}: must be a map, got {type(labels).__name__}"]
    errors = []
    for k, v in labels.items():
        if not isinstance(k, str) or not LABEL_NAME.match(k) or (k == "__name__" and not annotations):
            errors.append(f"{where}: invalid {'annotation' if annotations else 'label'} name {k!r}")
        if not isinstance(v, str):
            errors.append(f"{where}: value of {k!r} must be a string, got {v!r}")
    return errors


def rule_file_errors(groups: Any) -> list[str]:
    """The checks of Prometheus's rule loader (rulefmt.Parse with known fields only) plus the parser."""
    if not isinstance(groups, list):
        return [f"groups must be a list, got {type(groups).__name__}"]
    errors, seen = [], set()
    for j, group in enumerate(groups):
        if not isinstance(group, dict):
            errors.append(f"group {j}: must be a map")
            continue
        name = group.get("name")
        where = f"group {name!r}"
        errors += [f"{where}: unknown field {k!r}" for k in sorted(set(group) - GROUP_FIELDS)]
        if not name:
            errors.append(f"group {j}: name must not be empty")
        if name in seen:
            errors.append(f"{where}: repeated in the same file")
        seen.add(name)
        for key in ("interval", "query_offset"):
            if key in group:
                errors += _duration_errors(f"{where} {key}", group[key])
        if "limit" in group and (not isinstance(group["limit"], int) or isinstance(group["limit"], bool)):
            errors.append(f"{where}: limit must be an integer")
        errors += _label_errors(f"{where} labels", group.get("labels"))
        rules = group.get("rules")
        if not isinstance(rules, list):
            errors.append(f"{where}: rules must be a list")
            continue
        for i, rule in enumerate(rules, 1):
            if not isinstance(rule, dict):
                errors.append(f"{where} rule {i}: must be a map")
                continue
            rwhere = f"{where} rule {i} {rule.get('alert') or rule.get('record')!r}"
            errors += [f"{rwhere}: unknown field {k!r}" for k in sorted(set(rule) - RULE_FIELDS)]
            alert, record = rule.get("alert"), rule.get("record")
            if alert and record:
                errors.append(f"{rwhere}: only one of 'record' and 'alert' must be set")
            if not alert and not record:
                errors.append(f"{rwhere}: one of 'record' or 'alert' must be set")
            errors += [f"{rwhere}: {e}" for e in expr_errors(rule.get("expr"))]
            for key in ("for", "keep_firing_for"):
                if key in rule:
                    errors += _duration_errors(f"{rwhere} {key}", rule[key])
                    if record:
                        errors.append(f"{rwhere}: invalid field {key!r} in recording rule")
            if record:
                if rule.get("annotations"):
                    errors.append(f"{rwhere}: invalid field 'annotations' in recording rule")
                if not METRIC_NAME.match(str(record)):
                    errors.append(f"{rwhere}: invalid recording rule name {record!r}")
            errors += _label_errors(f"{rwhere} labels", rule.get("labels"))
            errors += _label_errors(f"{rwhere} annotations", rule.get("annotations"), annotations=True)
    return errors


# --------------------------------------------------------------------------------------
# The real files
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [r for _, r in RULES], ids=[f"{src}:{r.get('alert') or r.get('record')}" for src, r in RULES])
def test_every_alert_expression_parses_as_promql(rule):
    assert not expr_errors(rule["expr"]), expr_errors(rule["expr"])
    names = set()
    promql_parser.walk(promql_parser.parse(rule["expr"]), lambda n: names.add(n.name) if type(n).__name__ == "VectorSelector" else None)
    assert names and all(n and n.startswith("mlops_serving_") for n in names), f"selectors without our metric names: {names}"


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_rule_files_pass_the_rule_loader_checks(source):
    groups = _groups(SOURCES[source])
    assert sum(len(g["rules"]) for g in groups) >= 5
    errors = rule_file_errors(groups)
    assert not errors, f"{source}:\n" + "\n".join(errors)


def test_both_files_hold_the_same_rules():
    assert _groups(RULE_FILE) == _groups(PROMETHEUS_RULE)


# --------------------------------------------------------------------------------------
# Broken input: what bracket counting (the old check) accepted, the parser rejects
# --------------------------------------------------------------------------------------


def _brackets_balance(expr: str) -> bool:
    """The old check, from tests/serving/test_manifests.py."""
    return expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}") and expr.count("[") == expr.count("]")


def _real(alert: str) -> str:
    return next(r["expr"] for _, r in RULES if r.get("alert") == alert)


# (alert whose real expression is broken, text replaced, replacement, what the parser says)
BROKEN = [
    ("MlopsServingLatencyP99High", "histogram_quantile(", "histogram_quantil(", "unknown function"),
    ("MlopsServingErrorRateHigh", 'endpoint="predict", code', 'endpoint=="predict", code', "label matching"),
    ("MlopsServingErrorRateHigh", 'code=~"5.."', "code=~5..", "inside braces"),
    ("MlopsServingClientErrorRateHigh", "[5m]", "[5 minutes]", "inside brackets"),
    ("MlopsServingClientErrorRateHigh", "[5m]", "", "expected type matrix"),
    ("MlopsServingPredictionLogDropping", "rate(", "rate(2, ", "expected 1 argument(s) in call to 'rate'"),
    ("MlopsServingLatencyP99High", "(0.99,", '("0.99",', "expected type scalar"),
    ("MlopsServingDriftDetected", "group_left", "group_left group_right", "invalid promql query"),
    ("MlopsServingDriftDetected", "on (model)", "on (model) by (model)", "invalid promql query"),
    ("MlopsServingNotReady", "== 0", "== and 0", "invalid promql query"),
]


@pytest.mark.parametrize("alert,old,new,message", BROKEN, ids=[f"{a}:{o}->{n}" for a, o, n, _ in BROKEN])
def test_parser_rejects_broken_expressions_that_bracket_counting_accepted(alert, old, new, message):
    real = _real(alert)
    assert old in real, f"{alert}: {old!r} is no longer in its expression; update the case"
    broken = real.replace(old, new, 1)
    assert _brackets_balance(broken), "not a case the old check accepted"
    assert not expr_errors(real)
    errors = expr_errors(broken)
    assert errors, f"the parser accepted {broken!r}"
    assert message in errors[0], errors


def test_an_expression_of_the_wrong_type_is_refused():
    assert expr_errors('"mlops_serving_model_ready"') == ["expression evaluates to a string, not a vector or scalar"]
    assert expr_errors("mlops_serving_model_ready[5m]") == ["expression evaluates to a matrix, not a vector or scalar"]
    assert expr_errors("1 > bool 0") == []  # scalars are fine (the rule manager turns them into a vector)


def _mutated(change) -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULE_FILE.read_text())["groups"]
    change(groups)
    return groups


RULE_FILE_BREAKS = {
    "unknown rule field": (lambda g: g[0]["rules"][0].update(expresion=g[0]["rules"][0].pop("expr")), "unknown field 'expresion'"),
    "for in words": (lambda g: g[0]["rules"][0].update({"for": "10 minutes"}), "not a valid duration"),
    "for without unit": (lambda g: g[0]["rules"][0].update({"for": "10"}), "not a valid duration"),
    "label name with a hyphen": (lambda g: g[0]["rules"][0]["labels"].update({"team-name": "ml"}), "invalid label name 'team-name'"),
    "label value not a string": (lambda g: g[0]["rules"][0]["labels"].update(priority=1), "must be a string"),
    "alert and record": (lambda g: g[0]["rules"][0].update(record="mlops:latency:p99"), "only one of"),
    "neither alert nor record": (lambda g: g[0]["rules"][0].pop("alert"), "one of 'record' or 'alert'"),
    "repeated group": (lambda g: g.append(dict(g[0])), "repeated in the same file"),
    "empty expr": (lambda g: g[0]["rules"][0].update(expr=""), "non-empty string"),
    "unknown group field": (lambda g: g[0].update(evaluation_interval="1m"), "unknown field 'evaluation_interval'"),
}


@pytest.mark.parametrize("case", sorted(RULE_FILE_BREAKS))
def test_rule_loader_checks_reject_broken_rule_files(case):
    change, message = RULE_FILE_BREAKS[case]
    errors = rule_file_errors(_mutated(change))
    assert any(message in e for e in errors), errors
