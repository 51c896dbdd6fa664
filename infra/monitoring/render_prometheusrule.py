"""Writes infra/k8s/prometheusrule.yaml from infra/monitoring/alerts.yaml (same groups).

    python infra/monitoring/render_prometheusrule.py
"""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "infra" / "monitoring" / "alerts.yaml"
TARGET = ROOT / "infra" / "k8s" / "prometheusrule.yaml"
HEADER = (
    "# Prometheus Operator form of infra/monitoring/alerts.yaml (same groups; a test keeps them equal).\n"
    "# Generated: edit alerts.yaml, then run `python infra/monitoring/render_prometheusrule.py`.\n"
)


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, data):
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _str)


def render() -> str:
    groups = yaml.safe_load(SOURCE.read_text())["groups"]
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "mlops-serving", "labels": {"app.kubernetes.io/part-of": "mlops-pipelines"}},
        "spec": {"groups": groups},
    }
    return HEADER + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120)


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET}")
