"""Every HTML report page is rendered from the one base template and stylesheet
(components/common/html), stays a single self-contained file, and escapes what users named.

Each page is built the way its report module builds it, from small real inputs (real fairness
and drift computations); a user-controlled string (feature, column, group, slice, class, model
and pipeline names, error text) carries a ``<script>`` tag that must come out escaped.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from components.common import html as report_html
from components.compress import logic as compress
from components.drift import logic as drift
from components.eval_report import logic as eval_report
from components.explain import logic as explain
from components.fairness import logic as fairness
from components.fairness import regression
from pipelines.tracking import index

EVIL = '<script>alert("x")</script>'
EVIL_ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"


def evaluation_page(name: str = "penguins") -> str:
    summary = eval_report.EvalSummary(
        blessed=False,
        overall={"sparse_categorical_accuracy": 0.8, "loss": 0.4},
        slices={f"island={name}": {"sparse_categorical_accuracy": 0.7}, "island=Dream": {"loss": 0.3}},
        diffs={"sparse_categorical_accuracy": -0.05},
        failures=[f"accuracy on island={name} failed its threshold"],
        confusion=[(0, 0, 10.0), (0, 1, 2.0), (1, 1, 8.0)],
        baseline=eval_report.baseline_description(name, 1),
    )
    return eval_report.render_html(summary, name, ["Adelie", name])


def explain_page(name: str = "signal") -> str:
    expl = explain.Explanation(
        feature_names=[name, "noise"],
        class_names=["a", "b"],
        global_importance={name: 0.3, "noise": 0.01},
        per_class_importance={"a": {name: 0.25, "noise": 0.01}, "b": {name: 0.35, "noise": 0.01}},
        base_values={"a": 0.5, "b": 0.5},
        examples=[{"features": {name: name, "noise": 1.5}, "predicted_class": "a", "probability": 0.9,
                   "attributions": {name: 0.4, "noise": -0.01}}],
        background_size=10,
    )
    return explain.render_html(expl, name, png=b"\x89PNG fake bytes")


def _population(column: str, group: str) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({column: rng.choice([group, "b"], 200), "label": rng.integers(0, 2, 200)})
    return frame


def fairness_page(name: str = "group") -> str:
    df = _population(name, name)
    pred = np.where(df[name] == "b", 0, df["label"])
    report = fairness.evaluate(df["label"].astype(str), pd.Series(pred).astype(str), df[[name]],
                               fairness.Thresholds(max_accuracy_gap=0.1))
    return fairness.render_html(report, name)


def fairness_regression_page(name: str = "region") -> str:
    df = _population(name, name)
    pred = df["label"] + np.where(df[name] == "b", 3.0, 0.0)
    report = regression.evaluate(df["label"], pred, df[[name]], regression.RegressionThresholds(max_mae_gap=1.0))
    return regression.render_html(report, name)


def compression_page(name: str = "float32") -> str:
    report = compress.CompressionReport(
        accuracy_budget=0.02, n_eval=10, n_train=20,
        saved_model={"size_bytes": 1000, "accuracy": 0.9, "latency_ms": 1.0, "note": "ref"},
        variants=[compress.VariantResult(name, "v.tflite", 100, 80, 0.9, 0.0, 1.0, 0.0, 0.01, True, True, notes=name),
                  compress.VariantResult("full_integer", error=f"RuntimeError: {name}")],
        best=name, reason=f"{name}: smallest",
    )
    return compress.render_html(report)


def drift_page(name: str = "flipper_length_mm") -> str:
    rng = np.random.default_rng(0)
    base = pd.DataFrame({name: rng.normal(0, 1, 300), "island": rng.choice(["a", name], 300)})
    cur = pd.DataFrame({name: rng.normal(2, 1, 300), "island": rng.choice(["a", name], 300, p=[0.05, 0.95])})
    report = drift.compute_drift(base, cur, {name: "float", "island": "categorical"}, drift.DriftSettings(window_size=0),
                                 current_uri=f"gs://bucket/{name}.csv")
    return report.to_html(model_name=name)


def index_page(name: str = "penguins") -> str:
    summary = {
        "run_id": "r1", "status": "not_blessed", "reason": f"accuracy of {name} too low", "seconds": 12.3,
        "metrics": {name: 0.5}, "reports": {name: "/runs/x/reports/evaluation/index.html"},
        "gate": {"failures": [{"column": name, "check": "not_null", "examples": [name]}]},
    }
    return index.render(summary, name, "/runs/x/reports")


PAGES = {
    "evaluation": evaluation_page,
    "explain": explain_page,
    "fairness": fairness_page,
    "fairness_regression": fairness_regression_page,
    "compression": compression_page,
    "drift": drift_page,
    "drift not checked": lambda name="no serving model yet": drift.render_not_checked_html(f"reason: {name}"),
    "run index": index_page,
}


@pytest.mark.parametrize("kind", PAGES)
def test_every_page_uses_the_shared_base_and_inlines_the_one_stylesheet(kind):
    page = PAGES[kind]()
    assert page.startswith("<!doctype html>")
    assert f'<meta name="generator" content="{report_html.GENERATOR}">' in page
    css = (report_html.TEMPLATE_DIR / "style.css").read_text().strip()
    assert page.count("<style>") == 1 and css in page  # inlined whole, not linked
    assert '<header class="page-header">' in page and "<footer>" in page
    # self-contained: nothing fetched from elsewhere (images are data: URIs, no external CSS/JS)
    assert not re.search(r"""<link\b|<script\b|src=["'](?!data:)""", page), kind


@pytest.mark.parametrize("kind", PAGES)
def test_user_strings_are_escaped(kind):
    page = PAGES[kind](EVIL)
    assert EVIL not in page and "<script" not in page
    assert EVIL_ESCAPED in page


def test_verdicts_and_images_come_through():
    assert 'class="verdict bad" id="verdict">NOT BLESSED<' in evaluation_page()
    assert evaluation_page().count("data:image/png;base64,") == 1
    assert 'class="verdict bad" id="verdict">Drift detected in 2 feature(s)<' in drift_page()
    assert drift_page().count("data:image/png;base64,") == 2
    assert 'class="verdict ok" id="verdict">chosen: float32<' in compression_page()
    assert 'class="verdict bad" id="verdict">FAILED: model not blessed<' in fairness_page()
    assert 'class="verdict bad" id="verdict">FAILED: model not blessed<' in fairness_regression_page()


def test_compression_page_names_the_error_budget_for_a_regression_model():
    report = compress.CompressionReport(
        accuracy_budget=0.02, n_eval=10, n_train=20, metric="mae", max_error_increase=0.05,
        saved_model={"size_bytes": 1000, "accuracy": 41.5, "latency_ms": 1.0, "note": "ref"},
        variants=[compress.VariantResult("float16", "v.tflite", 100, 80, 42.0, 0.5, 1.0, 0.3, 0.01, True, True,
                                         mae=42.0, mae_increase=0.012)],
        best="float16", reason="float16: smallest within the error budget",
    )
    page = compress.render_html(report)
    assert "<th>MAE</th>" in page and "at most 5 % more error" in page
    assert "<th>accuracy</th>" not in page and "Accuracy on" not in page
    classification = compression_page()
    assert "<th>accuracy</th>" in classification and "<th>MAE</th>" not in classification
