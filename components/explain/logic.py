"""SHAP attributions for a classifier over RAW features, as JSON, a PNG and an HTML page.

Method: ``shap.KernelExplainer`` on the exported model's ``serving_default`` signature.

Why KernelExplainer and not GradientExplainer / DeepExplainer / TF integrated gradients: the
exported signature takes raw features, including strings, and runs the TFT transform inside
(vocabulary lookups, z-scores). A string input and a vocabulary lookup have no gradient, so any
gradient method would have to explain the inner Keras model over *transformed* features
(``island_xf`` indices, z-scores, embeddings) — attributions a person cannot map back to the
columns they know. KernelExplainer is model-agnostic: it only calls the model, so it explains
exactly what a client calls, on raw columns. Its cost is ``2**M`` coalitions per example for
``M`` features (exhaustive below ~11 features, sampled above) times the background size, all in
one batched model call per example — small for tabular models (a second or two for 40 penguins
examples).

Categorical columns are handed to SHAP as integer codes (categories seen in the background and
the sample); the prediction function turns codes back into strings before calling the model.
KernelExplainer only ever substitutes values taken from background rows, so every code it
passes is a real category.

Conventions:
  * Attributions are in probability units: ``phi[n, f, c]`` is feature ``f``'s contribution to
    the probability of class ``c`` for example ``n`` relative to the background's mean
    prediction (``base_values[c]``); for each example and class they sum to
    ``p(c | x) - base_values[c]``.
  * Global importance of a feature: the mean of ``|phi|`` over the examples and the classes
    (``per_class_importance`` keeps the classes apart).
  * Per-example attributions are those of the example's predicted class.

Nothing here imports TensorFlow: the model is any ``predict_proba(DataFrame) -> [N, C]``.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from components.common import gfile_io
from components.common import html as report_html

PredictProba = Callable[[pd.DataFrame], np.ndarray]
METHOD = "shap.KernelExplainer on serving_default (raw features)"
BACKGROUND_JSON = "background.json"  # shipped with the pushed version: the server's :explain reads it
LIME_ROWS = 200  # train rows shipped for LIME's feature statistics at serving time


@dataclass
class Explanation:
    """Plain-data attributions.

    Attributes:
        feature_names: Explained columns, in matrix order.
        class_names: Model output classes (columns of ``probabilities``).
        global_importance: Feature -> mean |phi| over examples and classes.
        per_class_importance: Class -> feature -> mean |phi| over examples.
        base_values: Class -> mean predicted probability on the background.
        examples: Per explained example: ``features`` (raw values), ``predicted_class``,
            ``probability``, ``attributions`` (feature -> phi for the predicted class).
        method: How they were computed.
        background_size: Rows in the background set.
        nsamples: Model evaluations per example requested from KernelExplainer.
        dropped_rows: Rows skipped because a feature was missing.
    """

    feature_names: list[str]
    class_names: list[str]
    global_importance: dict[str, float]
    per_class_importance: dict[str, dict[str, float]]
    base_values: dict[str, float]
    examples: list[dict[str, Any]] = field(default_factory=list)
    method: str = METHOD
    background_size: int = 0
    nsamples: int | str = "auto"
    dropped_rows: int = 0

    def ranking(self) -> list[tuple[str, float]]:
        """(feature, importance), most important first."""
        return sorted(self.global_importance.items(), key=lambda kv: -kv[1])

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ranking"] = [name for name, _ in self.ranking()]
        return data


class FrameCodec:
    """Maps a mixed DataFrame to a float matrix and back (categoricals as integer codes)."""

    def __init__(self, frames: Sequence[pd.DataFrame], feature_names: Sequence[str], categorical: Sequence[str] | None = None):
        self.feature_names = list(feature_names)
        if categorical is None:
            categorical = [c for c in self.feature_names if not all(pd.api.types.is_numeric_dtype(f[c]) for f in frames)]
        self.categorical = [c for c in self.feature_names if c in set(categorical)]
        self.categories: dict[str, list[Any]] = {}
        for col in self.categorical:
            seen: dict[Any, None] = {}
            for frame in frames:
                for v in frame[col]:
                    seen.setdefault(v, None)
            self.categories[col] = list(seen)
        self._dtypes = {c: frames[0][c].dtype for c in self.feature_names}

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        cols = []
        for col in self.feature_names:
            if col in self.categories:
                index = {v: i for i, v in enumerate(self.categories[col])}
                cols.append(np.array([index[v] for v in df[col]], dtype=np.float64))
            else:
                cols.append(df[col].to_numpy(dtype=np.float64))
        return np.stack(cols, axis=1) if cols else np.zeros((len(df), 0))

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        data = {}
        for j, col in enumerate(self.feature_names):
            if col in self.categories:
                values = self.categories[col]
                data[col] = [values[int(round(v))] for v in matrix[:, j]]
            else:
                data[col] = matrix[:, j].astype(self._dtypes[col])
        return pd.DataFrame(data)


def _as_3d(shap_values: Any, n: int, m: int) -> np.ndarray:
    """SHAP's output as [N, M, C] whatever the shap version returned."""
    if isinstance(shap_values, list):  # shap < 0.45: one [N, M] array per output
        return np.stack([np.asarray(v) for v in shap_values], axis=-1)
    arr = np.asarray(shap_values)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[:2] != (n, m):
        raise ValueError(f"unexpected SHAP output shape {arr.shape} for {n} examples x {m} features")
    return arr


def explain(
    predict_proba: PredictProba,
    background: pd.DataFrame,
    sample: pd.DataFrame,
    feature_names: Sequence[str],
    class_names: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    nsamples: int | str = "auto",
    seed: int = 0,
) -> Explanation:
    """KernelSHAP attributions of ``predict_proba`` for every row of ``sample``.

    Args:
        predict_proba: Raw-feature DataFrame -> class probabilities [N, C].
        background: Reference rows (typically a small sample of the train split); the
            attributions explain the difference from the mean prediction on these rows.
        sample: Rows to explain (typically an eval sample).
        feature_names: Columns to attribute (every model input).
        class_names: Names of the probability columns; ``class_0``... when not given.
        categorical: Non-numeric columns; inferred from the dtypes when None.
        nsamples: Model evaluations per example (``"auto"``: exhaustive for small M).
        seed: For KernelExplainer's coalition sampling (only used above ~11 features).
    """
    import shap

    if len(sample) == 0 or len(background) == 0:
        raise ValueError("explain needs at least one background row and one sample row")
    codec = FrameCodec([background, sample], feature_names, categorical)

    def f(matrix: np.ndarray) -> np.ndarray:
        return np.asarray(predict_proba(codec.decode(matrix)), dtype=np.float64)

    bg = codec.encode(background)
    xs = codec.encode(sample)
    np.random.seed(seed)  # KernelExplainer samples coalitions with numpy's global RNG
    explainer = shap.KernelExplainer(f, bg, keep_index=False)
    raw = explainer.shap_values(xs, nsamples=nsamples, silent=True)
    phi = _as_3d(raw, len(sample), len(codec.feature_names))
    n_classes = phi.shape[2]
    names = list(class_names) if class_names else [f"class_{i}" for i in range(n_classes)]
    if len(names) != n_classes:
        raise ValueError(f"{len(names)} class names for {n_classes} model outputs")
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    proba = f(xs)
    predicted = proba.argmax(axis=1)
    feats = codec.feature_names
    global_imp = {name: float(np.abs(phi[:, j, :]).mean()) for j, name in enumerate(feats)}
    per_class = {
        cls: {name: float(np.abs(phi[:, j, c]).mean()) for j, name in enumerate(feats)} for c, cls in enumerate(names)
    }
    examples = []
    for i in range(len(sample)):
        c = int(predicted[i])
        examples.append(
            {
                "features": {k: _plain(sample.iloc[i][k]) for k in feats},
                "predicted_class": names[c],
                "probability": float(proba[i, c]),
                "attributions": {name: float(phi[i, j, c]) for j, name in enumerate(feats)},
            }
        )
    return Explanation(
        feature_names=feats,
        class_names=names,
        global_importance=global_imp,
        per_class_importance=per_class,
        base_values={cls: float(base[c]) if c < len(base) else float("nan") for c, cls in enumerate(names)},
        examples=examples,
        background_size=len(background),
        nsamples=nsamples,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def importance_png(expl: Explanation) -> bytes:
    """Left: global importance stacked by class. Right: per-example attributions (predicted class)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = [name for name, _ in expl.ranking()][::-1]  # most important on top
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 0.5 * len(order) + 2))
    left = np.zeros(len(order))
    n_classes = max(len(expl.class_names), 1)
    for cls in expl.class_names:
        widths = np.array([expl.per_class_importance[cls][f] / n_classes for f in order])
        ax1.barh(order, widths, left=left, label=cls)
        left += widths
    ax1.set_xlabel("mean |SHAP value| (probability), averaged over classes")
    ax1.set_title("Global importance")
    if len(expl.class_names) > 1:
        ax1.legend(fontsize="small", loc="lower right")
    rng = np.random.default_rng(0)
    for y, feat in enumerate(order):
        vals = np.array([ex["attributions"][feat] for ex in expl.examples])
        ax2.scatter(vals, y + rng.uniform(-0.2, 0.2, len(vals)), s=12, alpha=0.7)
    ax2.axvline(0, color="#888", lw=0.8)
    ax2.set_yticks(range(len(order)), order)
    ax2.set_xlabel("SHAP value for the predicted class")
    ax2.set_title(f"Per-example attributions ({len(expl.examples)} examples)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def render_html(expl: Explanation, model_name: str, png: bytes | None = None, max_rows: int = 50,
                others: Mapping[str, Explanation] | None = None, agreement: Mapping[str, Any] | None = None,
                primary: str = "shap") -> str:
    """The explain page: method, global importance table and plot, per-example attributions; with
    ``others`` (LIME), both methods' importance and top features side by side and their agreement."""
    ranking = expl.ranking()
    others = dict(others or {})
    return report_html.render(
        "explain.html.j2",
        kind="explanations",
        title="Explanations",
        subject=model_name,
        expl=expl,
        ranking=ranking,
        total=sum(expl.global_importance.values()) or 1.0,
        features=[name for name, _ in ranking],
        examples=expl.examples[:max_rows],
        png=png if png is not None else importance_png(expl),
        others=others,
        agreement=agreement,
        primary_name=primary.upper(),
        comparison_rows=list(zip(range(max_rows), (agreement or {}).get("per_example", []))),
    )


def write_outputs(expl: Explanation, out_dir: str, model_name: str = "model",
                  others: Mapping[str, Explanation] | None = None, agreement: Mapping[str, Any] | None = None,
                  primary: str = "shap") -> dict[str, str]:
    """Writes ``attributions.json``, ``importance.png`` and ``index.html`` into ``out_dir``
    (local or gs://, created if missing).

    ``attributions.json`` is the ``primary`` method's explanation at the top level (what the
    pusher's manifest and the model card read), plus, with ``others``, ``methods``,
    ``by_method`` (every method's explanation) and ``agreement``."""
    png = importance_png(expl)
    paths = {
        "json": gfile_io.join(out_dir, "attributions.json"),
        "png": gfile_io.join(out_dir, "importance.png"),
        "html": gfile_io.join(out_dir, "index.html"),
    }
    data = {**expl.to_dict(), "methods": [primary, *(others or {})]}
    if others:
        data["by_method"] = {name: e.to_dict() for name, e in others.items()}
        data["agreement"] = dict(agreement or {})
    gfile_io.write_json(paths["json"], data, default=str)
    gfile_io.write_bytes(paths["png"], png)
    gfile_io.write_text(paths["html"], render_html(expl, model_name, png, others=others, agreement=agreement, primary=primary))
    return paths


def write_background(out_dir: str, background: pd.DataFrame, lime_rows: pd.DataFrame, feature_names: Sequence[str],
                     class_names: Sequence[str], seed: int) -> str:
    """``background.json``: the rows an explanation of one more example needs (the server's
    ``:explain``): SHAP's background, LIME's training rows, the features, classes and seed."""
    def records(df: pd.DataFrame) -> list[dict[str, Any]]:
        return [{k: _plain(v) for k, v in row.items()} for row in df[list(feature_names)].to_dict("records")]

    path = gfile_io.join(out_dir, BACKGROUND_JSON)
    gfile_io.write_json(path, {"feature_names": list(feature_names), "class_names": list(class_names), "seed": seed,
                               "shap_background": records(background), "lime_rows": records(lime_rows)}, default=str)
    return path


def read_background(data: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The SHAP background and LIME rows of a ``background.json`` (as parsed JSON)."""
    cols = list(data["feature_names"])
    return pd.DataFrame(data["shap_background"], columns=cols), pd.DataFrame(data["lime_rows"], columns=cols)
