"""``mlops init``: a pipeline config for a new CSV or Parquet file, from a sample of it.

Each column of the sample is profiled (:func:`profile_column`), typed (``float``, ``int`` or
``categorical``) or excluded with a reason (an identifier, a timestamp, a constant, a column
that is (almost) always missing, free text, a copy of the label); the label is checked for the
traps that make training meaningless (one value, a continuous label asked to be classified, ...).
:func:`plan_config` turns the profiles into a :class:`Plan`, :func:`render_config` into a
commented YAML that ``mlops run`` accepts as is. Pure functions over a DataFrame; the CLI adapter
(:func:`main`) only reads the file and writes the YAML.

Headers that are not valid names (``Culmen Length (mm)``) are renamed with
:func:`pipelines.config.sanitize_column_name`, and the config's ``data.rename`` maps them.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence


from pipelines.config import sanitize_column_name

#: Rows read from the file to profile it (a seeded random sample beyond that).
SAMPLE_ROWS = 100_000
#: A text column with more distinct values than this is not used as a categorical feature.
MAX_CATEGORIES = 50
#: A classification label with more classes than this is refused (regression, or bucket it).
MAX_CLASSES = 50
#: Slices: categorical features with 2..MAX_SLICE_VALUES values, at most MAX_SLICES of them.
MAX_SLICE_VALUES = 10
MAX_SLICES = 2
#: Default ``data.max_dropped_fraction``: a feature missing in more rows than this is excluded.
MAX_MISSING_FRACTION = 0.1
#: The margin the default thresholds demand over a trivial baseline (majority class / mean):
#: accuracy >= majority + 0.2 * (1 - majority); MSE <= 0.9 x the mean predictor's (R² >= 0.1).
ACCURACY_MARGIN = 0.2
MSE_FRACTION = 0.9

_ID_NAME = re.compile(r"(^|_)(id|uuid|guid|key|index|idx|row|rownum|row_number)$")


class ScaffoldError(ValueError):
    """The file cannot make a pipeline as asked (exit 2); the message says why and what to do."""


@dataclass(frozen=True)
class ColumnProfile:
    """What a sample says about one column.

    Attributes:
        source: The header in the file.
        name: The pipeline name (:func:`sanitize_column_name` of the header).
        kind: ``float``, ``int``, ``categorical``, or ``excluded``.
        reason: Why it is excluded (empty otherwise).
        distinct: Number of distinct non-missing values.
        missing_fraction: Fraction of rows without a value.
    """

    source: str
    name: str
    kind: str
    reason: str = ""
    distinct: int = 0
    missing_fraction: float = 0.0

    @property
    def imputed(self) -> bool:
        """A feature some rows miss is written ``missing: impute``: the rows are kept and the
        model fills the value in (in training and at serving), instead of dropping every row
        with a gap, which on real exports with a few gaps in several columns adds up past
        ``data.max_dropped_fraction``."""
        return self.kind != "excluded" and self.missing_fraction > 0


@dataclass(frozen=True)
class Plan:
    """A config to write: what ``render_config`` needs, and what was left out and why."""

    name: str
    data_uri: str
    data_format: str
    task: str
    label: str
    label_source: str
    features: tuple[ColumnProfile, ...]
    excluded: tuple[ColumnProfile, ...]
    slices: tuple[str, ...]
    sensitive: tuple[str, ...]
    rename: dict[str, str]
    rows: int
    thresholds: tuple[dict, ...]
    change_threshold: dict
    baseline: str
    epochs: int
    label_std: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
    positive_class: str | None = None


def _is_integral(values: pd.Series) -> bool:
    return bool(len(values)) and bool(((values % 1) == 0).all())


def _looks_like_time(values: pd.Series) -> bool:
    import pandas as pd
    sample = values.astype(str).head(200)
    if not sample.str.contains(r"\d{1,4}[-/:.]\d{1,2}", regex=True).mean() > 0.9:
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.9)


#: A row number within groups: at least this many distinct values, and this share of the rows.
GROUP_COUNTER_MIN_DISTINCT = 10
GROUP_COUNTER_MIN_DISTINCT_FRACTION = 0.05
#: ... and this share of the steps from one row to the next (in file order) count up by one.
GROUP_COUNTER_MIN_STEP_FRACTION = 0.9


def _group_counter_restarts(values: pd.Series) -> int:
    """How many times an integer column starts counting again, if it numbers rows within groups
    (1..N restarting per study, site or batch); 0 when it does not look like one.

    All three must hold: many distinct values for the rows (high cardinality), every value from
    the lowest to the highest present with counts that never grow with the value (each group
    has a row 1, fewer groups reach row 50: near-uniform at the low end, thinning above), and in
    file order it counts up by one except where it starts again at the lowest value (monotone
    within runs).
    """
    n, distinct = len(values), int(values.nunique())
    if distinct < GROUP_COUNTER_MIN_DISTINCT or distinct < GROUP_COUNTER_MIN_DISTINCT_FRACTION * n:
        return 0
    low, high = float(values.min()), float(values.max())
    if high - low + 1 != distinct:
        return 0  # gaps: not a row number
    counts = values.value_counts().sort_index().to_numpy()
    if (counts[1:] > counts[:-1]).any():
        return 0
    steps = values.diff().dropna()
    restart = values.iloc[1:][steps.to_numpy() != 1]  # the value each step that is not +1 lands on
    if (steps == 1).mean() < GROUP_COUNTER_MIN_STEP_FRACTION or len(restart) < 1 or (restart > low + 1).any():
        return 0
    return int(len(restart))


def profile_column(series: pd.Series, source: str, max_missing_fraction: float = MAX_MISSING_FRACTION) -> ColumnProfile:
    """Types one column of the sample or gives the reason it cannot be a feature.

    Args:
        series: The column as read (pandas dtypes from the CSV/Parquet reader).
        source: Its header.
        max_missing_fraction: Above this fraction of missing values it is excluded (the pipeline
            drops incomplete rows, and would drop too many).
    """
    import pandas as pd
    name = sanitize_column_name(source)
    n = len(series)
    values = series.dropna()
    missing = 1.0 - len(values) / n if n else 1.0
    distinct = int(values.nunique()) if len(values) else 0

    def excluded(reason: str) -> ColumnProfile:
        return ColumnProfile(source, name, "excluded", reason, distinct, missing)

    if not len(values):
        return excluded("100% missing: it has no value in any row")
    if distinct == 1:
        return excluded(f"constant: every row holds {values.iloc[0]!r}, so it tells the model nothing")
    if missing > max_missing_fraction:
        return excluded(f"{missing:.0%} of rows miss it, above data.max_dropped_fraction ({max_missing_fraction:.0%}); "
                        "too often missing to drop those rows or to fill the gaps in (add it back with "
                        "'missing: impute' to use it anyway)")
    unique_per_row = distinct == len(values) and len(values) >= 20
    if pd.api.types.is_bool_dtype(series.dtype):
        return ColumnProfile(source, name, "categorical", "", distinct, missing)
    numeric = values if pd.api.types.is_numeric_dtype(series.dtype) else pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        numeric = numeric.astype("float64")
        integral = _is_integral(numeric)
        if integral and (_ID_NAME.search(name) and unique_per_row
                         or unique_per_row and (numeric.diff().dropna() == 1).all()):
            return excluded(f"ID-like: {distinct} distinct integers, one per row"
                            f"{' counting up by one' if (numeric.diff().dropna() == 1).all() else ''}; "
                            "an identifier lets a model memorise rows instead of learning")
        restarts = _group_counter_restarts(numeric) if integral else 0
        if restarts:
            return excluded(f"ID-like: a row number within groups, counting up by one from {numeric.min():g} and "
                            f"starting again {restarts} times ({distinct} distinct values in {len(values)} rows); "
                            "a model trained on it learns the collection order")
        return ColumnProfile(source, name, "int" if integral else "float", "", distinct, missing)
    text = values.astype(str)
    if _looks_like_time(text):
        return excluded("a date/time: derive features from it (hour, weekday, age...) in the file first")
    if unique_per_row:
        return excluded(f"ID-like: {distinct} distinct values, one per row "
                        f"(e.g. {', '.join(map(repr, text.head(3)))}); an identifier lets a model memorise rows")
    if distinct > MAX_CATEGORIES:
        return excluded(f"free text or a high-cardinality code: {distinct} distinct values (more than "
                        f"{MAX_CATEGORIES}); encode it into fewer categories first, or add it by hand")
    return ColumnProfile(source, name, "categorical", "", distinct, missing)


def _label_problem(series: pd.Series, task: str | None, source: str) -> tuple[str, str | None]:
    """(task, reason the label cannot be used) for the label column."""
    import pandas as pd
    values = series.dropna()
    if not len(values):
        return task or "classification", f"label {source!r} has no value in any row"
    distinct = int(values.nunique())
    if distinct < 2:
        return task or "classification", (f"label {source!r} has one value ({values.iloc[0]!r}) in all {len(values)} rows: "
                                          "there is nothing to learn; pick another label column")
    numeric = values if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype) \
        else pd.to_numeric(values, errors="coerce") if not pd.api.types.is_bool_dtype(series.dtype) else None
    is_number = numeric is not None and numeric.notna().all()
    integral = is_number and _is_integral(numeric.astype("float64"))
    if task is None:
        task = "regression" if is_number and (not integral or distinct > 20) else "classification"
    if task == "regression":
        if not is_number:
            example = values[pd.to_numeric(values, errors="coerce").isna()].head(3).tolist() if not \
                pd.api.types.is_bool_dtype(series.dtype) else values.head(3).tolist()
            return task, (f"--task regression needs a numeric label, but {source!r} holds {example!r}; "
                          "use --task classification")
        return task, None
    if is_number and not integral:
        return task, (f"label {source!r} is continuous ({distinct} distinct decimal values, e.g. "
                      f"{', '.join(map(str, values.head(3).tolist()))}): classifying it makes one class per value; "
                      "use --task regression")
    if distinct > MAX_CLASSES:
        return task, (f"label {source!r} has {distinct} distinct values, more than {MAX_CLASSES} classes; "
                      "use --task regression for a number, or group the classes in the file first")
    if distinct == len(values) and len(values) >= 20:
        return task, f"label {source!r} is ID-like: a different value in every row"
    return task, None


def _epochs(rows: int, batch_size: int = 32) -> int:
    """About 600 optimiser steps, within 20..60 epochs: enough for a small MLP on small data."""
    steps = max(1, math.ceil(rows * 0.75 / batch_size))
    return int(min(60, max(20, math.ceil(600 / steps))))


def _round(value: float, digits: int = 3) -> float:
    if value == 0 or not math.isfinite(value):
        return 0.0
    return round(value, max(0, digits - 1 - int(math.floor(math.log10(abs(value))))))


def plan_config(
    df: pd.DataFrame,
    *,
    name: str,
    data_uri: str,
    data_format: str,
    label: str,
    task: str | None = None,
    features: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    sensitive: Sequence[str] = (),
    max_missing_fraction: float = MAX_MISSING_FRACTION,
) -> Plan:
    """Chooses features, types, slices, thresholds and the task for a sample of the data.

    Args:
        df: The sample.
        name: Pipeline and model name.
        data_uri: What ``data.uri`` will say.
        data_format: ``csv`` or ``parquet``.
        label: The label's header.
        task: ``classification``, ``regression``, or None to decide from the label.
        features: Headers to use as features (default: every usable column). A listed column that
            is unusable is an error, not an exclusion.
        exclude: Headers never to use.
        sensitive: Headers of the fairness gate's sensitive columns (turns fairness on).
        max_missing_fraction: ``data.max_dropped_fraction``.

    Raises:
        ScaffoldError: The label or a requested column is unusable, or no feature is left.
    """
    import pandas as pd
    headers = [str(c) for c in df.columns]
    df = df.set_axis(headers, axis=1)
    by_lower = {h.lower(): h for h in headers}

    def lookup(col: str, what: str) -> str:
        if col in headers:
            return col
        if col.lower() in by_lower:
            return by_lower[col.lower()]
        by_name = {sanitize_column_name(h): h for h in headers}
        if col in by_name:
            return by_name[col]
        raise ScaffoldError(f"{what} {col!r} is not a column of {data_uri}; its columns are: "
                            f"{', '.join(map(repr, headers[:30]))}{', ...' if len(headers) > 30 else ''}")

    label = lookup(label, "--label")
    task, problem = _label_problem(df[label], task, label)
    if problem:
        raise ScaffoldError(problem)
    excluded_headers = {lookup(c, "--exclude") for c in exclude}
    wanted = [lookup(c, "--features") for c in features] if features else [h for h in headers if h != label]
    if label in wanted:
        raise ScaffoldError(f"--features lists the label {label!r}; a model must not see its label")
    chosen: list[ColumnProfile] = []
    left_out: list[ColumnProfile] = []
    label_values = df[label].astype(str)
    for header in wanted:
        if header in excluded_headers:
            left_out.append(ColumnProfile(header, sanitize_column_name(header), "excluded", "--exclude"))
            continue
        prof = profile_column(df[header], header, max_missing_fraction)
        if prof.kind != "excluded" and df[header].astype(str).equals(label_values):
            prof = ColumnProfile(header, prof.name, "excluded", f"a copy of the label {label!r} (target leak)",
                                 prof.distinct, prof.missing_fraction)
        if prof.kind == "excluded" and features:
            raise ScaffoldError(f"--features {header!r} cannot be a feature: {prof.reason}")
        (left_out if prof.kind == "excluded" else chosen).append(prof)
    if not chosen:
        why = "; ".join(f"{p.source}: {p.reason}" for p in left_out) or "the file has no other column"
        raise ScaffoldError(f"no usable feature besides the label {label!r} ({why})")
    names = [p.name for p in chosen] + [sanitize_column_name(label)]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise ScaffoldError(f"headers {', '.join(repr(p.source) for p in chosen if p.name in clashes)} all become "
                            f"{clashes[0]!r}; rename them in the file or pass --exclude for one of them")
    sensitive_headers = [lookup(c, "--sensitive") for c in sensitive]
    by_header = {p.source: p for p in chosen}
    for header in sensitive_headers:
        prof = by_header.get(header)
        if prof is None:
            raise ScaffoldError(f"--sensitive {header!r} is not among the features (fairness groups rows by a "
                                "feature's values)")
        if prof.kind != "categorical" and prof.distinct > MAX_SLICE_VALUES:
            raise ScaffoldError(f"--sensitive {header!r} has {prof.distinct} distinct numeric values; "
                                "a sensitive column needs a few groups (bucket it in the file first)")
    slices = [p.name for p in chosen if p.kind == "categorical" and 2 <= p.distinct <= MAX_SLICE_VALUES]
    slices = [by_header[h].name for h in sensitive_headers if by_header[h].kind == "categorical"] + \
        [s for s in slices if s not in {by_header[h].name for h in sensitive_headers}]
    slices = slices[:max(MAX_SLICES, len(sensitive_headers))]
    rename = {h: sanitize_column_name(h) for h in [*[p.source for p in chosen], label] if sanitize_column_name(h) != h}
    y = df[label].dropna()
    positive = None
    if task == "regression":
        y = pd.to_numeric(y).astype("float64")
        var = float(y.var(ddof=0))
        thresholds = ({"metric": "mse", "upper_bound": _round(MSE_FRACTION * var)},)
        change = {"metric": "mse", "absolute": _round(0.05 * var)}
        baseline = (f"predicting the mean ({y.mean():.4g}) scores MSE {var:.4g} (the label's variance); the model "
                    f"must reach {MSE_FRACTION:g}x that on the eval split, i.e. R² >= {1 - MSE_FRACTION:.1f}")
    else:
        majority = float(y.astype(str).value_counts(normalize=True).iloc[0])
        bound = math.floor((majority + ACCURACY_MARGIN * (1 - majority)) * 100) / 100
        thresholds = ({"metric": "accuracy", "lower_bound": bound},)
        change = {"metric": "accuracy", "absolute": -0.05}
        baseline = (f"always predicting the majority class scores accuracy {majority:.3f}; the model must reach "
                    f"{bound} on the eval split and on every slice")
        classes = _class_names(y)
        if len(classes) == 2:
            from pipelines.metrics import positive_class_name

            positive = positive_class_name(None, tuple(classes))
            # A constant score has AUC 0.5: demand the same margin over it as over the majority class.
            auc_bound = math.floor((0.5 + ACCURACY_MARGIN * 0.5) * 100) / 100
            thresholds += ({"metric": "auc", "lower_bound": auc_bound},)
            baseline += (f"; a constant score has AUC 0.5, the model's AUC of class {positive!r} must reach {auc_bound} "
                         "on the whole eval split")
    return Plan(
        name=name, data_uri=data_uri, data_format=data_format, task=task, label=sanitize_column_name(label),
        label_source=label, features=tuple(chosen), excluded=tuple(left_out), slices=tuple(slices),
        sensitive=tuple(by_header[h].name for h in sensitive_headers), rename=rename, rows=len(df),
        thresholds=thresholds, change_threshold=change, baseline=baseline, epochs=_epochs(len(df)),
        label_std=float(pd.to_numeric(y).std(ddof=0)) if task == "regression" else 0.0,
        positive_class=positive,
    )


def _class_names(y: pd.Series) -> list[str]:
    """A label's sorted values as the label vocabulary holds them: ingest writes a boolean or integer
    column as int64 (True -> "1"), any other as text (an object column of True/False -> "True")."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(y.dtype) or pd.api.types.is_integer_dtype(y.dtype):
        return sorted({str(int(v)) for v in y})
    return sorted({str(v) for v in y})


def _q(value) -> str:
    """A YAML scalar (JSON strings are valid YAML, and quote any header safely)."""
    return json.dumps(value)


#: The ``model_card`` keys ``mlops init`` writes as placeholders, and what each asks for.
MODEL_CARD_PLACEHOLDER = "TODO:"
MODEL_CARD_FIELDS = (
    ("owner", "team or person accountable for this model"),
    ("contact", "how to reach the owner (address or channel)"),
    ("intended_use", "what the predictions are for and who acts on them"),
    ("out_of_scope_use", "uses this model was not built or checked for"),
)


def render_config(plan: Plan, push_destination: str = "runs/models", explain: bool = False, compress: bool = False) -> str:
    """The commented YAML for a plan (loads with ``pipelines.config.load_config`` as is; a
    two-class label's AUC threshold needs the schema ``mlops schema`` writes next).

    ``explain`` / ``compress`` switch SHAP attributions and TFLite variants on (``mlops init
    --explain --compress``); compression's budget fits the task (accuracy or MAE increase).
    """
    lines = [
        f"# Generated by `mlops init` from {plan.rows} rows of {plan.data_uri}.",
        "# Every key is documented in pipelines/config.py. Next: `mlops schema --config <this file>` curates",
        "# the schema (value ranges, categories) from the data; then `mlops run --config <this file> --output-dir D`.",
        f"name: {plan.name}",
        f"description: {_q(f'{plan.task.capitalize()} of {plan.label_source} from {plan.data_uri}')}",
        f"task: {plan.task}",
        "",
        "data:",
        f"  uri: {_q(plan.data_uri)}",
        f"  format: {plan.data_format}",
        "  drop_incomplete_rows: true   # rows missing the label or a feature (not 'missing: impute') are dropped "
        "and counted in run.json",
        f"  max_dropped_fraction: {MAX_MISSING_FRACTION}",
    ]
    if plan.rename:
        lines.append("  # Headers that are not valid names, mapped to the names used everywhere else (features, schema,")
        lines.append("  # serving requests, reports, drift): lower-case, runs of other characters -> '_'.")
        lines.append("  rename:")
        lines += [f"    {_q(src)}: {_q(dst)}" for src, dst in plan.rename.items()]
    lines += ["", f"label: {_q(plan.label)}"]
    if plan.task == "classification":
        lines[-1] += "   # classification: each distinct value is a class"
    else:
        lines[-1] += "   # regression: the model predicts this number"
    lines.append("features:")
    for p in plan.features:
        comment = f"{p.distinct} distinct values" + (f", {p.missing_fraction:.1%} missing" if p.missing_fraction else "")
        if p.imputed:
            fill = "a category of its own" if p.kind == "categorical" else "the training mean"
            lines.append(f"  - {{name: {_q(p.name)}, type: {p.kind}, missing: impute}}   # {comment}: rows kept, the "
                         f"model fills in {fill} (requests may send null)")
        else:
            lines.append(f"  - {{name: {_q(p.name)}, type: {p.kind}}}   # {comment}")
    if plan.excluded:
        lines.append("# Left out by `mlops init` (add one back to features to use it anyway):")
        lines += [f"#   {p.source}: {p.reason}" for p in plan.excluded]
    lines.append(f"slices: [{', '.join(map(_q, plan.slices))}]   # evaluation metrics per value of these (low-cardinality "
                 "categoricals)")
    ct = plan.change_threshold
    lines += [
        "",
        "split:",
        "  eval_fraction: 0.25",
        "  seed: 42",
        "",
        "# Empty: the schema is inferred on every run (no value ranges). `mlops schema` curates it and fills these in.",
        "schema:",
        "  path: null",
        "validation:",
        "  expectation_suite: null",
        "  max_example_values: 5",
        "",
        "model:",
        "  hidden_units: [16, 8]",
        # Regression on small tables overfits fast at 0.01 (diabetes: eval MSE 0.76x vs 0.61x the mean
        # predictor's at 0.001), so the slower rate there.
        f"  learning_rate: {0.01 if plan.task == 'classification' else 0.001}",
        "  batch_size: 32",
        f"  epochs: {plan.epochs}",
        "  gpus: 0",
        "",
        "evaluation:",
        f"  # Baseline: {plan.baseline}.",
        "  thresholds:",
        *("    - {" + ", ".join(f"{k}: {v}" for k, v in t.items()) + "}" for t in plan.thresholds),
        *([f"  # Two classes: auc/precision/recall are those of this class (its probability is the score).",
           f"  positive_class: {_q(plan.positive_class)}"] if plan.positive_class is not None else []),
        "  # Against the model now serving: "
        + ("accuracy may drop by at most 0.05." if plan.task == "classification"
           else "MSE may grow by at most 5% of the label's variance."),
        f"  change_threshold: {{metric: {ct['metric']}, absolute: {ct['absolute']}}}",
        "",
        "push:",
        f"  destination: {_q(push_destination)}",
        f"  model_name: {plan.name}",
        "",
        "monitoring:",
        "  drift_threshold: 0.2",
        f"  prediction_log_uri: {_q(f'runs/prediction-logs/{plan.name}/')}",
        "",
    ]
    if plan.sensitive:
        lines += [
            "# Fairness gate over the sensitive columns given to `mlops init --sensitive`.",
            "fairness:",
            "  enabled: true",
            f"  sensitive_columns: [{', '.join(map(_q, plan.sensitive))}]",
        ]
        if plan.task == "regression":
            lines += [
                "  # Per-group errors, in the label's units: a quarter of its standard deviation.",
                "  max_accuracy_gap: null",
                f"  max_mae_gap: {_round(0.25 * plan.label_std)}",
                f"  max_mean_residual_gap: {_round(0.25 * plan.label_std)}",
            ]
        else:
            lines.append("  max_accuracy_gap: 0.25")
        lines.append("  min_group_size: 10")
    else:
        lines += [
            "# Fairness gate: off, as no sensitive column was named (`mlops init --sensitive COL`).",
            "fairness:",
            "  enabled: false",
        ]
    lines += [
        "",
        "# SHAP attributions and TFLite variants: off unless `mlops init --explain / --compress` (they add minutes to a run).",
        "explain:",
        f"  enabled: {str(explain).lower()}",
        "compress:",
        f"  enabled: {str(compress).lower()}",
        *(["  # The smallest TFLite variant whose eval " + ("MAE is at most 5% above the SavedModel's ships beside it."
                                                         if plan.task == "regression" else
                                                         "accuracy is at most 0.02 below the SavedModel's ships beside it."),
           "  max_error_increase: 0.05" if plan.task == "regression" else "  accuracy_budget: 0.02"] if compress else []),
        "",
        "drift_check:",
        "  enabled: true",
        "  fail_on_drift: false",
        "",
        "# The model card of every pushed version (<destination>/<model>/<version>/model_card/) says who owns the",
        "# model and what it is for: replace the TODOs (the card lists the ones left).",
        "model_card:",
        *(f"  {key}: {_q(f'{MODEL_CARD_PLACEHOLDER} {what}')}" for key, what in MODEL_CARD_FIELDS),
        "",
    ]
    return "\n".join(lines)


def format_format(uri: str, given: str | None) -> str:
    """``csv`` or ``parquet``: as given, else from the file's suffix."""
    if given:
        return given
    return "parquet" if uri.lower().rstrip("/").endswith((".parquet", ".pq")) else "csv"


def read_sample(uri: str, fmt: str, rows: int = SAMPLE_ROWS, seed: int = 42) -> pd.DataFrame:
    """The file (a seeded random sample of ``rows`` rows when larger), read as the pipeline reads it."""
    from components.ingest.logic import read_table

    df = read_table(uri, fmt)
    return df.sample(n=rows, random_state=seed).sort_index() if len(df) > rows else df


def model_name_for(output: str) -> str:
    """Pipeline/model name from the output file's stem: lower-case letters, digits, '-' and '_'."""
    stem = re.sub(r"[^a-z0-9_-]+", "-", Path(output).stem.lower()).strip("-_")
    return stem if stem and stem[0].isalnum() else f"p{stem}"


def config_uri(uri: str, repo_root: Path) -> str:
    """``data.uri`` as the config should say it: URIs as given, local paths repo-relative when inside it."""
    if "://" in uri:
        return uri
    path = Path(uri).resolve()
    try:
        return str(path.relative_to(repo_root))
    except ValueError:
        return str(path)


def main(args) -> int:
    """``mlops init``: profile the file, write the config, say what was left out and why."""
    from components.common import storage
    from components.common.errors import DataValidationError
    from pipelines.config import ConfigError, load_config
    from pipelines.pipeline import REPO_ROOT, resolve_repo_path

    out = Path(args.output)
    if out.exists() and not args.force:
        print(f"\n{out} exists; pass --force to overwrite it.", file=sys.stderr)
        return 2
    from components.common.writable import ensure_writable_parent

    # Before reading (and sampling) the data: the config must be writable where asked.
    ensure_writable_parent(str(out), "the config's folder (--output)", "pass an --output in a folder you can write")
    fmt = format_format(args.data, args.format)
    read_uri = args.data if "://" in args.data else os.path.abspath(args.data)
    try:
        df = read_sample(resolve_repo_path(read_uri) if "://" not in read_uri else read_uri, fmt)
    except DataValidationError as exc:
        print(f"\nCannot read {args.data} as {fmt}: {exc.paragraph()}", file=sys.stderr)
        return 2
    except storage.StorageError as exc:
        print(f"\nCannot read {args.data}: {exc}", file=sys.stderr)
        return 2
    name = args.name or model_name_for(args.output)
    try:
        plan = plan_config(
            df, name=name, data_uri=config_uri(args.data, REPO_ROOT), data_format=fmt, label=args.label,
            task=args.task, features=_csv(args.features), exclude=_csv(args.exclude) or (),
            sensitive=_csv(args.sensitive) or (),
        )
    except ScaffoldError as exc:
        print(f"\nNot written: {exc}", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render_config(plan, push_destination=args.push_destination, explain=args.explain, compress=args.compress)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text)
    try:
        # What we write must load as is, up to the files `mlops schema` writes next (a two-class
        # label's AUC gate needs the classes it curates; `mlops run` checks them).
        load_config(tmp, source=str(out), check_files=False)
    except ConfigError as exc:  # a bug here, not the user's: say so plainly
        tmp.unlink()
        print(f"\nNot written: the generated config does not load: {exc}", file=sys.stderr)
        return 1
    tmp.replace(out)
    print(f"Wrote {out}: {plan.task}, label {plan.label!r}, {len(plan.features)} features "
          f"({', '.join(f'{p.name}:{p.kind}' for p in plan.features)}) from {plan.rows} rows.")
    if plan.rename:
        print(f"  renamed: {', '.join(f'{s!r} -> {d}' for s, d in plan.rename.items())} (data.rename)")
    imputed = [p for p in plan.features if p.imputed]
    if imputed:
        print(f"  imputed (missing: impute; rows kept, the model fills the value in): "
              f"{', '.join(f'{p.name} ({p.missing_fraction:.1%} missing)' for p in imputed)}")
    if plan.slices:
        print(f"  slices: {', '.join(plan.slices)}")
    print(f"  fairness: {'on for ' + ', '.join(plan.sensitive) if plan.sensitive else 'off (no --sensitive)'}")
    print(f"  gate: {plan.baseline}")
    print(f"  model card: fill in model_card.{', model_card.'.join(k for k, _ in MODEL_CARD_FIELDS)} (written as TODOs)")
    for p in plan.excluded:
        print(f"  excluded {p.source!r}: {p.reason}")
    print(f"Next: mlops schema --config {out}"
          + (" (the AUC gate needs the label's classes it curates)" if plan.positive_class is not None else ""))
    return 0


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def add_arguments(parser) -> None:
    """``mlops init`` options."""
    parser.add_argument("--data", required=True, help="the CSV or Parquet file: local path, s3://, gs:// or package://")
    parser.add_argument("--label", required=True, help="the column to predict (its header as in the file)")
    parser.add_argument("--task", choices=("classification", "regression"),
                        help="default: regression for a numeric label with decimals or more than 20 values, else classification")
    parser.add_argument("--output", required=True, help="config YAML to write, e.g. pipelines/configs/<name>.yaml")
    parser.add_argument("--name", help="pipeline and model name (default: the output file's name)")
    parser.add_argument("--format", choices=("csv", "parquet"), help="default: from the file's suffix")
    parser.add_argument("--features", help="comma-separated headers to use (default: every usable column)")
    parser.add_argument("--exclude", help="comma-separated headers never to use")
    parser.add_argument("--sensitive", help="comma-separated categorical features for the fairness gate (turns it on)")
    parser.add_argument("--explain", action="store_true", help="turn SHAP attributions on (explain.enabled)")
    parser.add_argument("--compress", action="store_true",
                        help="turn TFLite variants on (compress.enabled; regression: an error budget)")
    parser.add_argument("--push-destination", default="runs/models", help="push.destination (default: runs/models)")
    parser.add_argument("--force", action="store_true", help="overwrite --output if it exists")
    parser.epilog = "Exit codes: 0 written, 2 the data or a requested column cannot make a pipeline (the reason is printed)."
