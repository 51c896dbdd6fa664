"""`mlops schema` (pipelines/schema_curation.py): ranges with a margin, categorical domains,
presence, the GE suite derived from it, and comparing new data instead of overwriting."""

import os

import numpy as np
import pandas as pd
import yaml

from components.ge_validation.suite import suite_from_schema
from pipelines.config import config_from_dict, load_config
from pipelines.schema_curation import compare, curate, from_schema, observe, to_schema
from tests.cli import mlops


def _cfg(tmp_path, data, task="classification", label="kind"):
    raw = {
        "name": "curate",
        "task": task,
        "data": {"uri": str(data), "format": "csv", "rename": {"Width (cm)": "width_cm"}},
        "label": label,
        "features": [{"name": "width_cm", "type": "float"}, {"name": "count", "type": "int"},
                     {"name": "colour", "type": "categorical"}],
        "evaluation": {"thresholds": [{"metric": "accuracy" if task == "classification" else "mae", "lower_bound": 0.1}]},
        "push": {"destination": str(tmp_path / "models"), "model_name": "curate"},
    }
    path = tmp_path / "curate.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path, raw


def _data(n=40):
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "Width (cm)": np.linspace(2.0, 12.0, n),
        "count": rng.integers(0, 10, n),
        "colour": rng.choice(["red", "green"], n),
        "kind": np.arange(n) % 3,
    })


def _observed(tmp_path, df=None, **kw):
    from components.ingest import logic as ingest

    data = tmp_path / "d.csv"
    (df if df is not None else _data()).to_csv(data, index=False)
    path, raw = _cfg(tmp_path, data, **kw)
    cfg = config_from_dict(raw)
    frame = ingest.apply_rename(ingest.read_table(str(data), "csv"), cfg.data.rename)
    tidy, _ = ingest.tidy(frame, {f.name: f.type for f in cfg.features}, cfg.label, True, 0.1)
    return cfg, observe(frame, tidy, cfg)


def test_ranges_widen_by_the_margin_and_the_label_keeps_its_classes(tmp_path):
    cfg, obs = _observed(tmp_path)
    contracts = curate(obs, cfg, margin=0.1)
    assert (contracts["width_cm"].low, contracts["width_cm"].high) == (1.0, 13.0)
    assert contracts["count"].type == "INT" and contracts["count"].low == 0.0  # never negative stays so
    assert contracts["colour"].values == ["green", "red"]
    assert (contracts["kind"].low, contracts["kind"].high) == (0.0, 2.0)  # exact: classes, no margin
    assert all(c.required for c in contracts.values())


def test_schema_round_trips_and_the_suite_states_the_ranges(tmp_path):
    from pipelines.metrics import label_classes

    cfg, obs = _observed(tmp_path)
    schema = to_schema(curate(obs, cfg, 0.1))
    assert from_schema(schema) == curate(obs, cfg, 0.1)
    suite = suite_from_schema(schema, "s")
    between = {e["kwargs"]["column"]: (e["kwargs"]["min_value"], e["kwargs"]["max_value"])
               for e in suite["expectations"] if e["type"] == "expect_column_values_to_be_between"}
    assert between["width_cm"] == (1.0, 13.0)
    in_set = [e for e in suite["expectations"] if e["type"] == "expect_column_values_to_be_in_set"]
    assert in_set[0]["kwargs"] == {"column": "colour", "value_set": ["green", "red"]}
    path = tmp_path / "s.pbtxt"
    from google.protobuf import text_format

    path.write_text(text_format.MessageToString(schema))
    assert label_classes(path, "kind") == ("0", "1", "2")


def test_presence_follows_what_ingest_writes(tmp_path):
    """A dropped-when-missing column is in every example (required); an imputed one is optional
    even where no row misses it, so the served model accepts a request without it."""
    df = _data()
    df.loc[3, "count"] = None
    cfg, obs = _observed(tmp_path, df)
    assert curate(obs, cfg, 0.1)["count"].required  # row 3 is dropped at ingest
    raw = _cfg(tmp_path, tmp_path / "d.csv")[1]
    raw["features"][1]["missing"] = "impute"
    raw["features"][2]["missing"] = "impute"
    imputing = config_from_dict(raw)
    contracts = curate(obs, imputing, 0.1)
    assert not contracts["count"].required and not contracts["colour"].required
    assert contracts["width_cm"].required
    raw["features"][1]["missing"] = "drop"
    keep_all = config_from_dict({**raw, "data": {**raw["data"], "drop_incomplete_rows": False}})
    assert not curate(obs, keep_all, 0.1)["count"].required  # rows kept with a gap: optional as observed


def test_compare_lists_what_new_data_does_not_fit_and_merges_on_accept(tmp_path):
    cfg, obs = _observed(tmp_path)
    curated = curate(obs, cfg, 0.1)
    df = _data()
    df.loc[0, "Width (cm)"] = -1000.0
    df.loc[1, "colour"] = "blue"
    _, new = _observed(tmp_path, df)
    diffs, merged = compare(curated, new, 0.1, cfg.label, cfg.task)
    assert any(d.startswith("~ width_cm: minimum -1000 is below the schema's range [1, 13]") for d in diffs)
    assert any("colour: values not in the schema's domain: 'blue'" in d for d in diffs)
    assert merged["colour"].values == ["blue", "green", "red"] and merged["width_cm"].low < -1000
    assert merged["width_cm"].high == 13.0  # the side the data fits is kept as curated
    assert compare(curated, obs, 0.1, cfg.label, cfg.task)[0] == []




def test_cli_writes_points_the_config_and_then_diffs_instead_of_overwriting(tmp_path):
    data = tmp_path / "d.csv"
    _data().to_csv(data, index=False)
    path, _ = _cfg(tmp_path, data)
    proc = mlops("schema", "--config", str(path))
    assert proc.returncode == 0, proc.stderr
    cfg = load_config(path)
    schema_file = tmp_path / "schemas" / "curate" / "schema.pbtxt"
    assert cfg.schema.path == str(schema_file) and os.path.exists(cfg.validation.expectation_suite)
    before = schema_file.read_text()
    assert mlops("schema", "--config", str(path)).returncode == 0  # same data: up to date
    bad = _data()
    bad.loc[5, "Width (cm)"] = 99.0
    bad.to_csv(data, index=False)
    proc = mlops("schema", "--config", str(path))
    assert proc.returncode == 3, proc.stderr
    assert "width_cm: maximum 99 is above the schema's range [1, 13]" in proc.stdout
    assert schema_file.read_text() == before  # not overwritten
    proc = mlops("schema", "--config", str(path), "--update")
    assert proc.returncode == 0, proc.stderr
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    updated = from_schema(text_format.Parse(schema_file.read_text(), schema_pb2.Schema()))
    assert updated["width_cm"].high >= 99.0 and updated["width_cm"].low == 1.0
    assert "width_cm" in load_config(path).feature_names


def test_boolean_label_is_classes_through_init_and_curation(tmp_path):
    """A True/False label: init makes it classification; ingest writes it as 0/1 integers, so the
    curated schema gives it an int domain whose classes are "0" and "1" (what Transform's label
    vocabulary and serving's predicted_class hold)."""
    from pipelines.scaffold import plan_config, render_config

    df = _data().rename(columns={"kind": "flag"})
    df["flag"] = df["flag"] == 1
    data = tmp_path / "b.csv"
    df.to_csv(data, index=False)
    plan = plan_config(df, name="b", data_uri=str(data), data_format="csv", label="flag")
    assert plan.task == "classification"
    config = tmp_path / "b.yaml"
    config.write_text(render_config(plan, push_destination=str(tmp_path / "models")))
    proc = mlops("schema", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    from pipelines.metrics import label_classes

    assert label_classes(load_config(config).schema.path, "flag") == ("0", "1")


def test_schema_on_a_file_ingest_refuses_gives_the_gates_paragraph(tmp_path):
    """More incomplete rows than data.max_dropped_fraction: exit 3 and ingest's own words, no traceback
    (it was `AttributeError: 'CheckFailure' object has no attribute 'message'`)."""
    df = _data(40)
    df.loc[:11, "count"] = None  # 30 % of the rows
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    path, _ = _cfg(tmp_path, data)
    proc = mlops("schema", "--config", str(path))
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr and "AttributeError" not in proc.stderr
    assert "12 of 40 rows (30%) have missing values" in proc.stderr and "count (12 missing)" in proc.stderr
    assert "missing: impute" in proc.stderr  # and what to do about it
