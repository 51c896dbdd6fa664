"""Minimal drift scores for the monitoring DAG: Population Stability Index per column.

TODO(drift): switch to ``components/drift/`` once it exists (it is being written separately and
will implement the config's ``numeric_metric``/``categorical_metric`` choices, e.g. JS
divergence for categoricals). Until then every column uses PSI:

* numeric: bins are the reference's quantiles (``bins`` of them), so each reference bin holds
  about the same share; values outside the reference range fall in the open-ended edge bins;
* categorical: one bin per category seen in either sample.

PSI = sum((cur - ref) * ln(cur / ref)) over bins, with shares floored at ``eps`` so an empty
bin does not give infinity. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major shift.
Missing values are ignored (the validation step is where they are judged).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    kind: str  # numeric | categorical
    metric: str
    score: float


def psi_from_shares(ref: Sequence[float], cur: Sequence[float], eps: float = 1e-4) -> float:
    """PSI of two aligned share vectors (each summing to about 1)."""
    total = 0.0
    for r, c in zip(ref, cur):
        r, c = max(r, eps), max(c, eps)
        total += (c - r) * math.log(c / r)
    return float(total)


def numeric_psi(reference: Iterable[float], current: Iterable[float], bins: int = 10) -> float:
    """PSI of a numeric column, with bins at the reference's quantiles."""
    ref = sorted(float(v) for v in reference if _is_num(v))
    cur = [float(v) for v in current if _is_num(v)]
    if not ref or not cur:
        return 0.0
    edges = sorted({ref[min(len(ref) - 1, int(len(ref) * q / bins))] for q in range(1, bins)})
    ref_shares = _shares((_bin(v, edges) for v in ref), len(edges) + 1)
    cur_shares = _shares((_bin(v, edges) for v in cur), len(edges) + 1)
    return psi_from_shares(ref_shares, cur_shares)


def categorical_psi(reference: Iterable[Any], current: Iterable[Any]) -> float:
    """PSI of a categorical column over the union of categories."""
    ref = [str(v) for v in reference if not _missing(v)]
    cur = [str(v) for v in current if not _missing(v)]
    if not ref or not cur:
        return 0.0
    cats = sorted(set(ref) | set(cur))
    index = {c: i for i, c in enumerate(cats)}
    return psi_from_shares(_shares((index[v] for v in ref), len(cats)), _shares((index[v] for v in cur), len(cats)))


def drift_scores(
    reference: Mapping[str, Sequence[Any]], current: Mapping[str, Sequence[Any]], feature_types: Mapping[str, str]
) -> list[ColumnDrift]:
    """One PSI score per configured column present in both samples, highest first."""
    out = []
    for col, ftype in feature_types.items():
        if col not in reference or col not in current:
            continue
        if ftype in ("float", "int"):
            out.append(ColumnDrift(col, "numeric", "psi", numeric_psi(reference[col], current[col])))
        else:
            out.append(ColumnDrift(col, "categorical", "psi", categorical_psi(reference[col], current[col])))
    return sorted(out, key=lambda d: d.score, reverse=True)


def _bin(v: float, edges: list[float]) -> int:
    lo, hi = 0, len(edges)
    while lo < hi:  # bisect_right
        mid = (lo + hi) // 2
        if v < edges[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _shares(indices: Iterable[int], n: int) -> list[float]:
    counts = [0] * n
    total = 0
    for i in indices:
        counts[i] += 1
        total += 1
    return [c / total for c in counts] if total else [0.0] * n


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _is_num(v: Any) -> bool:
    if isinstance(v, bool) or _missing(v):
        return False
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True
