"""Pure gate logic: merge TFDV anomalies and GE failures into one verdict.

TFX's ExampleValidator only records anomalies; it never stops a run. The gate reads what it
recorded plus the Great Expectations report and raises ``DataValidationError`` when anything
critical was found, so bad data never reaches Transform or training.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, Iterable

from components.common import gfile_io
from components.common.errors import CheckFailure, DataValidationError

_QUOTED = re.compile(r"(?:values? missing from the schema|unexpected values?)[^:]*:\s*(.+?)(?:\.\s|$)", re.I)


def _examples_from_description(text: str) -> list[str]:
    """Pulls example values out of a TFDV description, e.g. 'Atlantis (~5%), Mars (~1%)'."""
    m = _QUOTED.search(text)
    if not m:
        return []
    parts = [p.strip() for p in m.group(1).split(",")]
    return [re.sub(r"\s*\(~?[\d.<>%]+\)$", "", p) for p in parts if p][:5]


def failures_from_anomalies(anomalies: Any, split: str) -> list[CheckFailure]:
    """Critical (ERROR severity) anomalies of one split from a TFDV ``Anomalies`` proto."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    out = []
    for column, info in sorted(anomalies.anomaly_info.items()):
        if info.severity != anomalies_pb2.AnomalyInfo.ERROR:
            continue
        kinds = [anomalies_pb2.AnomalyInfo.Type.Name(r.type) for r in info.reason] or ["ANOMALY"]
        desc = info.description or "; ".join(r.description for r in info.reason)
        out.append(
            CheckFailure(column, "/".join(kinds), "tfdv", f"[{split}] {desc}", _examples_from_description(desc))
        )
    dinfo = anomalies.dataset_anomaly_info
    if dinfo.severity == anomalies_pb2.AnomalyInfo.ERROR:
        kinds = [anomalies_pb2.AnomalyInfo.Type.Name(r.type) for r in dinfo.reason] or ["DATASET_ANOMALY"]
        out.append(CheckFailure(None, "/".join(kinds), "tfdv", f"[{split}] {dinfo.description}"))
    return out


def load_anomalies_dir(uri: str) -> dict[str, Any]:
    """Reads ``Split-*/SchemaDiff.pb`` files of an ExampleAnomalies artifact (local or gs://),
    by split name."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    out = {}
    for path in gfile_io.glob(gfile_io.join(uri, "Split-*", "SchemaDiff.pb")):
        proto = anomalies_pb2.Anomalies()
        proto.ParseFromString(gfile_io.read_bytes(path))
        out[posixpath.basename(posixpath.dirname(path))[len("Split-"):]] = proto
    return out


def load_ge_failures(ge_result_uri: str) -> list[CheckFailure]:
    """The failures recorded in a GreatExpectationsResult artifact's ``result.json``."""
    ge = gfile_io.read_json(gfile_io.join(ge_result_uri, "result.json"))
    return [CheckFailure(**f) for rep in ge["splits"].values() for f in rep["failures"]]


def decide(tfdv_failures: Iterable[CheckFailure], ge_failures: Iterable[CheckFailure]) -> list[CheckFailure]:
    """All critical failures, GE first (they carry example values), de-duplicated by column+check."""
    seen, merged = set(), []
    for f in [*ge_failures, *tfdv_failures]:
        key = (f.column, f.check, f.source, f.detail)
        if key not in seen:
            seen.add(key)
            merged.append(f)
    return merged


def enforce(failures: list[CheckFailure], dataset: str, report_paths: Iterable[str] = ()) -> dict[str, Any]:
    """Writes the gate report (to every path given) and raises when there is any critical failure.

    Returns:
        The report dict (``{"passed": True, ...}``) when the data may proceed.

    Raises:
        DataValidationError: One paragraph naming columns, checks and example values.
    """
    report = {"passed": not failures, "dataset": dataset, "failures": [f.to_dict() for f in failures]}
    if failures:
        report["reason"] = DataValidationError(failures, dataset).paragraph()
    for path in report_paths:
        gfile_io.write_json(path, report, default=str)  # local report dir or gs:// artifact
    if failures:
        raise DataValidationError(failures, dataset)
    return report
