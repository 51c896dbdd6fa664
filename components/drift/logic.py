"""Feature drift of a window of new data (or logged serving inputs) against the training baseline.

Pure logic: numpy, scipy and pandas only (matplotlib, for the HTML plots, is imported lazily and
optional; the page is rendered with Jinja2, which Airflow ships too), so the Airflow venv on the
host can import this module. No TensorFlow.

Metrics (one per feature, chosen by kind; the config's ``monitoring`` section picks them):

* ``psi`` (numeric or categorical): Population Stability Index,
  ``sum((cur - base) * ln(cur / base))`` over bins, shares floored at ``PSI_EPS`` so an empty bin
  does not give infinity. Numeric bins are the baseline's deciles (``bins`` quantile bins; values
  outside the baseline range fall in the open-ended edge bins); categorical bins are the union
  of categories seen in either sample. 0 means identical; rule of thumb: < 0.1 stable,
  0.1-0.25 moderate, > 0.25 major shift. Unbounded above.
* ``ks`` (numeric): the two-sample Kolmogorov-Smirnov statistic D (largest gap between the two
  empirical CDFs), in [0, 1]. The p-value is reported alongside but is not what is thresholded:
  with thousands of rows every tiny shift is "significant", while D measures its size.
* ``js`` (categorical): Jensen-Shannon *distance* with log base 2 (the square root of the JS
  divergence), in [0, 1]; 0 for identical distributions, 1 for disjoint ones.

Threshold semantics (one rule everywhere, the same as the ``model_monitoring`` DAG):
**a feature drifts iff its score is strictly greater than the threshold**; a score exactly equal
to the threshold is *not* drift. A report drifts iff at least one feature drifts.

Missing values (None/NaN, and text in a numeric column) are left out of the scores and counted
in the report; a feature with no values at all in one of the samples gets no score (``None``) and
status ``no_data``, which does not count as drift (the data validation step judges emptiness).

Predictions: when the baseline has the label column and the current window has the logged
``predicted_class``, the distribution of predicted classes is compared with the training label
distribution (a cheap prior-shift signal) as the pseudo-feature ``predicted_class``.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from components.common import html as report_html

NUMERIC_TYPES = ("float", "int")
from components.drift.choices import CATEGORICAL_METRICS, NUMERIC_METRICS  # noqa: E402,F401 - part of this API
PSI_EPS = 1e-4
PREDICTION_COLUMN = "predicted_class"
TIME_COLUMN = "timestamp"


class DriftInputError(ValueError):
    """The inputs cannot be compared (a configured column is missing, an unknown metric, ...)."""


class MissingColumnsError(DriftInputError):
    """Configured features absent from one side; ``side`` is "baseline" or "current"."""

    def __init__(self, message: str, side: str, missing: list[str]):
        super().__init__(message)
        self.side = side
        self.missing = missing


class NoDataError(DriftInputError):
    """There is nothing to compare yet (no files, or files without rows); not a malformed input."""


@dataclass(frozen=True)
class DriftSettings:
    """Thresholds and metric choices (``PipelineConfig.monitoring`` plus the bin count).

    Attributes:
        threshold: A feature drifts iff its score > threshold (strictly).
        numeric_metric: ``psi`` or ``ks``.
        categorical_metric: ``psi`` or ``js``.
        window_size: Only the newest ``window_size`` rows of the current data are compared
            (0 = all of them).
        bins: Quantile bins of the baseline for numeric PSI (at most).
        min_bin_count: Fewer bins when a sample is small: at most ``n / min_bin_count`` bins for
            the smaller of the two samples (and at least 2). PSI's bias on two samples of the
            same distribution grows like ``(bins - 1) * (1/n + 1/m)``, so 10 bins on 100 rows
            would read ~0.2 on pure noise.
    """

    threshold: float = 0.2
    numeric_metric: str = "psi"
    categorical_metric: str = "js"
    window_size: int = 200
    bins: int = 10
    min_bin_count: int = 20

    def __post_init__(self):
        if self.numeric_metric not in NUMERIC_METRICS:
            raise DriftInputError(f"numeric_metric {self.numeric_metric!r} is not one of {', '.join(NUMERIC_METRICS)}")
        if self.categorical_metric not in CATEGORICAL_METRICS:
            raise DriftInputError(
                f"categorical_metric {self.categorical_metric!r} is not one of {', '.join(CATEGORICAL_METRICS)}"
            )
        if not (isinstance(self.threshold, (int, float)) and self.threshold > 0 and math.isfinite(self.threshold)):
            raise DriftInputError(f"threshold {self.threshold!r} must be a positive number")
        if self.window_size < 0:
            raise DriftInputError(f"window_size {self.window_size} must be >= 0 (0 = all rows)")
        if self.bins < 2:
            raise DriftInputError(f"bins {self.bins} must be >= 2")
        if self.min_bin_count < 1:
            raise DriftInputError(f"min_bin_count {self.min_bin_count} must be >= 1")

    def bins_for(self, n_baseline: int, n_current: int) -> int:
        """Numeric PSI bins for samples of these sizes (see ``min_bin_count``)."""
        return max(2, min(self.bins, min(n_baseline, n_current) // self.min_bin_count))

    @classmethod
    def from_monitoring(cls, monitoring: Any, **overrides: Any) -> "DriftSettings":
        """From a ``MonitoringConfig`` (or a mapping with the same keys), with overrides."""
        get = monitoring.get if isinstance(monitoring, Mapping) else lambda k, d=None: getattr(monitoring, k, d)
        values = {
            "threshold": float(get("drift_threshold", cls.threshold)),
            "numeric_metric": get("numeric_metric", cls.numeric_metric),
            "categorical_metric": get("categorical_metric", cls.categorical_metric),
            "window_size": int(get("window_size", cls.window_size)),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def is_drift(score: float | None, threshold: float) -> bool:
    """The one threshold rule: drift iff ``score > threshold``; equal is not drift; no score is not drift."""
    return score is not None and not math.isnan(score) and score > threshold


# ----------------------------------------------------------------------------------------------
# Scores


def psi_from_shares(base: Sequence[float], cur: Sequence[float], eps: float = PSI_EPS) -> float:
    """PSI of two aligned share vectors (each summing to about 1)."""
    b = np.maximum(np.asarray(base, dtype=float), eps)
    c = np.maximum(np.asarray(cur, dtype=float), eps)
    return float(np.sum((c - b) * np.log(c / b)))


def quantile_edges(baseline: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges at the baseline's quantiles (unique, so ties do not make empty bins)."""
    qs = np.linspace(0, 1, bins + 1)[1:-1]
    return np.unique(np.quantile(baseline, qs, method="lower"))


def bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of values per bin ``(-inf, e0), [e0, e1), ..., [e_last, inf)``."""
    idx = np.searchsorted(edges, values, side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(float)
    return counts / counts.sum() if counts.sum() else counts


def category_shares(base: Sequence[str], cur: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Categories (union, sorted) and the share of each in both samples."""
    b = pd.Series(base, dtype=object).value_counts()
    c = pd.Series(cur, dtype=object).value_counts()
    cats = sorted(set(b.index) | set(c.index), key=str)
    bs = np.array([b.get(k, 0) for k in cats], dtype=float)
    cs = np.array([c.get(k, 0) for k in cats], dtype=float)
    return cats, bs / max(bs.sum(), 1), cs / max(cs.sum(), 1)


def js_distance(base: Sequence[float], cur: Sequence[float]) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) of two aligned share vectors."""
    from scipy.spatial.distance import jensenshannon

    value = float(jensenshannon(np.asarray(base, float), np.asarray(cur, float), base=2))
    return 0.0 if math.isnan(value) else min(max(value, 0.0), 1.0)


def ks_statistic(base: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic D and its p-value."""
    from scipy.stats import ks_2samp

    res = ks_2samp(base, cur)
    return float(res.statistic), float(res.pvalue)


# ----------------------------------------------------------------------------------------------
# Report


@dataclass
class FeatureDrift:
    """Drift of one feature (or of the predictions).

    Attributes:
        name: Column name (``predicted_class`` for the predictions).
        kind: ``numeric``, ``categorical`` or ``prediction``.
        metric: ``psi``, ``ks`` or ``js``.
        score: The metric's value, or None when one side has no values.
        threshold: The threshold it was compared with.
        drifted: ``score > threshold``.
        status: ``ok``, ``drift`` or ``no_data``.
        baseline_count / current_count: Non-missing values compared.
        baseline_missing / current_missing: Missing (or non-numeric) values left out.
        p_value: KS p-value (``ks`` only).
        histogram: ``{"bins": [labels], "baseline": [shares], "current": [shares]}`` for plots.
        baseline_mean / current_mean: Means of numeric features.
    """

    name: str
    kind: str
    metric: str
    score: float | None
    threshold: float
    drifted: bool
    status: str
    baseline_count: int
    current_count: int
    baseline_missing: int = 0
    current_missing: int = 0
    p_value: float | None = None
    histogram: dict[str, list] = field(default_factory=dict)
    baseline_mean: float | None = None
    current_mean: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass
class DriftReport:
    """Per-feature drift of one current window against the baseline."""

    features: list[FeatureDrift]
    settings: DriftSettings
    baseline_rows: int
    current_rows: int
    baseline_uri: str = ""
    current_uri: str = ""
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    @property
    def drifted(self) -> bool:
        return any(f.drifted for f in self.features)

    @property
    def drifted_features(self) -> list[str]:
        return [f.name for f in self.features if f.drifted]

    @property
    def max_score(self) -> float:
        return max((f.score for f in self.features if f.score is not None), default=0.0)

    @property
    def scores(self) -> dict[str, float | None]:
        return {f.name: f.score for f in self.features}

    def feature(self, name: str) -> FeatureDrift:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(
            {
                "drifted": self.drifted,
                "drifted_features": self.drifted_features,
                "max_score": self.max_score,
                "threshold": self.settings.threshold,
                "rule": "a feature drifts iff score > threshold (equal is not drift)",
                "settings": asdict(self.settings),
                "baseline_rows": self.baseline_rows,
                "current_rows": self.current_rows,
                "baseline_uri": self.baseline_uri,
                "current_uri": self.current_uri,
                "created_at": self.created_at,
                "features": [f.to_dict() for f in self.features],
            }
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False)

    def summary_lines(self) -> list[str]:
        """A plain-text table, one feature per line, drifted first."""
        lines = [f"{'feature':<22} {'kind':<12} {'metric':<6} {'score':>9}  status"]
        for f in sorted(self.features, key=lambda x: (not x.drifted, -(x.score or 0.0))):
            score = "-" if f.score is None else f"{f.score:9.4f}"
            lines.append(f"{f.name:<22} {f.kind:<12} {f.metric:<6} {score:>9}  {f.status}")
        return lines

    def to_html(self, plots: bool = True, model_name: str = "") -> str:
        """A self-contained HTML page: verdict, a table and one plot (PNG, embedded) per feature."""
        return render_html(self, plots=plots, model_name=model_name)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# ----------------------------------------------------------------------------------------------
# Computing a report


def _numeric(values: pd.Series) -> tuple[np.ndarray, int]:
    num = pd.to_numeric(values, errors="coerce").astype(float)
    arr = num.to_numpy()
    ok = np.isfinite(arr)
    return arr[ok], int((~ok).sum())


def _categorical(values: pd.Series) -> tuple[list[str], int]:
    mask = values.isna()
    return [str(v) for v in values[~mask]], int(mask.sum())


def numeric_drift(name: str, base: pd.Series, cur: pd.Series, settings: DriftSettings) -> FeatureDrift:
    """Drift of one numeric column with ``settings.numeric_metric``."""
    b, b_missing = _numeric(base)
    c, c_missing = _numeric(cur)
    metric = settings.numeric_metric
    common = dict(
        name=name, kind="numeric", metric=metric, threshold=settings.threshold,
        baseline_count=len(b), current_count=len(c), baseline_missing=b_missing, current_missing=c_missing,
    )
    if not len(b) or not len(c):
        return FeatureDrift(score=None, drifted=False, status="no_data", **common)
    edges = quantile_edges(b, settings.bins_for(len(b), len(c)))
    b_sh, c_sh = bin_shares(b, edges), bin_shares(c, edges)
    labels = [f"< {edges[0]:.4g}"] + [f"[{lo:.4g}, {hi:.4g})" for lo, hi in zip(edges[:-1], edges[1:])] + [
        f">= {edges[-1]:.4g}"
    ] if len(edges) else ["all"]
    p_value = None
    if metric == "psi":
        score = psi_from_shares(b_sh, c_sh)
    else:
        score, p_value = ks_statistic(b, c)
    drifted = is_drift(score, settings.threshold)
    return FeatureDrift(
        score=score, drifted=drifted, status="drift" if drifted else "ok", p_value=p_value,
        histogram={"bins": labels, "baseline": b_sh.tolist(), "current": c_sh.tolist()},
        baseline_mean=float(b.mean()), current_mean=float(c.mean()), **common,
    )


def categorical_drift(
    name: str, base: pd.Series, cur: pd.Series, settings: DriftSettings, kind: str = "categorical"
) -> FeatureDrift:
    """Drift of one categorical column with ``settings.categorical_metric``."""
    b, b_missing = _categorical(base)
    c, c_missing = _categorical(cur)
    metric = settings.categorical_metric
    common = dict(
        name=name, kind=kind, metric=metric, threshold=settings.threshold,
        baseline_count=len(b), current_count=len(c), baseline_missing=b_missing, current_missing=c_missing,
    )
    if not b or not c:
        return FeatureDrift(score=None, drifted=False, status="no_data", **common)
    cats, b_sh, c_sh = category_shares(b, c)
    score = psi_from_shares(b_sh, c_sh) if metric == "psi" else js_distance(b_sh, c_sh)
    drifted = is_drift(score, settings.threshold)
    return FeatureDrift(
        score=score, drifted=drifted, status="drift" if drifted else "ok",
        histogram={"bins": cats, "baseline": b_sh.tolist(), "current": c_sh.tolist()}, **common,
    )


def select_window(current: pd.DataFrame, window_size: int, time_column: str = TIME_COLUMN) -> pd.DataFrame:
    """The newest ``window_size`` rows (by ``time_column`` when present, else row order); 0 = all."""
    if time_column in current.columns:
        current = current.sort_values(time_column, kind="stable")
    if window_size and len(current) > window_size:
        current = current.tail(window_size)
    return current


def compute_drift(
    baseline: pd.DataFrame,
    current: pd.DataFrame,
    features: Mapping[str, str] | Iterable[Any],
    settings: DriftSettings = DriftSettings(),
    label: str | None = None,
    prediction_column: str = PREDICTION_COLUMN,
    baseline_uri: str = "",
    current_uri: str = "",
) -> DriftReport:
    """Scores every configured feature of the newest window of ``current`` against ``baseline``.

    Args:
        baseline: The training data (or a sample of it).
        current: New data or logged serving inputs (one row per instance); only its newest
            ``settings.window_size`` rows are compared.
        features: ``{name: "float"|"int"|"categorical"}``, or config ``Feature`` objects.
        settings: Metrics, threshold, window, bins.
        label: The label column of the baseline; with ``prediction_column`` in ``current`` the
            predicted-class distribution is compared with the label distribution.
        prediction_column: Column of ``current`` holding predicted classes.
        baseline_uri, current_uri: Recorded in the report.

    Raises:
        MissingColumnsError: A configured feature is missing from either table.
    """
    types = _feature_types(features)
    # The new data first: a column it lacks is the data gate's finding, whatever the baseline holds.
    for side, frame, uri in (("current", current, current_uri), ("baseline", baseline, baseline_uri)):
        missing = [name for name in types if name not in frame.columns]
        if missing:
            where = f"{side} data ({uri})" if uri else f"{side} data"
            raise MissingColumnsError(
                f"{where} has no column {missing[0]!r} (configured features missing: {', '.join(missing)}; "
                f"columns present: {', '.join(map(str, frame.columns))})",
                side, missing,
            )
    window = select_window(current, settings.window_size)
    out = []
    for name, ftype in types.items():
        if ftype in NUMERIC_TYPES:
            out.append(numeric_drift(name, baseline[name], window[name], settings))
        elif ftype == "categorical":
            out.append(categorical_drift(name, baseline[name], window[name], settings))
        else:
            raise DriftInputError(f"feature {name!r}: unknown type {ftype!r} (float, int or categorical)")
    if label and label in baseline.columns and prediction_column in window.columns:
        out.append(categorical_drift(prediction_column, baseline[label], window[prediction_column], settings, "prediction"))
    return DriftReport(
        features=out, settings=settings, baseline_rows=len(baseline), current_rows=len(window),
        baseline_uri=baseline_uri, current_uri=current_uri,
    )


def _feature_types(features: Mapping[str, str] | Iterable[Any]) -> dict[str, str]:
    if isinstance(features, Mapping):
        return dict(features)
    out = {}
    for f in features:
        if isinstance(f, Mapping):
            out[f["name"]] = f["type"]
        else:
            out[f.name] = f.type
    return out


# ----------------------------------------------------------------------------------------------
# Prediction logs → table


def flatten_prediction_records(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows of the serving prediction log (``serving/prediction_log.py``) as a flat table.

    Each record ``{"timestamp", "model", "version", "inputs": {...}, "outputs": {...}}`` becomes
    one row: the input features as columns, plus ``predicted_class``, ``model_version`` and
    ``timestamp``. Records without ``inputs`` are taken as already flat rows.
    """
    rows = []
    for rec in records:
        if isinstance(rec.get("inputs"), Mapping):
            row = dict(rec["inputs"])
            outputs = rec.get("outputs") or {}
            if isinstance(outputs, Mapping) and PREDICTION_COLUMN in outputs:
                row[PREDICTION_COLUMN] = outputs[PREDICTION_COLUMN]
            if "version" in rec:
                row["model_version"] = rec["version"]
            if TIME_COLUMN in rec:
                row[TIME_COLUMN] = rec[TIME_COLUMN]
            rows.append(row)
        else:
            rows.append(dict(rec))
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------------
# HTML


def _plot_png(f: FeatureDrift) -> str | None:
    """One bar chart (baseline vs current shares per bin) as base64 PNG; None without matplotlib."""
    if not f.histogram.get("bins"):
        return None
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    bins = [str(b) for b in f.histogram["bins"]]
    x = np.arange(len(bins))
    fig, ax = plt.subplots(figsize=(6.4, 2.8), dpi=80)
    try:
        ax.bar(x - 0.2, f.histogram["baseline"], width=0.4, label="baseline", color="#4c72b0")
        ax.bar(x + 0.2, f.histogram["current"], width=0.4, label="current", color="#dd8452")
        ax.set_xticks(x)
        ax.set_xticklabels(bins, rotation=30 if len(bins) > 4 else 0, ha="right" if len(bins) > 4 else "center", fontsize=7)
        ax.set_ylabel("share")
        score = "no data" if f.score is None else f"{f.metric} = {f.score:.4f}"
        ax.set_title(f"{f.name}: {score} (threshold {f.threshold:g})", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def render_html(report: DriftReport, plots: bool = True, model_name: str = "") -> str:
    """The drift page: verdict, settings, one row per feature (drifted first), one plot per feature.

    Args:
        report: The drift report.
        plots: Embed a histogram (PNG) per feature; needs matplotlib, else the page says so.
        model_name: Shown in the header when given.
    """
    features = sorted(report.features, key=lambda x: (not x.drifted, -(x.score or 0.0)))
    pngs = [(f.name, png) for f in features for png in [_plot_png(f)] if png] if plots else []
    n = len(report.drifted_features)
    return report_html.render(
        "drift.html.j2",
        kind="drift",
        title="Drift report",
        subject=model_name,
        verdict=f"Drift detected in {n} feature(s)" if report.drifted else "No drift",
        verdict_class="bad" if report.drifted else "ok",
        report=report,
        features=features,
        # None: plots were not asked for; []: asked for, but matplotlib is missing.
        plots=pngs if plots else None,
    )


def render_not_checked_html(reason: str) -> str:
    """The drift page when nothing was compared (no serving model yet, no baseline data): why."""
    return report_html.render(
        "drift_not_checked.html.j2",
        kind="drift",
        title="Drift check: nothing to compare",
        verdict="Not checked",
        verdict_class="warn",
        reason=reason,
    )
