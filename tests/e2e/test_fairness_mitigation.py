"""fairness.mitigation: reweighing on a dataset with a built-in group disparity (generated here).

The label's base rate differs by group (75 % "yes" in group a, 25 % in group b) and the model
sees the group, so without mitigation it predicts "yes" far more often for group a: the
demographic parity gate (0.2) fails, and its message names the option. With reweighing
(Kamiran & Calders) the Trainer weights the (group, label) cells to independence and the
model leans on the measurement instead: the gap shrinks, on the same eval rows, and the fairness
report shows before and after.
"""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.cli import mlops

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def disparate(n: int = 1600, seed: int = 3) -> pd.DataFrame:
    """Group a: 75 % yes; group b: 25 % yes; ``score`` is the label plus unit noise; ``noise`` is noise."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], n)
    yes = rng.random(n) < np.where(group == "a", 0.75, 0.25)
    return pd.DataFrame({
        "group": group,
        "score": (yes * 1.0 + rng.normal(0, 1, n)).round(4),
        "noise": rng.normal(0, 1, n).round(4),
        "outcome": np.where(yes, "yes", "no"),
    })


def _config(tmp_path, data, mitigation: str):
    config = tmp_path / f"disparate_{mitigation}.yaml"
    proc = mlops("init", "--data", str(data), "--label", "outcome", "--output", str(config),
                 "--push-destination", str(tmp_path / f"models_{mitigation}"), "--sensitive", "group")
    assert proc.returncode == 0, proc.stderr
    raw = yaml.safe_load(config.read_text())
    raw["name"] = f"disparate_{mitigation}"
    raw["fairness"].update(max_accuracy_gap=None, max_demographic_parity_difference=0.2, min_group_size=10,
                           mitigation=mitigation)
    raw["evaluation"] = {"thresholds": [{"metric": "accuracy", "lower_bound": 0.5}]}
    raw["drift_check"] = {"enabled": False}
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    proc = mlops("schema", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    return config


def test_reweighing_shrinks_the_demographic_parity_gap_the_gate_failed_on(tmp_path):
    data = tmp_path / "disparate.csv"
    disparate().to_csv(data, index=False)

    plain = _config(tmp_path, data, "none")
    proc = mlops("run", "--config", str(plain), "--output-dir", str(tmp_path / "plain"))
    assert proc.returncode == 4, proc.stdout[-3000:] + proc.stderr[-3000:]  # not blessed: the fairness gate
    summary = json.loads((tmp_path / "plain" / "run.json").read_text())
    assert summary["status"] == "not_blessed" and "fairness: group: demographic parity difference" in summary["reason"]
    assert "fairness.mitigation: reweighing" in summary["reason"]  # the gate names the way out
    before = json.loads((tmp_path / "plain" / "reports" / "fairness" / "result.json").read_text())
    dpd_before = before["columns"][0]["demographic_parity_difference"]["value"]
    assert dpd_before > 0.3 and before["mitigation"] is None

    mitigated = _config(tmp_path, data, "reweighing")
    proc = mlops("run", "--config", str(mitigated), "--output-dir", str(tmp_path / "mitigated"))
    assert proc.returncode in (0, 4), proc.stdout[-3000:] + proc.stderr[-3000:]
    after = json.loads((tmp_path / "mitigated" / "reports" / "fairness" / "result.json").read_text())
    result = after["mitigation"]
    assert result["method"] == "reweighing"
    # Same data, split and seed: the "before" model is trained as the unmitigated run's (up to CPU
    # thread-order noise), judged on the same eval rows.
    assert result["before"]["gaps"]["group"]["demographic_parity_difference"] == pytest.approx(dpd_before, abs=0.03)
    dpd_after = after["columns"][0]["demographic_parity_difference"]["value"]
    assert result["after"]["gaps"]["group"]["demographic_parity_difference"] == pytest.approx(dpd_after)
    print(f"demographic parity difference {dpd_before:.3f} -> {dpd_after:.3f}; accuracy "
          f"{result['before']['overall_accuracy']:.3f} -> {result['after']['overall_accuracy']:.3f}")
    assert dpd_after < 0.6 * dpd_before and dpd_after < dpd_before - 0.15
    assert result["after"]["overall_accuracy"] > 0.55  # still a model, not a constant
    page = (tmp_path / "mitigated" / "reports" / "fairness" / "index.html").read_text()
    assert 'id="mitigation-table"' in page and f"{dpd_before:.3f}" in page and f"{dpd_after:.3f}" in page
