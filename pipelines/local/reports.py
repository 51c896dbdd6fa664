"""Harvests a run's reports: copies them from the run's own output artifacts into ``reports/``.

Components write their reports into their output artifacts; a cached component wrote them in an
earlier run. Copying them from the artifacts MLMD lists for this run (executed and cached alike)
makes ``<output-dir>/reports`` this run's, whatever an earlier run left there.
"""

from __future__ import annotations

import os

from components.common import report_names as rn

# The reports components leave in their output artifacts: (component, output key, path inside
# the artifact ('' for all of it), path under <output-dir>/reports/).
REPORT_ARTIFACTS: tuple[tuple[str, str, str, str], ...] = (
    ("GreatExpectationsValidation", "result", rn.DATA_DOCS, rn.DATA_DOCS),
    ("DataGate", "gate", rn.GATE_JSON, rn.GATE_JSON),
    ("DriftCheck", "drift", "", rn.DRIFT),
    ("EvaluationReport", "report", "", rn.EVALUATION),
    ("ModelExplanation", "explanation", "", rn.EXPLAIN),
    ("FairnessGate", "result", "", rn.FAIRNESS),
    ("ModelCompression", "compressed", rn.INDEX_HTML, f"{rn.COMPRESS}/{rn.INDEX_HTML}"),
    ("ModelCompression", "compressed", rn.REPORT_JSON, f"{rn.COMPRESS}/{rn.REPORT_JSON}"),
)


def copy_reports(artifacts: list[tuple[str, str, str]], report_dir: str) -> list[str]:
    """Copies the reports held by this run's artifacts under ``report_dir``.

    Args:
        artifacts: ``(component id, output key, uri)`` of the run's output artifacts
            (``pipelines.local.mlmd.run_artifacts``).
        report_dir: ``<output-dir>/reports``.

    Returns:
        What it wrote, as paths under ``report_dir``.
    """
    import tensorflow as tf

    written = []
    for node, key, uri in artifacts:
        for owner, out_key, inside, target in REPORT_ARTIFACTS:
            if (owner, out_key) != (node, key):
                continue
            src = f"{uri.rstrip('/')}/{inside}" if inside else uri
            dst = os.path.join(report_dir, target)
            if not tf.io.gfile.exists(src):
                continue
            if tf.io.gfile.isdir(src):
                for folder, _, files in tf.io.gfile.walk(src):
                    rel = folder[len(src):].strip("/")
                    os.makedirs(os.path.join(dst, rel), exist_ok=True)
                    for name in files:
                        tf.io.gfile.copy(os.path.join(folder, name), os.path.join(dst, rel, name), overwrite=True)
            else:
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                tf.io.gfile.copy(src, dst, overwrite=True)
            written.append(target)
    return written
