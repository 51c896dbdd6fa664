"""Real-world-shaped exports through the three commands, as a user runs them, with no hand edit:
`mlops init` -> `mlops schema` -> `mlops run`, then `mlops serve`.

The data is generated here (seeded), shaped like what people export: a few missing values
(1-5 %) in some feature columns of every kind (float, int, categorical) and none in others, an
odd header with spaces and units, a string ID, a row number that restarts per site (an
identifier a model must not learn), a skewed money column. Dropping every incomplete row would
lose more than `data.max_dropped_fraction` (10 %): before imputation existed the data gate
stopped such a file, and a schema that marked the gappy columns optional crashed the Trainer's
serving signature ("Shapes (None, 2) and (None,) are incompatible").

Both tasks must push, produce the explain, fairness and compress pages, and the server must
answer a request that leaves an optional feature out and one that sends null for it.
"""

import json
import math

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.cli import REPO, mlops
from tests.serving.helpers import serve_process

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

#: Feature columns with gaps, by kind, and their missing fractions (the rest are complete).
GAPPY = {"age": 0.05, "Blood Pressure (mmHg)": 0.04, "smoker": 0.03, "income": 0.02}


def export(n: int, task: str, seed: int = 7) -> pd.DataFrame:
    """A clinic-style export: sites, a per-site visit number, an ID, a few gaps in four columns."""
    rng = np.random.default_rng(seed)
    sites = rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2])
    order = np.argsort(sites, kind="stable")  # exported site by site, visits counted per site
    sites = sites[order]
    visit = np.concatenate([np.arange(1, (sites == s).sum() + 1) for s in dict.fromkeys(sites)])
    age = rng.integers(18, 90, n)
    bp = rng.normal(125, 15, n).round(1)
    bmi = rng.normal(27, 4, n).round(2)
    smoker = rng.choice(["yes", "no"], n, p=[0.3, 0.7])
    income = np.exp(rng.normal(10.5, 0.6, n)).round(0)  # skewed
    score = 0.04 * (age - 50) + 0.05 * (bp - 125) + 1.2 * (smoker == "yes") + 0.15 * (bmi - 27)
    df = pd.DataFrame({
        "Patient ID": [f"P-{100000 + i}" for i in rng.permutation(n)],
        "site": sites,
        "visit_no": visit,
        "age": age,
        "Blood Pressure (mmHg)": bp,
        "bmi": bmi,
        "smoker": smoker,
        "income": income,
    })
    if task == "classification":
        df["readmitted"] = np.where(score + rng.normal(0, 0.7, n) > 0.3, "yes", "no")
    else:
        df["cost"] = (2000 + 300 * score + 0.01 * income + rng.normal(0, 150, n)).round(2)
    for col, frac in GAPPY.items():
        rows = rng.choice(n, int(round(frac * n)), replace=False)
        df.loc[rows, col] = None
    return df


def _incomplete_fraction(df: pd.DataFrame) -> float:
    return float(df[list(GAPPY)].isna().any(axis=1).mean())


@pytest.mark.parametrize("task,label", [("classification", "readmitted"), ("regression", "cost")])
def test_an_export_with_a_few_gaps_trains_pushes_explains_and_serves(tmp_path, task, label):
    df = export(800, task)
    assert _incomplete_fraction(df) > 0.1  # dropping incomplete rows alone would stop at the gate
    data = tmp_path / "export.csv"
    df.to_csv(data, index=False)
    config = tmp_path / "clinic.yaml"

    proc = mlops("init", "--data", str(data), "--label", label, "--output", str(config),
                 "--push-destination", str(tmp_path / "models"), "--sensitive", "site", "--explain", "--compress")
    assert proc.returncode == 0, proc.stderr
    text = config.read_text()
    import yaml

    features = {f["name"]: f for f in yaml.safe_load(text)["features"]}
    imputed = {name for name, f in features.items() if f.get("missing") == "impute"}
    assert imputed == {"age", "blood_pressure_mmhg", "smoker", "income"}
    assert "imputed" in proc.stdout and "age" in proc.stdout.split("imputed")[1]
    assert "visit_no" not in features and "patient_id" not in features
    assert "row number within groups" in proc.stdout  # said why, as for other IDs

    proc = mlops("schema", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    assert "age (INT)" in proc.stdout and "optional" in proc.stdout.split("age (INT)")[1].splitlines()[0]

    proc = mlops("run", "--config", str(config), "--output-dir", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "run.json").read_text())
    assert summary["status"] == "succeeded" and summary["pushed"]["version"] == 1
    assert summary["data"]["rows_dropped"] == 0  # every gap is imputed, no row lost
    reports = tmp_path / "run" / "reports"
    for page in ("explain", "fairness", "compress"):
        assert list((reports / page).glob("*.html")), f"no {page} page in {sorted(p.name for p in reports.iterdir())}"

    contract = json.loads((tmp_path / "models" / "clinic" / "1" / "saved_model" / "assets.extra" /
                           "input_contract.json").read_text())["inputs"]
    assert {n for n, c in contract.items() if c["optional"]} == imputed

    complete = {"site": "north", "age": 61, "blood_pressure_mmhg": 140.5, "bmi": 29.0, "smoker": "yes",
                "income": 42000.0}
    without = {k: v for k, v in complete.items() if k not in ("age", "smoker")}
    nulls = {**complete, "age": None, "blood_pressure_mmhg": None, "smoker": None, "income": None}
    with serve_process("--config", str(config), "--log-level", "warning", "--poll-seconds", "1", cwd=REPO) as served:
        url = f"{served.url}/v1/models/clinic:predict"
        r = httpx.post(url, json={"instances": [complete, without, nulls]}, timeout=30)
        assert r.status_code == 200, r.text
        predictions = r.json()["predictions"]
        assert len(predictions) == 3
        if task == "classification":
            assert all(math.isclose(sum(p["probabilities"]), 1.0, rel_tol=1e-4) for p in predictions)
        else:
            assert all(math.isfinite(p["predicted_value"]) for p in predictions)
        # Columnar format, an optional feature left out entirely.
        r = httpx.post(url, json={"inputs": {k: [v, v] for k, v in without.items()}}, timeout=30)
        assert r.status_code == 200, r.text
        # A required feature is still required, by name.
        r = httpx.post(url, json={"instances": [{k: v for k, v in complete.items() if k != "bmi"}]}, timeout=30)
        assert r.status_code == 400 and "bmi" in r.text
        r = httpx.post(url, json={"instances": [{**complete, "bmi": None}]}, timeout=30)
        assert r.status_code == 400 and "bmi" in r.text
        spec = httpx.get(f"{served.url}/openapi.json", timeout=30).json()
        instance = next(s for s in spec["components"]["schemas"].values()
                        if isinstance(s, dict) and "bmi" in s.get("properties", {}) and "required" in s)
        assert "bmi" in instance["required"] and "age" not in instance["required"]
