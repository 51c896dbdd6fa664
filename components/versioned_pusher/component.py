"""TFX adapter: push a blessed model as the next version; never push an unblessed one."""

import json
import os

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, OutputDict, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.common import gfile_io, storage
from components.common import report_names as rn
from components.common.artifacts import CompressedModel, FairnessResult, HtmlReport, compressed_best_dir
from components.common.model_io import serving_dir
from components.model_card import logic as card_logic
from components.versioned_pusher import logic


def _extras(explanation, fairness, compressed) -> tuple[dict, dict]:
    best = compressed_best_dir(compressed) if compressed is not None else None
    return logic.extras_manifest(
        explanation_dir=explanation.uri if explanation is not None else None,
        fairness_dir=fairness.uri if fairness is not None else None,
        tflite_dir=best,
        tflite_variant=compressed.get_string_custom_property("best_variant") if best else None,
        compression_ran=compressed is not None,
    )


def _image() -> str:
    """The image this task runs in (``MLOPS_IMAGE``, else the tag ``make image`` gives the source
    tree, which the image carries at /src): recorded in the model card."""
    from pipelines.tracking.client import image_name

    return image_name(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _card_writer(settings_json: str, examples, explanation, fairness):
    """``manifest -> {path: text}`` of the model card, for ``logic.push`` (the version number is
    known only there). Reads the explain/fairness outputs once, before the push."""
    settings = json.loads(settings_json) if settings_json else {}
    data = ({k: examples.get_int_custom_property(k) for k in ("rows_read", "rows_dropped")}
            if examples is not None else None)
    fair = gfile_io.read_json(gfile_io.join(fairness.uri, rn.RESULT_JSON), default=None) if fairness is not None else None
    expl = None
    if explanation is not None:
        full = gfile_io.read_json(gfile_io.join(explanation.uri, "attributions.json"), default=None) or {}
        expl = {k: full[k] for k in ("method", "ranking", "methods") if k in full}
    image = _image()

    def files(manifest: dict) -> dict[str, str]:
        card = card_logic.build_card(manifest, settings, data=data, fairness=fair, explanation=expl, image=image)
        return card_logic.files(card)

    return files


def _write_report(report_dir: str, data: dict) -> None:
    if report_dir:
        gfile_io.write_json(gfile_io.join(report_dir, rn.PUSHED_JSON), data)


def _track(args: dict, pushed: dict | None) -> None:
    """Kubeflow/Vertex only: the MLflow run and registry sync of this pipeline run (pipelines/tracking).
    Under `mlops run` the runner logs the whole run after the pipeline instead."""
    from pipelines.tracking import client

    if not client.in_pipeline_task():
        return
    examples = args.get("examples")
    reports = {name: args[key].uri for name, key in ((rn.EVALUATION, "evaluation_report"), (rn.EXPLAIN, "explanation"),
                                                     (rn.FAIRNESS, "fairness"), (rn.COMPRESS, "compressed"))
               if args.get(key) is not None}
    client.record_push(
        pipeline_name=args["pipeline_name"], model_name=args["model_name"], destination=args["destination"],
        blessed=bool(args["model_blessing"].get_int_custom_property("blessed")), pushed=pushed, report_uris=reports,
        params={
            "run.data_uri": examples.get_string_custom_property("data_uri") if examples is not None else "",
            "run.data_fingerprint": examples.get_string_custom_property("fingerprint") if examples is not None else "",
            "run.code_version": args["code_version"],
            "push.destination": args["destination"], "push.model_name": args["model_name"],
        },
        mlmd_ids={"model": args["model"].id, "blessing": args["model_blessing"].id,
                  "examples": examples.id if examples is not None else None},
        repo_root=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )


@component
def VersionedPusher(
    model: InputArtifact[standard_artifacts.Model],
    model_blessing: InputArtifact[standard_artifacts.ModelBlessing],
    pushed_model: OutputArtifact[standard_artifacts.PushedModel],
    destination: Parameter[str],
    model_name: Parameter[str],
    evaluation_report: InputArtifact[HtmlReport] = None,
    examples: InputArtifact[standard_artifacts.Examples] = None,
    explanation: InputArtifact[HtmlReport] = None,
    fairness: InputArtifact[FairnessResult] = None,
    compressed: InputArtifact[CompressedModel] = None,
    pipeline_name: Parameter[str] = "",
    code_version: Parameter[str] = "",
    training_key: Parameter[str] = "",
    report_dir: Parameter[str] = "",
    model_card_json: Parameter[str] = "",
) -> OutputDict(pushed=int, version=int, push_uri=str):
    """Copies the SavedModel to ``<destination>/<model_name>/<version>/`` with ``manifest.json``.

    Unblessed: records ``pushed=0`` and touches nothing at the destination. With the optional
    inputs, the explanation and fairness reports ship in ``explanation/`` and ``fairness/`` and
    are summarized in the manifest, and the best TFLite variant ships in ``tflite/``. Every new
    version gets ``model_card/`` (``model_card.json``, ``index.html``) from the manifest, the
    optional inputs and ``model_card_json`` (owner, intended use, task, features, thresholds).
    """
    if not model_blessing.get_int_custom_property("blessed"):
        pushed_model.set_int_custom_property("pushed", 0)
        _write_report(report_dir, {"pushed": False})
        _track(locals(), None)
        return {"pushed": 0, "version": 0, "push_uri": ""}
    metrics = {}
    if evaluation_report is not None:
        data = gfile_io.read_json(gfile_io.join(evaluation_report.uri, rn.METRICS_JSON), default=None)
        if data is not None:
            metrics = {"overall": data.get("overall", {}), "slices": data.get("slices", {}), "classes": data.get("classes", [])}
    manifest = {
        "pipeline": pipeline_name,
        "blessed": True,
        "metrics": metrics,
        "data_fingerprint": examples.get_string_custom_property("fingerprint") if examples is not None else "",
        "data_uri": examples.get_string_custom_property("data_uri") if examples is not None else "",
        # The materialized training data: the pipeline's DriftCheck compares new data with it.
        "examples_uri": examples.uri if examples is not None else "",
        "code_version": code_version,
        # Data, config and module code of the run that trained it: a rerun with the same key
        # trains this same model, so its baseline is the version before (serving_baseline).
        "training_key": training_key,
        "run_id": os.environ.get("MLOPS_RUN_ID", ""),
        "mlmd": {
            "model_artifact_id": model.id,
            "blessing_artifact_id": model_blessing.id,
            "examples_artifact_id": examples.id if examples is not None else None,
        },
    }
    extra_fields, extra_dirs = _extras(explanation, fairness, compressed)
    manifest.update(extra_fields)
    # push() copies gs:// artifact folders to a temp dir, then ships them to the destination.
    result = logic.push(serving_dir(model.uri), destination, model_name, manifest, extra_dirs=extra_dirs,
                        version_files=_card_writer(model_card_json, examples, explanation, fairness))
    pushed_model.set_int_custom_property("pushed", 1)
    pushed_model.set_string_custom_property("pushed_destination", result.uri)
    pushed_model.set_int_custom_property("pushed_version", result.version)
    pushed_model.set_int_custom_property("created", int(result.created))
    card = storage.join(result.uri, card_logic.CARD_DIR, card_logic.CARD_HTML)
    _write_report(report_dir, {"pushed": True, "version": result.version, "path": result.uri, "created": result.created,
                               **({"model_card": card} if card_logic.CARD_DIR in result.manifest.get("files", []) else {})})
    _track(locals(), {"version": result.version, "path": result.uri, "created": result.created})
    return {"pushed": 1, "version": result.version, "push_uri": result.uri}
