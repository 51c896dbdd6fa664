"""Run a Great Expectations 1.x suite on a DataFrame and turn the result into plain failures.

Shared by the pipeline's validation component (in the image) and the Airflow DAGs (host venv),
so the same suite JSON gives the same verdict in both places. GE and pandas only: no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from components.common.errors import CheckFailure

# Expectations whose failure is a consequence of a failed type check on the same column.
_TYPE_CHECKS = ("expect_column_values_to_be_in_type_list", "expect_column_values_to_be_of_type")


@dataclass
class ValidationReport:
    """The verdict of one suite run.

    Attributes:
        success: True when every expectation passed.
        failures: One entry per failed expectation (column, expectation, examples).
        evaluated: Number of expectations evaluated.
        data_docs: Path of the Data Docs index.html, when written.
    """

    success: bool
    failures: list[CheckFailure] = field(default_factory=list)
    evaluated: int = 0
    data_docs: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "evaluated": self.evaluated,
            "failures": [f.to_dict() for f in self.failures],
            "data_docs": self.data_docs,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ValidationReport":
        return cls(
            success=bool(data["success"]),
            failures=[CheckFailure(**f) for f in data.get("failures", [])],
            evaluated=int(data.get("evaluated", 0)),
            data_docs=data.get("data_docs"),
        )


def load_suite_dict(suite: str | os.PathLike | dict) -> dict[str, Any]:
    """Reads a suite JSON file (or passes a dict through)."""
    if isinstance(suite, dict):
        return suite
    return json.loads(Path(suite).read_text())


def _suite_object(suite_dict: dict[str, Any]):
    import great_expectations as gx

    data = {k: v for k, v in suite_dict.items() if k in ("name", "expectations", "meta", "notes")}
    data["expectations"] = [{k: v for k, v in e.items() if k != "id"} for e in data.get("expectations", [])]
    return gx.ExpectationSuite(**data)


def _failure_from_result(res: Any, max_examples: int) -> CheckFailure:
    cfg = res.expectation_config
    kwargs = dict(cfg.kwargs)
    column = kwargs.get("column")
    result = res.result or {}
    examples = list(result.get("partial_unexpected_list") or [])
    seen, uniq = set(), []
    for e in examples:
        key = repr(e)
        if key not in seen:
            seen.add(key)
            uniq.append(e if isinstance(e, (int, float, str, bool)) or e is None else str(e))
    exc = res.exception_info or {}
    if exc.get("raised_exception"):
        detail = f"could not be evaluated: {str(exc.get('exception_message', '')).splitlines()[0][:200]}"
    elif "unexpected_count" in result:
        detail = f"{result['unexpected_count']} unexpected value(s) ({result.get('unexpected_percent', 0):.1f}%)"
        for key in ("value_set", "min_value", "max_value", "type_list"):
            if kwargs.get(key) is not None:
                detail += f"; expected {key}={kwargs[key]}"
    elif "observed_value" in result:
        detail = f"observed {result['observed_value']!r}"
    else:
        detail = ""
    return CheckFailure(column, cfg.type, "great_expectations", detail, uniq[:max_examples])


def validate_dataframe(
    df: pd.DataFrame,
    suite: str | os.PathLike | dict,
    data_docs_dir: str | os.PathLike | None = None,
    dataset_name: str = "data",
    max_examples: int = 5,
) -> ValidationReport:
    """Validates a DataFrame against a GE suite.

    Args:
        df: The data.
        suite: Suite JSON path or dict (as written by ``suite.suite_from_schema``).
        data_docs_dir: Where to write GE Data Docs (HTML); None skips them.
        dataset_name: Name shown in Data Docs and messages.
        max_examples: Offending values kept per failure.

    Returns:
        The report; ``report.failures`` name the column, expectation and example values.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    suite_dict = load_suite_dict(suite)
    # A missing column makes GE's column expectations error out with unhelpful messages; report
    # it once, as the failed existence check, and evaluate the rest of the suite.
    missing = sorted(
        {e["kwargs"]["column"] for e in suite_dict.get("expectations", [])
         if e["type"] == "expect_column_to_exist" and e["kwargs"]["column"] not in df.columns}
    )
    missing_failures = [
        CheckFailure(col, "expect_column_to_exist", "great_expectations", f"column is missing; found columns: {', '.join(map(str, df.columns))}")
        for col in missing
    ]
    suite_dict = {
        **suite_dict,
        "expectations": [e for e in suite_dict.get("expectations", []) if e.get("kwargs", {}).get("column") not in missing],
    }
    suite_obj = _suite_object(suite_dict)
    workdir = Path(tempfile.mkdtemp(prefix="gx-"))
    try:
        context = gx.get_context(mode="file", project_root_dir=str(workdir))
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_pandas(name="pandas").add_dataframe_asset(name=dataset_name)
        batch_def = asset.add_batch_definition_whole_dataframe("all_rows")
        suite_obj = context.suites.add(suite_obj)
        vdef = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{dataset_name}-validation", data=batch_def, suite=suite_obj)
        )
        actions = [gx.checkpoint.UpdateDataDocsAction(name="data_docs")] if data_docs_dir else []
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{dataset_name}-checkpoint",
                validation_definitions=[vdef],
                actions=actions,
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20},
            )
        )
        run = checkpoint.run(batch_parameters={"dataframe": df})
        results = [r for vr in run.run_results.values() for r in vr.results]
        failed = [r for r in results if not r.success]
        type_failed = {r.expectation_config.kwargs.get("column") for r in failed if r.expectation_config.type in _TYPE_CHECKS}
        failures = []
        for r in failed:
            failure = _failure_from_result(r, max_examples)
            if failure.column in type_failed and failure.check not in _TYPE_CHECKS:
                # A range check on a column holding text: the text is already reported by the
                # type check, so keep this failure only for numeric offenders of its own.
                failure = dataclasses.replace(failure, examples=[e for e in failure.examples if not isinstance(e, str)])
                if (r.exception_info or {}).get("raised_exception") or not failure.examples:
                    continue
            failures.append(failure)
        failures = missing_failures + failures
        report = ValidationReport(success=not failures, failures=failures, evaluated=len(results) + len(missing))
        if data_docs_dir:
            site = workdir / "gx" / "uncommitted" / "data_docs" / "local_site"
            out = Path(data_docs_dir)
            shutil.rmtree(out, ignore_errors=True)
            shutil.copytree(site, out)
            report.data_docs = str(out / "index.html")
        return report
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def write_report(report: ValidationReport, path: str | os.PathLike) -> None:
    """Writes the report as JSON."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report.to_dict(), indent=2, default=str))
