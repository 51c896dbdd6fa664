"""The generic module on a dataset other than penguins: scikit-learn's wine data (bundled with
scikit-learn, nothing downloaded), as Parquet, with integer features, an integer-coded label
mapped to names, an inferred schema and no curated GE suite: trained, evaluated and pushed."""

import pytest

from components.versioned_pusher import logic as push_logic
from pipelines.config import config_from_dict
from pipelines.local.run import run_local

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

INTEGER = ("magnesium", "proline")
FLOAT = ("alcohol", "malic_acid", "color_intensity", "flavanoids", "hue")


def test_wine_parquet_with_integer_features_trains_and_pushes(tmp_path):
    from sklearn.datasets import load_wine

    bunch = load_wine(as_frame=True)
    frame = bunch.frame[list(FLOAT + INTEGER)].copy()
    for col in INTEGER:
        frame[col] = frame[col].round().astype("int64")
    frame["cultivar"] = [f"cultivar_{int(t)}" for t in bunch.frame["target"]]
    data = tmp_path / "wine.parquet"
    frame.to_parquet(data, index=False)
    raw = {
        "name": "wine",
        "data": {"uri": str(data), "format": "parquet"},
        "label": "cultivar",
        "features": [{"name": c, "type": "float"} for c in FLOAT] + [{"name": c, "type": "int"} for c in INTEGER],
        "slices": [],
        "model": {"hidden_units": [16], "epochs": 40, "batch_size": 16},
        "evaluation": {"thresholds": [{"metric": "accuracy", "lower_bound": 0.8}]},
        "push": {"destination": str(tmp_path / "models"), "model_name": "wine"},
        "beam": {"args": ["--direct_num_workers=1", "--direct_running_mode=in_memory"]},
    }
    cfg = config_from_dict(raw, source="wine (test)")
    summary = run_local(cfg, str(tmp_path / "run"))
    assert summary.status == "succeeded", summary.reason
    assert summary.metrics["sparse_categorical_accuracy"] >= 0.8
    assert push_logic.complete_versions(str(tmp_path / "models"), "wine") == [1]
    assert summary.components["SchemaGen"]["state"] == "executed"  # inferred, not curated
