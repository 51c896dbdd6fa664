"""Pre-submit data validation with the pipeline's own code and Great Expectations suite.

The steps mirror the pipeline exactly, by calling the same pure modules it calls:

1. ``components.ingest.logic.read_table`` + ``tidy`` (same parsing, same dropped-row rule);
2. ``components.common.examples_io.numeric_like`` (text that parses as a number becomes a number);
3. ``components.ge_validation.validate.validate_dataframe`` with the committed suite at
   ``validation.expectation_suite`` in the config.

So a file that this check passes is not stopped by the pipeline's data gate for the same reason,
and vice versa. Heavy imports (pandas, Great Expectations) happen inside the functions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlops_airflow  # noqa: F401  (makes `components` and `pipelines` importable)
from mlops_airflow.settings import resolve_repo_path
from pipelines.config import PipelineConfig

log = logging.getLogger(__name__)


@dataclass
class ValidationSummary:
    """JSON-friendly result (goes to XCom).

    Attributes:
        success: Every check passed.
        data_uri: What was validated.
        rows: Rows after tidying; ``dropped_rows`` were incomplete and dropped (as the pipeline does).
        failures: ``CheckFailure.to_dict()`` entries (column, check, source, detail, examples).
        data_docs: Path of the GE Data Docs index.html, if written.
        suite: The suite file used.
    """

    success: bool
    data_uri: str
    rows: int = 0
    dropped_rows: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    data_docs: str | None = None
    suite: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def validate_data(cfg: PipelineConfig, data_uri: str, docs_dir: str | Path | None) -> ValidationSummary:
    """Reads ``data_uri`` and runs the shared suite on it. Never raises for bad data.

    ``cfg.validation.expectation_suite`` is taken from the repository root when relative.

    Raises:
        FileNotFoundError: The config names no suite, or the suite file is missing.
        components.common.storage.StorageError: The data cannot be read at all.
    """
    from components.common.errors import DataValidationError

    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # its INFO lines flood task logs
    from components.common.examples_io import numeric_like
    from components.ge_validation.validate import validate_dataframe
    from components.ingest import logic as ingest

    if not cfg.validation.expectation_suite:
        raise FileNotFoundError(f"{cfg.source_path}: no `validation.expectation_suite` configured")
    suite_path = str(resolve_repo_path(cfg.validation.expectation_suite))
    if not Path(suite_path).is_file():
        raise FileNotFoundError(f"expectation suite {suite_path} not found")
    feature_types = {f.name: f.type for f in cfg.features}
    try:
        raw = ingest.apply_rename(ingest.read_table(data_uri, cfg.data.format), cfg.data.rename)
        tidy, dropped = ingest.tidy(
            raw,
            feature_types,
            cfg.label,
            cfg.data.drop_incomplete_rows,
            cfg.data.max_dropped_fraction,
            dataset=cfg.name,
        )
    except DataValidationError as exc:
        log.warning("data cannot be tidied: %s", exc)
        return ValidationSummary(
            success=False,
            data_uri=data_uri,
            failures=[f.to_dict() for f in exc.failures],
            suite=suite_path,
        )
    numeric = [name for name, t in feature_types.items() if t in ingest.NUMERIC_TYPES]
    frame = numeric_like(tidy, numeric)
    report = validate_dataframe(
        frame,
        suite_path,
        str(docs_dir) if docs_dir else None,
        dataset_name=cfg.name,
        max_examples=cfg.validation.max_example_values,
    )
    log.info("validated %d rows (%d dropped) of %s: %s", len(frame), dropped, data_uri, "ok" if report.success else "FAILED")
    return ValidationSummary(
        success=report.success,
        data_uri=data_uri,
        rows=len(frame),
        dropped_rows=int(dropped),
        failures=[f.to_dict() for f in report.failures],
        data_docs=report.data_docs,
        suite=suite_path,
    )
