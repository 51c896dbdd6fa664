"""`mlops init` (pipelines/scaffold.py): column typing, the traps it refuses or excludes, and a
config that loads as written. The CLI is exercised through its process (exit codes, stderr)."""

import numpy as np
import pandas as pd
import pytest
import yaml

from pipelines.config import ConfigError, config_from_dict, load_config, sanitize_column_name
from pipelines.scaffold import ScaffoldError, plan_config, profile_column, render_config
from tests.cli import mlops


def _frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "Customer ID": np.arange(1000, 1000 + n),
        "Culmen Length (mm)": rng.normal(45, 5, n).round(1),
        "age": rng.integers(18, 90, n),
        "island": rng.choice(["Biscoe", "Dream", "Torgersen"], n),
        "all_null": [None] * n,
        "constant": ["x"] * n,
        "signup": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "comment": [f"free text number {i}" for i in range(n)],
        "target": rng.choice(["yes", "no"], n),
    })


def _plan(df, **kw):
    kw.setdefault("name", "demo")
    kw.setdefault("data_uri", "/data/demo.csv")
    kw.setdefault("data_format", "csv")
    return plan_config(df, **kw)


def test_sanitize_is_one_documented_rule():
    assert sanitize_column_name("Culmen Length (mm)") == "culmen_length_mm"
    assert sanitize_column_name("Delta 15 N (o/oo)") == "delta_15_n_o_oo"
    assert sanitize_column_name("2nd score") == "c_2nd_score"
    assert sanitize_column_name("already_fine") == "already_fine"


@pytest.mark.parametrize("column, kind, reason", [
    ("Customer ID", "excluded", "ID-like"),
    ("Culmen Length (mm)", "float", ""),
    ("age", "int", ""),
    ("island", "categorical", ""),
    ("all_null", "excluded", "100% missing"),
    ("constant", "excluded", "constant"),
    ("signup", "excluded", "date/time"),
    ("comment", "excluded", "ID-like"),
])
def test_profile_types_or_excludes_with_a_reason(column, kind, reason):
    prof = profile_column(_frame()[column], column)
    assert prof.kind == kind
    assert reason in prof.reason


def test_mostly_missing_column_is_excluded():
    s = pd.Series([1.0, None, None, 2.0, 3.0] * 10)
    prof = profile_column(s, "sparse")
    assert prof.kind == "excluded" and "40% of rows miss it" in prof.reason


def test_plan_lists_exclusions_renames_headers_and_picks_slices():
    plan = _plan(_frame(), label="target")
    assert plan.task == "classification"
    assert [(p.name, p.kind) for p in plan.features] == [
        ("culmen_length_mm", "float"), ("age", "int"), ("island", "categorical")]
    assert {p.source for p in plan.excluded} == {"Customer ID", "all_null", "constant", "signup", "comment"}
    assert plan.rename == {"Culmen Length (mm)": "culmen_length_mm"}
    assert plan.slices == ("island",)
    assert plan.sensitive == ()
    # a trivial baseline is beaten: majority share + 20% of the remaining gap, and never below it
    majority = _frame()["target"].value_counts(normalize=True).iloc[0]
    assert plan.thresholds[0]["metric"] == "accuracy" and plan.thresholds[0]["lower_bound"] > majority


def test_rendered_config_loads_as_is_with_fairness_off(tmp_path):
    plan = _plan(_frame(), label="target")
    path = tmp_path / "demo.yaml"
    path.write_text(render_config(plan))
    # A two-class label ("no"/"yes") is also gated on the AUC of "yes", which needs the classes
    # `mlops schema` curates: until then only `mlops run` refuses it, naming the command.
    with pytest.raises(ConfigError, match=r"auc .* set schema.path \(`mlops schema --config .*demo.yaml` writes it\)"):
        load_config(path)
    cfg = load_config(path, check_files=False)
    assert [t.metric for t in cfg.evaluation.thresholds] == ["accuracy", "auc"]
    assert cfg.evaluation.positive_class == "yes"
    assert cfg.data.rename == {"Culmen Length (mm)": "culmen_length_mm"}
    assert cfg.feature_names == ("culmen_length_mm", "age", "island")
    assert not cfg.fairness.enabled and cfg.schema.path is None
    assert "Customer ID: ID-like" in path.read_text()  # the exclusions are written down, with why


def test_sensitive_turns_fairness_on(tmp_path):
    plan = _plan(_frame(), label="target", sensitive=["island"])
    path = tmp_path / "demo.yaml"
    path.write_text(render_config(plan))
    cfg = load_config(path, check_files=False)  # its AUC gate waits for `mlops schema` (test above)
    assert cfg.fairness.enabled and cfg.fairness.sensitive_columns == ("island",)


def test_regression_is_chosen_for_a_continuous_label_and_gates_below_the_mean_predictor(tmp_path):
    df = _frame()
    df["price"] = np.linspace(10.5, 99.25, len(df))
    plan = _plan(df.drop(columns=["target"]), label="price")
    assert plan.task == "regression"
    variance = float(df["price"].var(ddof=0))
    assert plan.thresholds[0]["metric"] == "mse"
    assert 0.89 * variance < plan.thresholds[0]["upper_bound"] < 0.91 * variance
    path = tmp_path / "r.yaml"
    path.write_text(render_config(plan))
    cfg = load_config(path)
    assert cfg.task == "regression" and cfg.evaluation.change_threshold.metric == "mse"
    assert not cfg.compress.enabled and not cfg.explain.enabled


def test_explain_and_compress_switches_write_the_tasks_budget(tmp_path):
    df = _frame()
    df["price"] = np.linspace(10.5, 99.25, len(df))
    path = tmp_path / "r.yaml"
    path.write_text(render_config(_plan(df.drop(columns=["target"]), label="price"), explain=True, compress=True))
    cfg = load_config(path)
    assert cfg.explain.enabled and cfg.compress.enabled and cfg.compress.max_error_increase == 0.05
    path.write_text(render_config(_plan(_frame(), label="target"), compress=True))
    cfg = load_config(path, check_files=False)
    assert cfg.compress.enabled and cfg.compress.accuracy_budget == 0.02 and cfg.compress.max_error_increase is None


@pytest.mark.parametrize("label, task, message", [
    ("constant", None, "has one value"),
    ("Culmen Length (mm)", "classification", "use --task regression"),
    ("island", "regression", "needs a numeric label"),
    ("nope", None, "is not a column"),
])
def test_label_traps_are_refused(label, task, message):
    with pytest.raises(ScaffoldError, match=message):
        _plan(_frame(), label=label, task=task)


def test_requested_id_feature_is_refused_not_silently_used():
    with pytest.raises(ScaffoldError, match="'Customer ID' cannot be a feature: ID-like"):
        _plan(_frame(), label="target", features=["age", "Customer ID"])


def test_integer_label_with_few_values_is_classification():
    df = _frame()
    df["target"] = np.arange(len(df)) % 3
    plan = _plan(df, label="target")
    assert plan.task == "classification"
    config_from_dict(yaml.safe_load(render_config(plan)))


def test_cli_refuses_a_trap_with_exit_2_and_otherwise_writes_a_config(tmp_path):
    data = tmp_path / "d.parquet"
    _frame().to_parquet(data, index=False)
    out = tmp_path / "my-data.yaml"
    refused = mlops("init", "--data", str(data), "--label", "constant", "--output", str(out))
    assert refused.returncode == 2, refused.stderr
    assert "has one value" in refused.stderr and "Traceback" not in refused.stderr
    assert not out.exists()
    proc = mlops("init", "--data", str(data), "--label", "target", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "excluded 'Customer ID': ID-like" in proc.stdout
    assert "Next: mlops schema" in proc.stdout and "AUC gate" in proc.stdout
    curated = mlops("schema", "--config", str(out))  # the classes its AUC gate needs
    assert curated.returncode == 0, curated.stderr
    cfg = load_config(out)
    assert cfg.binary_label_order() == ("no", "yes")
    assert cfg.name == "my-data" and cfg.data.format == "parquet"
    again = mlops("init", "--data", str(data), "--label", "target", "--output", str(out))
    assert again.returncode == 2 and "--force" in again.stderr


def _export_with_gaps(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """Sites exported one after another, a visit number restarting per site, gaps in three columns."""
    rng = np.random.default_rng(seed)
    sizes = [150, 130, 120]
    df = pd.DataFrame({
        "site": np.repeat(["a", "b", "c"], sizes),
        "visit": np.concatenate([np.arange(1, s + 1) for s in sizes]),
        "weight": rng.normal(70, 10, n).round(1),
        "age": rng.integers(18, 90, n).astype("float64"),
        "colour": rng.choice(["red", "blue", "green"], n),
        "target": rng.choice(["yes", "no"], n),
    })
    for col, frac in (("weight", 0.05), ("age", 0.04), ("colour", 0.04)):
        df.loc[rng.choice(n, int(frac * n), replace=False), col] = None
    return df


def test_a_row_number_restarting_per_group_is_left_out_as_an_identifier():
    df = _export_with_gaps()
    prof = profile_column(df["visit"], "visit")
    assert prof.kind == "excluded" and "row number within groups" in prof.reason and "2 times" in prof.reason
    # Not fooled by counts, measurements or a plain integer feature.
    rng = np.random.default_rng(0)
    for values in (rng.integers(0, 50, 400), rng.poisson(3, 400), np.sort(rng.integers(0, 400, 400))):
        assert profile_column(pd.Series(values), "x").kind == "int"


def test_columns_with_a_few_gaps_are_imputed_so_the_config_passes_the_gate(tmp_path):
    """Dropping every incomplete row would lose ~13 % (> data.max_dropped_fraction): init imputes instead."""
    df = _export_with_gaps()
    assert df[["weight", "age", "colour"]].isna().any(axis=1).mean() > 0.1
    plan = _plan(df, label="target")
    assert {p.name for p in plan.features if p.imputed} == {"weight", "age", "colour"}
    assert not any(p.imputed for p in plan.features if p.name == "site")
    cfg = config_from_dict(yaml.safe_load(render_config(plan)), check_files=False)  # AUC classes: `mlops schema`
    assert sorted(cfg.imputed_features()) == ["age", "colour", "weight"]
    from components.ingest.logic import tidy

    tidied, dropped = tidy(df, {f.name: f.type for f in cfg.features}, "target", True, 0.1, imputed=cfg.imputed_features())
    assert dropped == 0 and len(tidied) == len(df)


def test_init_says_what_it_imputes_and_leaves_out(tmp_path):
    data = tmp_path / "export.csv"
    _export_with_gaps().to_csv(data, index=False)
    proc = mlops("init", "--data", str(data), "--label", "target", "--output", str(tmp_path / "c.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert "imputed" in proc.stdout and "weight (5.0% missing)" in proc.stdout
    assert "excluded 'visit': ID-like: a row number within groups" in proc.stdout


def test_init_writes_model_card_placeholders_the_card_reports_as_left(tmp_path):
    from components.model_card import logic as card_logic
    from pipelines.pipeline import model_card_settings

    path = tmp_path / "demo.yaml"
    path.write_text(render_config(_plan(_frame(), label="target")))
    cfg = load_config(path, check_files=False)
    assert cfg.model_card.owner.startswith("TODO:") and cfg.model_card.intended_use.startswith("TODO:")
    card = card_logic.build_card({"model_name": "demo", "version": 1}, model_card_settings(cfg))
    assert card_logic.placeholders(card) == ["model_card.owner", "model_card.contact", "model_card.intended_use",
                                             "model_card.out_of_scope_use"]
