"""LIME attributions beside SHAP, over the same RAW features, and how much the two agree.

Method: ``lime.lime_tabular.LimeTabularExplainer`` (the ``lime`` package, 0.2.0.1) on the same
``predict_proba(DataFrame)`` the SHAP path calls (the exported ``serving_default``), so both
explain exactly what a client calls. Categorical columns are LIME categoricals (integer codes
from ``logic.FrameCodec``; LIME perturbs them by drawing categories with their training
frequencies), numeric columns are discretized into training quartiles (LIME's default), so a
weight reads "being in this quartile moves the probability by w".

What the numbers are, to put them beside SHAP's:
  * Per example, LIME fits a weighted linear model around the example, for its predicted class
    (regression: the predicted value); a feature's attribution is that model's weight for the
    feature's condition the example satisfies (``as_map``), in probability (or label) units.
  * Global importance: mean |weight| over the explained examples.
  * ``base_values``: the local model's intercept, averaged over the examples.

LIME samples a neighbourhood, so it is noisy where SHAP's KernelExplainer is exact for few
features: disagreement between them is itself a warning (an unstable explanation, or a model
whose behaviour is not locally linear). :func:`agreement` measures it per example as the
Spearman rank correlation of |attribution| over the features, and the overlap of their top
features.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from components.explain.logic import Explanation, FrameCodec, PredictProba, _plain

METHOD = "lime.LimeTabularExplainer on serving_default (raw features, quartile-discretized numerics)"
TOP_K = 3  # the top features compared per example


def explain(
    predict_proba: PredictProba,
    training: pd.DataFrame,
    sample: pd.DataFrame,
    feature_names: Sequence[str],
    class_names: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    num_samples: int = 2000,
    seed: int = 0,
    regression: bool = False,
) -> Explanation:
    """LIME attributions of ``predict_proba`` for every row of ``sample``.

    Args:
        predict_proba: Raw-feature DataFrame -> class probabilities [N, C] (regression: [N, 1]).
        training: Rows LIME takes its feature statistics from (quartiles, category frequencies):
            a sample of the train split.
        sample: Rows to explain.
        feature_names: Columns to attribute.
        class_names: Names of the probability columns.
        categorical: Non-numeric columns; inferred from the dtypes when None.
        num_samples: Perturbed rows per example (one batched model call each).
        seed: LIME's random state: the same seed gives the same attributions.
        regression: Explain the single output as a number (LIME's ``regression`` mode).
    """
    from lime.lime_tabular import LimeTabularExplainer

    if len(sample) == 0 or len(training) == 0:
        raise ValueError("LIME needs at least one training row and one sample row")
    codec = FrameCodec([training, sample], feature_names, categorical)
    feats = codec.feature_names
    cat_idx = [feats.index(c) for c in codec.categorical]

    def f(matrix: np.ndarray) -> np.ndarray:
        out = np.asarray(predict_proba(codec.decode(matrix)), dtype=np.float64)
        return out[:, 0] if regression else out

    xs = codec.encode(sample)
    proba = np.asarray(predict_proba(sample), dtype=np.float64)
    names = list(class_names) if class_names else [f"class_{i}" for i in range(proba.shape[1])]
    explainer = LimeTabularExplainer(
        codec.encode(training),
        mode="regression" if regression else "classification",
        feature_names=feats,
        class_names=None if regression else names,
        categorical_features=cat_idx,
        categorical_names={i: [str(v) for v in codec.categories[feats[i]]] for i in cat_idx},
        discretize_continuous=True,
        random_state=seed,
    )
    examples, intercepts = [], []
    per_class: dict[str, list[np.ndarray]] = {c: [] for c in names}
    for i in range(len(sample)):
        c = 0 if regression else int(proba[i].argmax())
        exp = explainer.explain_instance(xs[i], f, labels=(c,), num_features=len(feats), num_samples=num_samples)
        weights = np.zeros(len(feats))
        for j, w in exp.as_map()[1 if regression else c]:
            weights[j] = w
        per_class[names[c]].append(np.abs(weights))
        intercepts.append(float(exp.intercept[1 if regression else c]))
        examples.append({
            "features": {k: _plain(sample.iloc[i][k]) for k in feats},
            "predicted_class": names[c],
            "probability": float(proba[i, c]),
            "attributions": {name: float(weights[j]) for j, name in enumerate(feats)},
            "local_r2": float(exp.score),
        })
    all_abs = np.array([[abs(ex["attributions"][n]) for n in feats] for ex in examples])
    return Explanation(
        feature_names=feats,
        class_names=names,
        global_importance={n: float(all_abs[:, j].mean()) for j, n in enumerate(feats)},
        per_class_importance={
            c: {n: float(np.mean([a[j] for a in rows])) if rows else 0.0 for j, n in enumerate(feats)}
            for c, rows in per_class.items()
        },
        base_values={"intercept": float(np.mean(intercepts))},
        examples=examples,
        method=METHOD,
        background_size=len(training),
        nsamples=num_samples,
    )


def _spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman rank correlation, or None when either side is constant (no ranking to compare)."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(spearmanr(a, b).statistic)


def _top(attributions: Mapping[str, float], k: int) -> list[str]:
    return [n for n, _ in sorted(attributions.items(), key=lambda kv: -abs(kv[1]))[:k]]


def agreement(shap: Explanation, lime: Explanation, top_k: int = TOP_K) -> dict[str, Any]:
    """How much SHAP and LIME agree, example by example and globally.

    Returns:
        ``per_example``: for each example, both methods' top ``top_k`` features, the Spearman
        correlation of |attribution| over all features and the share of top features in common;
        ``mean_spearman`` / ``mean_top_overlap`` over the examples; ``global_spearman`` of the
        two global importance rankings; ``top_k``.
    """
    feats = shap.feature_names
    rows = []
    for s_ex, l_ex in zip(shap.examples, lime.examples):
        s, l = s_ex["attributions"], l_ex["attributions"]
        s_top, l_top = _top(s, top_k), _top(l, top_k)
        rows.append({
            "shap_top": s_top,
            "lime_top": l_top,
            "spearman": _spearman([abs(s[n]) for n in feats], [abs(l[n]) for n in feats]),
            "top_overlap": len(set(s_top) & set(l_top)) / max(len(s_top), 1),
        })
    rhos = [r["spearman"] for r in rows if r["spearman"] is not None]
    return {
        "per_example": rows,
        "mean_spearman": float(np.mean(rhos)) if rhos else None,
        "mean_top_overlap": float(np.mean([r["top_overlap"] for r in rows])) if rows else None,
        "global_spearman": _spearman([shap.global_importance[n] for n in feats],
                                     [lime.global_importance[n] for n in feats]),
        "top_k": top_k,
    }
