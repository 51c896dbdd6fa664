"""A model card per pushed version: ``model_card.json`` for machines, ``index.html`` for people.

The card documents one pushed version for the people who sign it off (Mitchell et al., 2019,
"Model Cards for Model Reporting"). Everything in it is what the run already knows: the push
manifest (version, metrics per slice, data and model fingerprints, code version), the config
(task, label, features, thresholds, owner, intended use) and the explain / fairness / compress
outputs shipped beside the model.

Field layout: Google's Model Card Toolkit (MCT) schema 0.0.2 (``model_details``,
``model_parameters``, ``quantitative_analysis``, ``considerations``). The toolkit itself does not
install in the project image: ``model-card-toolkit`` 2.0.0, its last release, requires
``absl-py<1.1``, ``jsonschema<4`` and ``tensorflow-model-analysis<0.42`` (the image has TFX 1.21's
TFMA 0.52), so pip finds no resolution. The JSON therefore follows its field names and nesting,
and what MCT has no field for (gates, compression, image, lineage) is under a top-level ``mlops``
key that MCT readers ignore.

Nothing here imports TensorFlow or TFX: the pusher calls :func:`build_card` and
:func:`render_html` with plain dicts and writes the files into the version being pushed.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from components.common import html as report_html

SCHEMA_VERSION = "0.0.2"  # MCT's model card schema version this layout follows
CARD_DIR = "model_card"  # the folder inside <destination>/<model>/<version>/
CARD_JSON = "model_card.json"
CARD_HTML = "index.html"
PLACEHOLDER_PREFIX = "TODO"  # what `mlops init` writes for a person to fill in


def _entries(texts: Sequence[str] | str | None) -> list[dict[str, str]]:
    """MCT keeps free text as lists of ``{"description": ...}``; blanks are left out."""
    if texts is None:
        return []
    if isinstance(texts, str):
        texts = [texts]
    return [{"description": t.strip()} for t in texts if t and t.strip()]


def _thresholds(settings: Mapping[str, Any]) -> dict[str, str]:
    """Metric -> the bound the Evaluator gated it on, in words (``>= 0.85``)."""
    out: dict[str, str] = {}
    for t in settings.get("thresholds") or []:
        parts = []
        if t.get("lower_bound") is not None:
            parts.append(f">= {t['lower_bound']}")
        if t.get("upper_bound") is not None:
            parts.append(f"<= {t['upper_bound']}")
        out[t["metric"]] = " and ".join(parts)
    return out


def _metric_rows(manifest: Mapping[str, Any], settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """MCT ``performance_metrics``: one entry per metric and slice ("" is the whole eval set),
    with the bound the Evaluator gated it on (accuracy bounds hold on every slice too)."""
    metrics = manifest.get("metrics") or {}
    bounds = _thresholds(settings)
    aliases = {"accuracy": "sparse_categorical_accuracy", "r2": "r2_score"}
    bound_of = {aliases.get(k, k): v for k, v in bounds.items()}
    rows = []
    for name, value in sorted((metrics.get("overall") or {}).items()):
        rows.append({"type": name, "value": _fmt(value), "slice": "", "threshold": bound_of.get(name, "")})
    for slice_name, values in sorted((metrics.get("slices") or {}).items()):
        for name, value in sorted(values.items()):
            rows.append({"type": name, "value": _fmt(value), "slice": slice_name,
                         "threshold": bound_of.get(name, "") if name in ("sparse_categorical_accuracy",) else ""})
    return rows


def _fmt(value: Any) -> str:
    """MCT stores metric values as strings; 4 decimals, integers as such."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(int(number)) if number.is_integer() else f"{number:.4f}"


def _fairness_section(fairness: Mapping[str, Any] | None, settings: Mapping[str, Any]) -> dict[str, Any] | None:
    """The gate's verdict, bounds, gaps and per-group numbers as the card shows them."""
    if not fairness:
        return None
    groups = []
    for col in fairness.get("columns") or []:
        for group, values in (col.get("groups") or {}).items():
            row = {"column": col.get("column"), "group": group, "count": values.get("count")}
            for key in ("accuracy", "mae", "mean_residual"):
                if values.get(key) is not None:
                    row[key] = values[key]
            groups.append(row)
    gaps = []
    for col in fairness.get("columns") or []:
        for key, value in col.items():
            if isinstance(value, Mapping) and "value" in value:
                gaps.append({"column": col.get("column"), "gap": key, "value": value.get("value"),
                             "class": value.get("cls"), "between": [value.get("high_group"), value.get("low_group")]})
    return {
        "passed": fairness.get("passed"),
        "reasons": list(fairness.get("reasons") or []),
        "thresholds": fairness.get("thresholds") or {},
        "sensitive_columns": list(settings.get("sensitive_columns") or []),
        "gaps": gaps,
        "groups": groups,
        "mitigation": settings.get("mitigation") or "none",
        # The gate's before/after comparison (components/fairness/logic.py mitigation_result).
        "mitigation_result": fairness.get("mitigation") if isinstance(fairness.get("mitigation"), Mapping) else None,
    }


def build_card(
    manifest: Mapping[str, Any],
    settings: Mapping[str, Any],
    *,
    data: Mapping[str, Any] | None = None,
    fairness: Mapping[str, Any] | None = None,
    explanation: Mapping[str, Any] | None = None,
    image: str = "",
) -> dict[str, Any]:
    """The card of one pushed version, in MCT's field layout.

    Args:
        manifest: The version's ``manifest.json`` (with ``version``, ``pushed_at``, ``metrics``).
        settings: The pipeline's card settings (``pipelines.pipeline.model_card_settings``):
            ``owner``, ``contact``, ``intended_use``, ``out_of_scope_use``, ``limitations``,
            ``description``, ``task``, ``label``, ``features``, ``thresholds``,
            ``change_threshold``, ``sensitive_columns``, ``mitigation``.
        data: Ingest's counts: ``rows_read``, ``rows_dropped``.
        fairness: The FairnessGate's ``result.json``, when the gate ran.
        explanation: The ModelExplanation's ``attributions.json``, when it ran.
        image: The container image the run used.

    Returns:
        A JSON-ready dict: MCT's four sections plus ``mlops`` (gates, lineage, compression).
    """
    name = str(manifest.get("model_name") or settings.get("model_name") or "model")
    version = str(manifest.get("version", ""))
    task = settings.get("task") or "classification"
    features = list(settings.get("features") or [])
    classes = list((manifest.get("metrics") or {}).get("classes") or [])
    owner = settings.get("owner") or ""
    contact = settings.get("contact") or ""
    card_fairness = _fairness_section(fairness, settings)
    expl = manifest.get("explanation") or {}
    top = list(expl.get("top_features") or (explanation or {}).get("ranking", [])[:5])
    limitations = _entries(settings.get("limitations"))
    if card_fairness and card_fairness["reasons"]:
        limitations += _entries([f"fairness: {r}" for r in card_fairness["reasons"]])
    ethical = []
    if card_fairness is not None:
        mitigation = card_fairness["mitigation"]
        ethical.append({
            "name": f"Performance may differ between groups of {', '.join(card_fairness['sensitive_columns']) or 'the sensitive columns'}",
            "mitigation_strategy": (f"fairness gate ({'passed' if card_fairness['passed'] else 'failed'}); "
                                    f"training mitigation: {mitigation}"),
        })
    data_rows = dict(data or {})
    dataset = {
        "name": "training data",
        "link": str(manifest.get("data_uri") or ""),
        "description": (f"{data_rows.get('rows_read', '?')} rows read, {data_rows.get('rows_dropped', 0)} dropped as "
                        f"incomplete; split by a hash of each row into train and eval"),
        "sensitive": {"sensitive_data": list(settings.get("sensitive_columns") or [])},
        "fingerprint": str(manifest.get("data_fingerprint") or ""),
    }
    if settings.get("date_range"):
        dataset["date_range"] = settings["date_range"]
    output_format = ("predicted_value (a number in the label's units)" if task == "regression"
                     else "probabilities per class, predicted_class, classes")
    return {
        "schema_version": SCHEMA_VERSION,
        "model_details": {
            "name": name,
            "overview": settings.get("description") or f"{task} model predicting {settings.get('label', 'the label')}",
            "owners": [{"name": owner, "contact": contact}],
            "version": {"name": version, "date": str(manifest.get("pushed_at") or ""),
                        "diff": str(manifest.get("model_fingerprint") or "")},
            "path": str(settings.get("path") or ""),
            "references": [],
            "licenses": [],
        },
        "model_parameters": {
            "model_architecture": settings.get("architecture") or "feed-forward network (tf_keras) over TFT-transformed features",
            "data": [dataset],
            "input_format": "JSON instances of raw features (TF Serving REST: {\"instances\": [{feature: value}]})",
            "input_format_map": [{"key": f["name"], "value": f"{f.get('type', '')}"
                                  + (" (may be missing: imputed)" if f.get("missing") == "impute" else "")}
                                 for f in features],
            "output_format": output_format,
            "output_format_map": [{"key": "classes", "value": ", ".join(classes)}] if classes else [],
        },
        "quantitative_analysis": {
            "performance_metrics": _metric_rows(manifest, settings),
            "graphics": {"description": "", "collection": []},
        },
        "considerations": {
            "users": _entries(settings.get("users")),
            "use_cases": _entries(settings.get("intended_use")),
            "out_of_scope_uses": _entries(settings.get("out_of_scope_use")),
            "limitations": limitations,
            "tradeoffs": _entries(_tradeoffs(card_fairness, manifest)),
            "ethical_considerations": ethical,
        },
        "mlops": {
            "task": task,
            "label": settings.get("label", ""),
            "gates": _gates(manifest, settings, card_fairness),
            "fairness": card_fairness,
            "explanation": {"method": expl.get("method") or (explanation or {}).get("method", ""),
                            "top_features": top,
                            "methods": (explanation or {}).get("methods") or expl.get("methods") or []},
            "compression": {"tflite_variant": manifest.get("tflite_variant")} if "tflite_variant" in manifest else None,
            "code_version": str(manifest.get("code_version") or ""),
            "image": image,
            "run_id": str(manifest.get("run_id") or ""),
            "model_fingerprint": str(manifest.get("model_fingerprint") or ""),
            "pipeline": str(manifest.get("pipeline") or ""),
        },
    }


def _tradeoffs(fairness: Mapping[str, Any] | None, manifest: Mapping[str, Any]) -> list[str]:
    out = []
    result = (fairness or {}).get("mitigation_result") or {}
    if result:
        out.append(f"reweighing: {result.get('summary', '')}".strip())
    if manifest.get("tflite_variant"):
        out.append(f"a TFLite variant ({manifest['tflite_variant']}) ships beside the SavedModel, within the "
                   "configured accuracy/error budget")
    return [t for t in out if t]


def _gates(manifest: Mapping[str, Any], settings: Mapping[str, Any], fairness: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Every gate the version passed (a pushed version passed them all, by construction)."""
    gates = [{"name": "data gate (TFDV + Great Expectations)", "passed": True},
             {"name": "evaluation thresholds", "passed": bool(manifest.get("blessed", True)),
              "detail": "; ".join(f"{m} {b}" for m, b in _thresholds(settings).items())}]
    change = settings.get("change_threshold")
    if change:
        gates.append({"name": "change threshold against the serving model", "passed": True,
                      "detail": f"{change.get('metric')} within {change.get('absolute')}"})
    if fairness is not None:
        gates.append({"name": "fairness gate", "passed": bool(fairness.get("passed")),
                      "detail": "; ".join(fairness.get("reasons") or []) or "every enforced gap within its bound"})
    return gates


def placeholders(card: Mapping[str, Any]) -> list[str]:
    """The card's fields still holding ``mlops init``'s TODO placeholders, or left empty."""
    missing = []
    owner = (card.get("model_details", {}).get("owners") or [{}])[0]
    for key in ("name", "contact"):
        if not owner.get(key) or str(owner[key]).startswith(PLACEHOLDER_PREFIX):
            missing.append(f"model_card.{'owner' if key == 'name' else key}")
    considerations = card.get("considerations", {})
    for field_, key in (("use_cases", "intended_use"), ("out_of_scope_uses", "out_of_scope_use")):
        texts = [e["description"] for e in considerations.get(field_) or []]
        if not texts or any(t.startswith(PLACEHOLDER_PREFIX) for t in texts):
            missing.append(f"model_card.{key}")
    return missing


def render_html(card: Mapping[str, Any]) -> str:
    """The card as one self-contained page (the shared report base)."""
    details = card["model_details"]
    todo = placeholders(card)
    return report_html.render(
        "model_card.html.j2",
        kind="model card",
        title=f"Model card: {details['name']}",
        subject=f"version {details['version']['name']}",
        verdict="pushed: every gate passed" if all(g["passed"] for g in card["mlops"]["gates"]) else "pushed",
        verdict_class="ok",
        card=card,
        todo=todo,
    )


def files(card: Mapping[str, Any]) -> dict[str, str]:
    """``{relative path: text}`` of the card folder inside a pushed version."""
    import json

    return {
        f"{CARD_DIR}/{CARD_JSON}": json.dumps(card, indent=2, sort_keys=True, default=str),
        f"{CARD_DIR}/{CARD_HTML}": render_html(card),
    }
