"""``POST /v1/models/<name>:explain`` against a running server: the SHAP values equal the
pipeline's explain logic on the same rows and background; LIME on request; bounds give a 4xx
naming the limit; the OpenAPI document lists the verb."""

from __future__ import annotations

import json
import shutil

import httpx
import pytest

from tests.serving.helpers import instances_from_df, wait_ready

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def explain_server(pushed_model):
    from serving.app import create_app
    from serving.model import PushDestinationSource
    from serving.server import BackgroundServer

    app = create_app(PushDestinationSource(str(pushed_model["destination"]), "penguins"), poll_seconds=0.5,
                     explain_max_instances=3, explain_timeout_seconds=60)
    with BackgroundServer(app) as srv:
        wait_ready(srv.url, 1)
        yield srv.url


def test_shap_attributions_equal_the_pipelines_on_the_same_rows_and_background(explain_server, pushed_model, penguins_df):
    import pandas as pd

    from components.common import model_io
    from components.explain import logic

    instances = instances_from_df(penguins_df.iloc[40:], 2)
    r = httpx.post(f"{explain_server}/v1/models/penguins:explain", json={"instances": instances}, timeout=120)
    assert r.status_code == 200, r.text
    assert r.headers["X-Model-Version"] == "1"
    answers = r.json()["explanations"]
    assert len(answers) == 2 and all(a["method"] == logic.METHOD for a in answers)

    background = json.loads((pushed_model["destination"] / "penguins" / "1" / "explanation" / "background.json").read_text())
    shap_bg, _ = logic.read_background(background)
    served = model_io.ServingModel(str(pushed_model["saved_model"]))
    sample = pd.DataFrame(instances)[background["feature_names"]]
    expected = logic.explain(served.predict_proba, shap_bg, sample, background["feature_names"], served.class_names,
                             seed=background["seed"])
    for got, want in zip(answers, expected.examples):
        assert got["prediction"]["predicted_class"] == want["predicted_class"]
        assert got["prediction"]["probability"] == pytest.approx(want["probability"], abs=1e-5)
        assert set(got["attributions"]) == set(want["attributions"])
        for feature, value in want["attributions"].items():
            assert got["attributions"][feature] == pytest.approx(value, abs=1e-4), feature
        # additivity: the attributions explain the step from the background's mean to this prediction
        assert sum(got["attributions"].values()) == pytest.approx(got["prediction"]["probability"] - got["base_value"], abs=1e-4)


def test_lime_on_request_by_query_or_body(explain_server, penguins_df):
    instances = instances_from_df(penguins_df, 1)
    by_query = httpx.post(f"{explain_server}/v1/models/penguins:explain?method=lime", json={"instances": instances}, timeout=120)
    by_body = httpx.post(f"{explain_server}/v1/models/penguins/versions/1:explain",
                         json={"instances": instances, "method": "lime"}, timeout=120)
    for r in (by_query, by_body):
        assert r.status_code == 200, r.text
        (answer,) = r.json()["explanations"]
        assert answer["method"].startswith("lime.") and len(answer["attributions"]) == 6
    assert by_query.json() == by_body.json()  # the same seed: the same neighbourhood


def test_bounds_and_mistakes_are_4xx_naming_the_limit(explain_server, penguins_df, pushed_model):
    url = f"{explain_server}/v1/models/penguins:explain"
    r = httpx.post(url, json={"instances": instances_from_df(penguins_df, 4)}, timeout=60)
    assert r.status_code == 413 and "--explain-max-instances" in r.json()["error"] and "at most 3" in r.json()["error"]
    r = httpx.post(url, json={"instances": instances_from_df(penguins_df, 1), "method": "anchors"}, timeout=60)
    assert r.status_code == 400 and "anchors" in r.json()["error"]
    incomplete = {k: v for k, v in instances_from_df(penguins_df, 1)[0].items() if k != "sex"}
    r = httpx.post(url, json={"instances": [incomplete]}, timeout=60)
    assert r.status_code == 400 and "sex" in r.json()["error"]
    r = httpx.post(f"{explain_server}/v1/models/penguins/versions/7:explain", json={"instances": []}, timeout=60)
    assert r.status_code == 404
    # :predict is unaffected by the explain cap
    r = httpx.post(f"{explain_server}/v1/models/penguins:predict", json={"instances": instances_from_df(penguins_df, 4)}, timeout=60)
    assert r.status_code == 200


def test_time_budget_and_missing_background(pushed_model, penguins_df, tmp_path):
    from serving.app import create_app
    from serving.model import PushDestinationSource
    from serving.server import BackgroundServer

    app = create_app(PushDestinationSource(str(pushed_model["destination"]), "penguins"), poll_seconds=0.5,
                     explain_max_instances=10, explain_timeout_seconds=0.01)
    with BackgroundServer(app) as srv:
        wait_ready(srv.url, 1)
        r = httpx.post(f"{srv.url}/v1/models/penguins:explain", json={"instances": instances_from_df(penguins_df, 10)},
                       timeout=60)
        assert r.status_code == 408 and "--explain-timeout-seconds" in r.json()["error"]

    bare = tmp_path / "models"
    shutil.copytree(pushed_model["destination"] / "penguins" / "1", bare / "penguins" / "1")
    shutil.rmtree(bare / "penguins" / "1" / "explanation")
    app = create_app(PushDestinationSource(str(bare), "penguins"), poll_seconds=0.5)
    with BackgroundServer(app) as srv:
        wait_ready(srv.url, 1)
        r = httpx.post(f"{srv.url}/v1/models/penguins:explain", json={"instances": instances_from_df(penguins_df, 1)},
                       timeout=60)
        assert r.status_code == 404 and "explain.enabled" in r.json()["error"]


def test_openapi_publishes_explain(explain_server):
    doc = httpx.get(f"{explain_server}/openapi.json", timeout=30).json()
    op = doc["paths"]["/v1/models/{model_name}:explain"]["post"]
    assert {"200", "400", "404", "408", "413", "429", "503"} <= set(op["responses"])
    assert doc["components"]["schemas"]["ExplainRequest"]["properties"]["instances"]["maxItems"] == 3
    assert "/v1/models/{model_name}/versions/{version}:explain" in doc["paths"]
