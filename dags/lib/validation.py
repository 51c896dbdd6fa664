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

import lib  # noqa: F401  (makes `components` importable)
from lib.settings import PipelineSettings

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


def validate_data(settings: PipelineSettings, data_uri: str, docs_dir: str | Path | None) -> ValidationSummary:
    """Reads ``data_uri`` and runs the shared suite on it. Never raises for bad data.

    Raises:
        FileNotFoundError: The config names no suite, or the suite file is missing.
        components.common.storage.StorageError: The data cannot be read at all.
    """
    from components.common.errors import DataValidationError

    logging.getLogger("great_expectations").setLevel(logging.WARNING)  # its INFO lines flood task logs
    from components.common.examples_io import numeric_like
    from components.ge_validation.validate import validate_dataframe
    from components.ingest import logic as ingest

    if not settings.suite_path:
        raise FileNotFoundError(f"{settings.config_path}: no `validation.expectation_suite` configured")
    if not Path(settings.suite_path).is_file():
        raise FileNotFoundError(f"expectation suite {settings.suite_path} not found")
    feature_types = {f.name: f.type for f in settings.features}
    try:
        raw = ingest.read_table(data_uri, settings.data_format)
        tidy, dropped = ingest.tidy(
            raw,
            feature_types,
            settings.label or "",
            settings.drop_incomplete_rows,
            settings.max_dropped_fraction,
            dataset=settings.name,
        )
    except DataValidationError as exc:
        log.warning("data cannot be tidied: %s", exc)
        return ValidationSummary(
            success=False,
            data_uri=data_uri,
            failures=[f.to_dict() for f in exc.failures],
            suite=settings.suite_path,
        )
    numeric = [name for name, t in feature_types.items() if t in ingest.NUMERIC_TYPES]
    frame = numeric_like(tidy, numeric)
    report = validate_dataframe(
        frame,
        settings.suite_path,
        str(docs_dir) if docs_dir else None,
        dataset_name=settings.name,
        max_examples=settings.max_example_values,
    )
    log.info("validated %d rows (%d dropped) of %s: %s", len(frame), dropped, data_uri, "ok" if report.success else "FAILED")
    return ValidationSummary(
        success=report.success,
        data_uri=data_uri,
        rows=len(frame),
        dropped_rows=int(dropped),
        failures=[f.to_dict() for f in report.failures],
        data_docs=report.data_docs,
        suite=settings.suite_path,
    )
